/**
 * A search worker thread (started by SearchPool, never imported by the main thread): its own
 * read-only connection to the index file, one search at a time, the outcome posted back. The
 * index is in WAL mode, so this reader sees every committed write of the service's connection
 * and never blocks it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../sqlite.js';
import { MessageScan } from './message-scan.js';
import type { SearchJob, SearchReply, SearchWorkerData } from './search-pool.js';
import { searchMessages } from './search.js';

if (!parentPort) throw new Error('search-worker.js runs only as a worker thread');
const port = parentPort;
// SearchPool is the only one that starts this module, always with a SearchWorkerData.
const { file } = workerData as SearchWorkerData;
const scan = new MessageScan(openSqlite(file, { readonly: true, fileMustExist: true }));

port.on('message', (job: SearchJob) => {
  let reply: SearchReply;
  try {
    reply = { id: job.id, outcome: searchMessages(scan, job.options) };
  } catch (e) {
    reply = { id: job.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});

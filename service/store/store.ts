/**
 * The durable store: one SQLite file, `<stateDir>/codex-sm.sqlite`, owned by this module. Queues
 * live here now; tokens and the webhook outbox will join them. Unlike the session index
 * (service/sessions/db.ts, rebuilt at will) this file holds work nobody can recreate, so:
 * `synchronous = FULL` (a committed transition survives a power cut, not only a crash), forward
 * migrations only, a newer schema is refused rather than guessed at, and a damaged file is
 * reported, never replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { CodexSmError } from '../../src/errors.js';
import { isSqliteError, openSqlite } from '../sqlite.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export const STORE_FILE = 'codex-sm.sqlite';

/** How long a statement waits for another connection's lock (e.g. `sqlite3 .backup`) before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

export interface StoreOptions {
  /** For tests of the migration machinery; the service always uses MIGRATIONS. */
  migrations?: readonly Migration[];
}

export class Store {
  readonly file: string;
  readonly db: Database.Database;
  /** The schema version after opening (the last migration applied). */
  readonly schemaVersion: number;
  readonly journalMode: string;

  private constructor(file: string, db: Database.Database, schemaVersion: number, mode: string) {
    this.file = file;
    this.db = db;
    this.schemaVersion = schemaVersion;
    this.journalMode = mode;
  }

  static open(stateDir: string, opts: StoreOptions = {}): Store {
    const migrations = opts.migrations ?? MIGRATIONS;
    checkMigrationList(migrations);
    const file = path.join(stateDir, STORE_FILE);
    let db: Database.Database | undefined;
    try {
      fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      // Create it 0600 ourselves: SQLite would use the umask, and gives -wal/-shm the main file's mode.
      fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600));
      db = openSqlite(file);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // The first read of the file: a damaged header fails here.
      const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const version = migrate(db, file, migrations);
      return new Store(file, db, version, mode);
    } catch (err) {
      db?.close();
      throw storeError(err, file);
    }
  }

  /**
   * Run fn in one write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so a
   * second connection waits on busy_timeout instead of failing at its first write). A throw
   * rolls everything back. Nested calls become savepoints.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** `PRAGMA integrity_check`: 'ok' or the problems SQLite found. */
  integrityCheck(): string[] {
    return this.db.prepare<[], string>('PRAGMA integrity_check').pluck().all();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}

/** Apply what is missing, one transaction each; returns the version reached. */
function migrate(db: Database.Database, file: string, migrations: readonly Migration[]): number {
  const latest = migrations.length;
  const current = userVersion(db);
  if (current > latest)
    throw new CodexSmError(
      'store_too_new',
      `the store ${file} has schema version ${current}; this codex-sm knows up to ${latest}`,
      {
        hint: 'it was written by a newer codex-sm: run that version (or newer); the store is not downgraded',
      },
    );
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      // Re-read under the write lock: another process may have migrated meanwhile.
      if (userVersion(db) >= m.version) return;
      m.up(db);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length)
        throw new Error(
          `migration ${m.version} (${m.name}) left ${broken.length} dangling references`,
        );
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return userVersion(db);
}

function userVersion(db: Database.Database): number {
  return Number(db.pragma('user_version', { simple: true }));
}

const DAMAGED = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

function storeError(err: unknown, file: string): CodexSmError {
  if (err instanceof CodexSmError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isSqliteError(err) && DAMAGED.has(err.code))
    return new CodexSmError('store_unreadable', `the store ${file} is damaged: ${message}`, {
      cause: err,
      hint: `it is kept (it holds queued work): stop codex-sm, move it aside (mv ${file} ${file}.damaged) or restore a backup, then start again; sqlite3's .recover may save its rows`,
    });
  return new CodexSmError('store_unreadable', `cannot open the store ${file}: ${message}`, {
    cause: err,
    hint: 'check that the state directory and the file belong to this user and are writable',
  });
}

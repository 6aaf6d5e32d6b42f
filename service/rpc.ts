/**
 * The one JSON-RPC client for the app-server protocol, over a `ws` WebSocket (tcp or unix).
 * - ids are correlated; every request has a timeout, because the real server never answers
 *   malformed input;
 * - notifications are emitted as 'notification' (method, params, message);
 * - server-initiated requests (approvals) are emitted as 'request'; whoever handles them answers
 *   with respond()/respondError();
 * - when the connection drops, every pending request is rejected at once.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type {
  IncomingMessage,
  InitializeParams,
  InitializeResponse,
  RequestId,
  RpcErrorObject,
} from './protocol.js';

export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(err: RpcErrorObject, method: string) {
    super(`${method}: ${err.message}`);
    this.name = 'RpcError';
    this.code = err.code;
    this.data = err.data;
  }
}

export class RpcTimeoutError extends Error {
  constructor(method: string, ms: number) {
    super(`${method}: no answer within ${ms} ms`);
    this.name = 'RpcTimeoutError';
  }
}

export class RpcClosedError extends Error {
  constructor(method: string, reason: string) {
    super(`${method}: connection closed (${reason})`);
    this.name = 'RpcClosedError';
  }
}

export interface ServerRequest {
  id: RequestId;
  method: string;
  params: unknown;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RpcClientOptions {
  requestTimeoutMs?: number;
  maxPayload?: number;
}

/** `ws://host:port` or `unix:///path.sock` → what `ws` connects to (`ws+unix:///path.sock:/`). */
export function wsAddress(endpoint: string): string {
  return endpoint.startsWith('unix://')
    ? `ws+unix://${endpoint.slice('unix://'.length)}:/`
    : endpoint;
}

export interface RpcClientEvents {
  notification: [method: string, params: unknown, message: IncomingMessage];
  request: [request: ServerRequest];
  close: [code: number, reason: string];
}

export class RpcClient extends EventEmitter<RpcClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private closedReason: string | undefined;
  readonly requestTimeoutMs: number;

  constructor(
    readonly ws: WebSocket,
    opts: RpcClientOptions = {},
  ) {
    super();
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onText(data.toString());
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString() || `code ${code}`));
    ws.on('error', () => {
      /* 'close' follows and fails the pending requests */
    });
  }

  /** Open a connection and wait until it is open (or fails). */
  static connect(
    endpoint: string,
    opts: RpcClientOptions & { connectTimeoutMs?: number } = {},
  ): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsAddress(endpoint), {
        maxPayload: opts.maxPayload ?? 256 * 1024 * 1024,
        handshakeTimeout: opts.connectTimeoutMs ?? 5000,
        perMessageDeflate: false,
      });
      const fail = (e: Error) => reject(e);
      ws.once('error', fail);
      ws.once('open', () => {
        ws.off('error', fail);
        resolve(new RpcClient(ws, opts));
      });
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN && this.closedReason === undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  request<T = unknown>(
    method: string,
    params?: unknown,
    opts: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (!this.isOpen)
      return Promise.reject(new RpcClosedError(method, this.closedReason ?? 'not open'));
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.send(params === undefined ? { id, method } : { id, method, params });
    });
  }

  notify(method: string, params?: unknown): void {
    this.send(params === undefined ? { method } : { method, params });
  }

  respond(id: RequestId, result: unknown): void {
    this.send({ id, result });
  }

  respondError(id: RequestId, error: RpcErrorObject): void {
    this.send({ id, error });
  }

  /** The handshake every connection must do: initialize, then the initialized notification. */
  async initialize(params: InitializeParams, timeoutMs?: number): Promise<InitializeResponse> {
    const res = await this.request<InitializeResponse>('initialize', params, { timeoutMs });
    this.notify('initialized');
    return res;
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(code, reason);
    this.onClose(code, reason || 'closed by client');
  }

  /** Close without a handshake (the peer may be gone or hung). */
  terminate(): void {
    this.ws.terminate();
    this.onClose(1006, 'terminated');
  }

  private send(msg: object): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(msg));
  }

  private onText(text: string): void {
    let msg: IncomingMessage;
    try {
      msg = JSON.parse(text) as IncomingMessage;
    } catch {
      return; // not ours to fix; the server does not send malformed JSON
    }
    if (msg === null || typeof msg !== 'object') return;
    if (msg.method !== undefined && msg.id !== undefined) {
      this.emit('request', { id: msg.id, method: msg.method, params: msg.params });
    } else if (msg.method !== undefined) {
      this.emit('notification', msg.method, msg.params, msg);
    } else if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new RpcError(msg.error, p.method));
      else p.resolve(msg.result);
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RpcClosedError(p.method, reason));
      this.pending.delete(id);
    }
    this.emit('close', code, reason);
  }
}

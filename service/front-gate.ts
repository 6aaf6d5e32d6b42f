/**
 * The listener is bound before the front end (Koa, auth, the relay, the features) is loaded:
 * main.ts loads it after READY=1, so loading it does not delay READY=1 (issue 16). Requests and
 * upgrades that arrive in between wait here, in order, and are handed to the front end once it
 * is there — a client is never refused for being early, only answered a few tens of ms later.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export interface FrontHandlers {
  request: http.RequestListener;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  connect(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

export class FrontGate {
  private handlers: FrontHandlers | undefined;
  private waiting: ((h: FrontHandlers) => void)[] = [];

  /** The server's request handler (createServer wraps it in the limits' guards). */
  readonly request: http.RequestListener = (req, res) => this.pass((h) => h.request(req, res));

  /** Route the server's upgrade and CONNECT events through the gate. */
  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {}); // a client gone while waiting is no error of ours
      this.pass((h) => h.upgrade(req, socket, head));
    });
    server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.pass((h) => h.connect(req, socket, head)),
    );
  }

  get open(): boolean {
    return this.handlers !== undefined;
  }

  /** The front end is loaded: serve what waited, then everything directly. */
  openWith(handlers: FrontHandlers): void {
    this.handlers = handlers;
    for (const run of this.waiting.splice(0)) run(handlers);
  }

  private pass(run: (h: FrontHandlers) => void): void {
    if (this.handlers) run(this.handlers);
    else this.waiting.push(run);
  }
}

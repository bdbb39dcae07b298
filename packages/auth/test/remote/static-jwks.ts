// A tiny static HTTP server for JWKS tests: serves what the test sets (status, body, headers, a delay),
// counts the requests, and can stop answering (the socket is destroyed) to play an outage.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TesseraError } from '../../src/core/errors.js';

export interface JwksServer {
  readonly url: string;
  /** Requests answered (or dropped) so far. */
  readonly hits: number;
  /** What the next requests get. */
  set(answer: Partial<StaticAnswer>): void;
  close(): Promise<void>;
}

export interface StaticAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Milliseconds before answering. */
  delayMs: number;
  /** Destroy the socket instead of answering (the endpoint is down). */
  down: boolean;
}

export async function serveJwks(body: unknown, headers: Record<string, string> = { 'cache-control': 'max-age=300' }): Promise<JwksServer> {
  let answer: StaticAnswer = { status: 200, body: JSON.stringify(body), headers, delayMs: 0, down: false };
  let hits = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    hits++;
    const now = answer;
    if (now.down) {
      request.socket.destroy();
      return;
    }
    const reply = () => {
      response.writeHead(now.status, { 'content-type': 'application/json', ...now.headers });
      response.end(now.body);
    };
    if (now.delayMs > 0) setTimeout(reply, now.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get hits() {
      return hits;
    },
    set(next) {
      answer = { ...answer, ...next, ...(next.body !== undefined && typeof next.body !== 'string' ? { body: JSON.stringify(next.body) } : {}) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The refusal code a verification ends with, or `'accepted'`. */
export async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (err) {
    if (err instanceof TesseraError) return err.code;
    throw err;
  }
}

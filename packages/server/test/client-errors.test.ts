// What Node would otherwise answer on its own, before any route runs (docs/architecture.md "Errors"): an
// HTTP/1.1 request without exactly one Host line (RFC 9112 §3.2) and CONNECT (RFC 9110 §9.3.6) get the JSON
// `{error, message}` contract over a raw socket, never Node's empty 400 or a dropped connection.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, sqliteBackend, STACK_TRACE, type Answer } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { startServer } from './support/harness.js';

interface RawAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
  /** Whether the server closed the connection after the answer (the test asked for keep-alive). */
  readonly closed: boolean;
}

/** Writes `text` byte for byte on a new socket (nothing added: no Host) and reads one answer. */
function rawExchange(url: string, text: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) {
          done = true;
          reject(new Error(`no HTTP answer before the connection closed: ${JSON.stringify(data.toString('latin1'))}`));
        }
        return;
      }
      const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const length = Number(headers.get('content-length') ?? Number.NaN);
      const body = data.subarray(end + 4);
      if (!closed && !(body.length >= length)) return;
      done = true;
      const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1]);
      // Wait a moment for the close that must follow a refusal; a kept-alive socket stays open.
      const settle = (isClosed: boolean): void => {
        socket.destroy();
        resolve({ status, headers, body: body.toString('utf8'), closed: isClosed });
      };
      if (closed) settle(true);
      else {
        const timer = setTimeout(() => settle(false), 300);
        socket.once('close', () => {
          clearTimeout(timer);
          settle(true);
        });
      }
    };
    socket.setTimeout(5000, () => socket.destroy(new Error('raw exchange timed out')));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err) => {
      if (!done && data.length === 0) {
        done = true;
        reject(err);
      }
    });
    socket.write(text);
  });
}

/** A JSON `{error, message}` answer with the code, no-store, and nothing of the server's insides. */
function expectJsonRefusal(answer: { status: number; body: string; contentType: string | undefined }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.contentType).toMatch(/^application\/json/);
  const body: unknown = JSON.parse(answer.body);
  expect(body).toEqual({ error: code, message: expect.any(String) });
  expect(answer.body).not.toMatch(STACK_TRACE);
}

const fromRaw = (a: RawAnswer): { status: number; body: string; contentType: string | undefined } => ({
  status: a.status,
  body: a.body,
  contentType: a.headers.get('content-type'),
});
const fromKit = (a: Answer): { status: number; body: string; contentType: string | undefined } => ({
  status: a.status,
  body: a.text,
  contentType: a.header('content-type') ?? undefined,
});

describe('requests Node would answer itself get the JSON error contract', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(backend.env);
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('an HTTP/1.1 request without Host: 400 invalid_request JSON', async () => {
    for (const request of [
      'GET /healthz HTTP/1.1\r\n\r\n',
      'GET /auth/me HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n',
      'POST /auth/login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    ]) {
      const answer = await rawExchange(server.url, request);
      expectJsonRefusal(fromRaw(answer), 400, 'invalid_request');
      expect(JSON.parse(answer.body)).toMatchObject({ message: 'An HTTP/1.1 request must send a Host header' });
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('two Host lines: 400 invalid_request JSON (RFC 9112 §3.2)', async () => {
    const answer = await rawRequest(server.url, 'GET /healthz HTTP/1.1', [['Host', 'evil.example']]);
    expectJsonRefusal(fromKit(answer), 400, 'invalid_request');
    expect(answer.json.message).toBe('Send one Host header');
  });

  it('HTTP/1.0 may leave Host out, and one Host line is served as ever', async () => {
    const old = await rawExchange(server.url, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(old.status).toBe(200);
    const answer = await rawRequest(server.url, 'GET /healthz HTTP/1.1', []);
    expect(answer.status).toBe(200);
  });

  it('CONNECT: 400 invalid_request JSON, then the connection closes (no tunnel, no dropped socket)', async () => {
    for (const request of [
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      'CONNECT example.com:443 HTTP/1.1\r\n\r\n',
      // Bytes after the request line are what a client would tunnel: never read as a request.
      'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    ]) {
      const answer = await rawExchange(server.url, request);
      expectJsonRefusal(fromRaw(answer), 400, 'invalid_request');
      expect(JSON.parse(answer.body)).toMatchObject({ message: 'This server is not a proxy: CONNECT is not served' });
      expect(answer.headers.get('connection')).toBe('close');
      expect(answer.closed).toBe(true);
    }
    const kit = await rawRequest(server.url, 'CONNECT example.com:443 HTTP/1.1', []);
    expectJsonRefusal(fromKit(kit), 400, 'invalid_request');
  });

  it('the server lives on after every one of them', async () => {
    const reset = connect({ host: '127.0.0.1', port: server.port });
    reset.on('error', () => undefined);
    // A CONNECT whose client vanishes at once must not become an uncaught socket error.
    reset.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', () => reset.resetAndDestroy());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

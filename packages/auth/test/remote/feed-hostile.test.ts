// The revocation feed against a broken or hostile feed server (a raw node:http server on a real socket): a
// connection that never answers, and a stream that sends one endless event, must neither hang the feed for ever
// nor grow its memory without bound. In both cases the feed drops the connection and recovers on the next one.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenRevokedError } from '../../src/core/errors.js';
import { RevocationFeed } from '../../src/remote/revocation-feed.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A feed server whose n-th request (from 0) is answered by `answer(n, res)`. */
async function feedServer(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const open = new Set<ServerResponse>();
  const server = createServer((_req, res) => {
    open.add(res);
    answer(n++, res);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  closers.push(async () => {
    for (const res of open) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/revocations`, requests: () => n };
}

function snapshot(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write('event: snapshot\nid: 1\ndata: {"revoked":[]}\n\n');
}

function follow(url: string): RevocationFeed {
  const feed = new RevocationFeed({
    url,
    token: 'x'.repeat(32),
    fetch: (input, init) => fetch(input, init),
    clock: { now: () => Date.now() },
    lostAfterMs: 300,
    failClosedAfterMs: 600,
    expiryOnlyWhenFeedFails: false,
    log: () => undefined,
    onEvent: undefined,
  });
  closers.unshift(() => feed.close());
  feed.start();
  return feed;
}

describe('the revocation feed against a broken feed server', () => {
  it('drops a connection that never answers, and recovers on the next one', async () => {
    const server = await feedServer((n, res) => {
      if (n > 0) snapshot(res); // the first request is left hanging: no status, no headers
    });
    const feed = follow(server.url);
    await feed.ready();
    expect([feed.state, server.requests() >= 2]).toEqual(['live', true]);
  }, 20_000);

  it('drops a stream that sends one endless event, rather than holding it all', async () => {
    const line = `data: ${'x'.repeat(1024 * 1024)}\n`;
    const server = await feedServer((n, res) => {
      if (n > 0) return snapshot(res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Twelve lines of 1 MiB, each under the line bound, and never the blank line that ends the event.
      for (let i = 0; i < 12; i++) res.write(line);
      // Then comments, so the stream is never silent: only the bound on an event can end it.
      const beat = setInterval(() => res.write(':\n'), 50);
      res.on('close', () => clearInterval(beat));
    });
    const feed = follow(server.url);
    await feed.ready();
    expect([feed.state, server.requests() >= 2]).toEqual(['live', true]);
  }, 20_000);
});

describe('the revocation feed against a feed that sends absurd lifetimes', () => {
  it("holds an event no longer than the verifier's token life allows, whatever ttl the feed sends", async () => {
    const server = await feedServer((_n, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: snapshot\nid: 9\ndata: ${JSON.stringify({ revoked: [{ kind: 'session', ref: 'sid-1', ttl: 1e15 }] })}\n\n`);
      const beat = setInterval(() => res.write('event: heartbeat\ndata: {}\n\n'), 50);
      res.on('close', () => clearInterval(beat));
    });
    let offset = 0;
    const feed = new RevocationFeed({
      url: server.url,
      token: 'x'.repeat(32),
      fetch: (input, init) => fetch(input, init),
      clock: { now: () => Date.now() + offset },
      lostAfterMs: 60_000,
      failClosedAfterMs: 120_000,
      expiryOnlyWhenFeedFails: false,
      maxTtlMs: 3_600_000,
      log: () => undefined,
      onEvent: undefined,
    });
    closers.unshift(() => feed.close());
    feed.start();
    await feed.ready();
    expect(() => feed.check({ sid: 'sid-1' }, undefined)).toThrow(TokenRevokedError);
    offset = 3_600_000 + 1000;
    expect(() => feed.check({ sid: 'sid-1' }, undefined)).not.toThrow();
  });
});

describe('the revocation feed against absurd retry hints', () => {
  it.each([
    ['0', 500],
    ['99999999999999', 60_000],
  ])(
    'follows retry: %s as a reconnect delay within [500 ms, 60 s]',
    async (hint, expected) => {
      const server = await feedServer((n, res) => {
        if (n > 0) return snapshot(res);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`retry: ${hint}\n\n`);
      });
      // The delays the feed asks of the timers (the timers themselves run as usual).
      const delays: number[] = [];
      const realSetTimeout = globalThis.setTimeout;
      const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        // fetch's own timers (undici on Node 22 and later) pass arguments and must run as asked: left alone.
        if (args.length > 0) return realSetTimeout(fn, ms, ...args);
        delays.push(ms ?? 0);
        // Run at once (the test waits for no clock): only the delay asked for is under test.
        return realSetTimeout(fn, Math.min(ms ?? 0, 10));
      }) as typeof setTimeout);
      try {
        const feed = follow(server.url);
        await feed.ready();
      } finally {
        spy.mockRestore();
      }
      expect(delays).toContain(expected);
    },
    20_000,
  );
});

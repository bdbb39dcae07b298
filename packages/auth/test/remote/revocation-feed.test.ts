// The revocation feed end to end (docs/resource-server.md "The revocation feed"): two real Tessera servers on
// one Postgres and one Redis, and the resource server's `RevocationFeed` reading `GET /revocations` over fetch.
// No timing assertions: each test waits for the event (generous timeouts), then asserts the refusal.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeJwt,
  loginTokens,
  PG_BASE,
  PG_PORT,
  postgresUrl,
  register,
  spawnServer,
  sqliteBackend,
  startTcpProxy,
  waitFor,
  type Backend,
} from '@tessera/test-kit';
import { startServer, type TestServer } from '@tessera/test-kit/server';
import { systemClock } from '../../src/core/clock.js';
import { RevocationsUnavailableError, TokenInvalidError, TokenRevokedError } from '../../src/core/errors.js';
import { RevocationFeed, type RevocationFeedEvent, type RevocationFeedSettings } from '../../src/remote/revocation-feed.js';

const TOKEN = randomBytes(32).toString('base64url');
const RUN = randomBytes(4).toString('hex');
const WORKER = process.env.VITEST_POOL_ID ?? '0';
const SCHEMA = `tessera_feed_${WORKER}_${RUN}`;
/** Redis: a logical database no other file flushes (a server suite's flush would take these keys mid-test), under a prefix of this run's own. */
const REDIS = { TESSERA_REDIS_URL: 'redis://127.0.0.1:6379/4', TESSERA_REDIS_PREFIX: `feed:${WORKER}:${RUN}:` };
const QUIET = { TESSERA_LOG_LEVEL: 'silent', TESSERA_PURGE_INTERVAL: '0', TESSERA_LOGIN_LIMIT: '1000/15m', TESSERA_LOGIN_IP_LIMIT: '10000/15m' };

let admin: pg.Client;
let a: TestServer;
let b: TestServer;
const feeds: RevocationFeed[] = [];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  await admin.query(`create schema "${SCHEMA}"`);
  const env = { ...QUIET, ...REDIS, TESSERA_DATABASE_URL: postgresUrl(SCHEMA), TESSERA_REVOCATIONS_TOKEN: TOKEN };
  a = await startServer(env);
  b = await startServer(env);
}, 30_000);

afterAll(async () => {
  // The servers first: their open streams end with a retry hint (preClose), and no verifier is left half-way
  // through a reconnect on a socket that never sends its request (which would hold a server's close open).
  await Promise.all([a?.close(), b?.close()]);
  await Promise.all(feeds.map((feed) => feed.close()));
  await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
  await admin.end();
});

/** A fetch that records each request's URL and Last-Event-ID and can be pointed elsewhere, cut, stalled or refused. */
function controlledFetch(target: () => string) {
  const requests: { url: string; lastEventId: string | null }[] = [];
  const bodies: { cut(): void; stall(): void }[] = [];
  let refuse = false;
  let gate: Promise<void> | undefined;
  const fetcher = (async (_input: string | URL | Request, init?: RequestInit) => {
    if (gate !== undefined) await gate;
    if (refuse) throw new TypeError('connection refused (test)');
    const url = `${target()}/revocations`;
    const headers = new Headers(init?.headers);
    const signal = init?.signal ?? undefined;
    requests.push({ url, lastEventId: headers.get('last-event-id') });
    const response = await fetch(url, init);
    if (response.body === null) return response;
    // The real body piped through a stream the test controls: cut (an error) or stall (no more bytes).
    let stalled = false;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      pull: async (c) => {
        if (stalled) return new Promise<void>(() => undefined);
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (stalled) return;
        if (done) c.close();
        else c.enqueue(value);
      },
      cancel: async () => reader.cancel(),
    });
    signal?.addEventListener('abort', () => {
      try {
        controller.error(new DOMException('aborted', 'AbortError'));
      } catch {
        // already closed
      }
      void reader.cancel().catch(() => undefined);
    });
    bodies.push({
      cut: () => {
        controller.error(new TypeError('connection reset (test)'));
        void reader.cancel().catch(() => undefined);
      },
      stall: () => {
        stalled = true;
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  }) as typeof fetch;
  return {
    fetch: fetcher,
    requests,
    latest: () => bodies.at(-1)!,
    refuse: (on: boolean) => (refuse = on),
    /** Holds every new connection until the returned function is called. */
    hold: (): (() => void) => {
      let open!: () => void;
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

function feedOf(settings: Partial<RevocationFeedSettings> & Pick<RevocationFeedSettings, 'fetch'>) {
  const events: RevocationFeedEvent[] = [];
  const log: string[] = [];
  const feed = new RevocationFeed({
    url: 'http://feed.invalid/revocations',
    token: TOKEN,
    clock: systemClock,
    lostAfterMs: 15_000,
    failClosedAfterMs: 60_000,
    expiryOnlyWhenFeedFails: false,
    log: (line) => log.push(line),
    onEvent: (event) => events.push(event),
    ...settings,
  });
  feeds.push(feed);
  return { feed, events, log };
}

/** A user logged in on `server`: the access token's sid and kid, and the refresh token. */
async function sessionOn(server: TestServer): Promise<{ sid: string; kid: string; refresh: string; access: string }> {
  const user = await register(server.url);
  const pair = await loginTokens(server.url, user.username);
  const { header, claims } = decodeJwt(pair.access_token!);
  return { sid: claims.sid as string, kid: header.kid as string, refresh: pair.refresh_token!, access: pair.access_token! };
}

const revokedCount = (events: RevocationFeedEvent[]): number => events.filter((e) => e.type === 'feed_revoked').length;
const refusal = (feed: RevocationFeed, sid: string, kid?: string): unknown => {
  try {
    feed.check({ sid }, kid);
    return undefined;
  } catch (err) {
    return err;
  }
};

describe('the revocation feed across two instances', () => {
  it('carries a logout on instance A to a resource server following instance B', async () => {
    const { feed, events } = feedOf({ fetch: controlledFetch(() => b.url).fetch });
    const session = await sessionOn(a);
    feed.start();
    await feed.ready();
    expect(feed.state).toBe('live');
    expect(refusal(feed, session.sid, session.kid)).toBeUndefined();

    const before = revokedCount(events);
    expect(
      (
        await fetch(`${a.url}/auth/logout`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: session.refresh }),
        })
      ).status,
    ).toBe(204);
    await waitFor('the logout on the feed', () => revokedCount(events) > before, 10_000);
    expect(refusal(feed, session.sid, session.kid)).toBeInstanceOf(TokenRevokedError);
  });

  it('gives a verifier starting cold a snapshot of what is revoked and still matters', async () => {
    const session = await sessionOn(b);
    await fetch(`${b.url}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh }),
    });
    const { feed, events } = feedOf({ fetch: controlledFetch(() => a.url).fetch });
    feed.start();
    await feed.ready();
    expect(events).toContainEqual({ type: 'feed_live', cursor: expect.any(String) as string, snapshot: true });
    expect(refusal(feed, session.sid)).toBeInstanceOf(TokenRevokedError);
  });

  it('resumes from its cursor on the other instance after a cut, with what was revoked meanwhile', async () => {
    let target = a.url;
    const control = controlledFetch(() => target);
    const { feed, events } = feedOf({ fetch: control.fetch });
    feed.start();
    await feed.ready();
    const cursor = feed.cursor;
    expect(cursor).toMatch(/^\d+$/);

    const release = control.hold();
    control.latest().cut();
    await waitFor('the feed to notice the cut', () => feed.state === 'lost', 10_000);
    // Revoked while the verifier is disconnected, then it reconnects, to B.
    const session = await sessionOn(a);
    await fetch(`${a.url}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh }),
    });
    target = b.url;
    release();
    await waitFor('the feed to be live again', () => feed.state === 'live', 10_000);
    const resumed = control.requests.at(-1)!;
    expect(resumed).toEqual({ url: `${b.url}/revocations`, lastEventId: cursor });
    expect(events.filter((e) => e.type === 'feed_live').at(-1)).toMatchObject({ snapshot: false });
    expect(refusal(feed, session.sid)).toBeInstanceOf(TokenRevokedError);
  });

  it('never skips an event whose id commits after a larger one could have', async () => {
    const { feed, events } = feedOf({ fetch: controlledFetch(() => b.url).fetch });
    const withdrawn: string[] = [];
    feed.onKeyWithdrawn((kid) => withdrawn.push(kid));
    feed.start();
    await feed.ready();
    const before = revokedCount(events);
    const session = await sessionOn(a);
    const slow = new pg.Client({ connectionString: postgresUrl(SCHEMA) });
    await slow.connect();
    try {
      // A slow writer that drew its id first (as a key withdrawal does) and commits after the logout started.
      await slow.query('begin');
      await slow.query("select pg_advisory_xact_lock(hashtext(current_schema() || '.tessera_revocation_events'))");
      await slow.query("insert into tessera_revocation_events (kind, ref, at) values ('key', 'slow-kid', $1)", [Date.now()]);
      const logout = fetch(`${a.url}/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      await waitFor('the logout to wait for the slow writer', async () => {
        const { rows } = await admin.query("select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'");
        return rows.length > 0;
      });
      await slow.query('commit');
      expect((await logout).status).toBe(204);
    } finally {
      await slow.end();
    }
    await waitFor('both events on the feed', () => revokedCount(events) >= before + 2, 10_000);
    expect(withdrawn).toEqual(['slow-kid']);
    expect(refusal(feed, session.sid)).toBeInstanceOf(TokenRevokedError);
    expect(refusal(feed, 'another-sid', 'slow-kid')).toBeInstanceOf(TokenInvalidError);
  });

  it('carries a key withdrawal (`tessera keys revoke`) written in the same transaction as the withdrawal', async () => {
    const { feed } = feedOf({ fetch: controlledFetch(() => b.url).fetch });
    const withdrawn: string[] = [];
    feed.onKeyWithdrawn((kid) => withdrawn.push(kid));
    feed.start();
    await feed.ready();
    const staged = await a.runtime.keys.stageNext(Date.now());
    await a.runtime.keys.revoke(staged.kid, Date.now());
    await waitFor('the withdrawal on the feed', () => withdrawn.includes(staged.kid), 10_000);
    expect(refusal(feed, 'any-sid', staged.kid)).toBeInstanceOf(TokenInvalidError);
    const { rows } = await admin.query(`select kind, ref from "${SCHEMA}".tessera_revocation_events where ref = $1`, [staged.kid]);
    expect(rows).toEqual([{ kind: 'key', ref: staged.kid }]);
  });

  it('counts itself disconnected after a silence and reconnects from its cursor', async () => {
    const control = controlledFetch(() => a.url);
    const { feed } = feedOf({ fetch: control.fetch, lostAfterMs: 400 });
    feed.start();
    await feed.ready();
    const cursor = feed.cursor;
    control.latest().stall();
    await waitFor('the feed to reconnect', () => control.requests.length >= 2 && feed.state === 'live', 10_000);
    expect(control.requests[1]!.lastEventId).toBe(cursor);
  });

  it('fails closed with 503 revocations_unavailable once down past its bound, never 401', async () => {
    const control = controlledFetch(() => a.url);
    const { feed, log } = feedOf({ fetch: control.fetch, lostAfterMs: 200, failClosedAfterMs: 800 });
    feed.start();
    await feed.ready();
    control.refuse(true);
    control.latest().cut();
    await waitFor('the feed to fail', () => feed.state === 'failed', 10_000);
    const err = refusal(feed, 'any-sid');
    expect(err).toBeInstanceOf(RevocationsUnavailableError);
    expect((err as RevocationsUnavailableError).status).toBe(503);
    expect(log.some((line) => line.includes('refusing every token with 503'))).toBe(true);
    control.refuse(false);
    await waitFor('the feed to come back', () => feed.state === 'live', 15_000);
    expect(refusal(feed, 'any-sid')).toBeUndefined();
  });

  it('falls back to expiry only when, and only when, the operator chose it by name', async () => {
    const control = controlledFetch(() => a.url);
    const { feed } = feedOf({ fetch: control.fetch, lostAfterMs: 200, failClosedAfterMs: 600, expiryOnlyWhenFeedFails: true });
    feed.start();
    await feed.ready();
    control.refuse(true);
    control.latest().cut();
    await waitFor('the feed to fail', () => feed.state === 'failed', 10_000);
    expect(refusal(feed, 'any-sid')).toBeUndefined();
  });

  it('refuses a verifier that has not synced yet with 503 rather than trusting an empty list', async () => {
    const control = controlledFetch(() => a.url);
    control.refuse(true);
    const { feed } = feedOf({ fetch: control.fetch });
    feed.start();
    expect(feed.state).toBe('connecting');
    expect(refusal(feed, 'any-sid')).toBeInstanceOf(RevocationsUnavailableError);
  });
});

describe('GET /revocations while its instance cannot read the database', () => {
  it('stops the heartbeats, so the verifier counts itself lost, and serves it again once the database is back', async () => {
    const proxy = await startTcpProxy(PG_PORT, '127.0.0.1');
    const server = await startServer({ ...QUIET, TESSERA_DATABASE_URL: postgresUrl(SCHEMA, proxy.port), TESSERA_REVOCATIONS_TOKEN: TOKEN });
    const { feed, events } = feedOf({ fetch: controlledFetch(() => server.url).fetch, lostAfterMs: 6_000 });
    try {
      feed.start();
      await feed.ready();
      proxy.cut();
      await waitFor('the feed to count itself lost', () => feed.state === 'lost', 20_000);
      expect(events).toContainEqual({ type: 'feed_lost', reason: 'no event nor heartbeat for 6000 ms' });
      // Still within failClosedAfter: what it knew is still enforced, nothing refused wholesale.
      expect(refusal(feed, 'any-sid')).toBeUndefined();
      proxy.restore();
      await waitFor('the feed to be live again', () => feed.state === 'live', 20_000);
    } finally {
      await server.close();
      await feed.close();
      await proxy.close();
    }
  }, 60_000);
});

describe('GET /revocations access and shutdown', () => {
  it('requires the bearer token: missing and wrong are 401 token_invalid, a bad cursor 400', async () => {
    const missing = await fetch(`${a.url}/revocations`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: 'token_invalid' });
    const wrong = await fetch(`${a.url}/revocations`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } });
    expect(wrong.status).toBe(401);
    const text = await wrong.text();
    expect(text).not.toContain(TOKEN.slice(0, 8));
    const badCursor = await fetch(`${a.url}/revocations`, { headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': 'abc' } });
    expect(badCursor.status).toBe(400);
  });

  it('takes the scheme in any case, and answers a cursor past every event (a restored database) with a snapshot', async () => {
    const controller = new AbortController();
    try {
      const response = await fetch(`${a.url}/revocations`, {
        headers: { authorization: `bEaReR ${TOKEN}`, 'last-event-id': '999999999' },
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: heartbeat')) text += (await reader.read()).value ?? '';
      expect(text).toContain('event: snapshot');
    } finally {
      controller.abort();
    }
  });

  it('lets `tessera serve` drain at SIGTERM without waiting on a feed client: retry sent, stream closed, clean exit', async () => {
    const backend = sqliteBackend();
    const server = await spawnServer({
      ...QUIET,
      ...backend.env,
      TESSERA_LOG_LEVEL: 'info',
      TESSERA_REVOCATIONS_TOKEN: TOKEN,
      TESSERA_DRAIN_TIMEOUT: '60s',
    });
    try {
      const response = await fetch(`${server.url}/revocations`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: heartbeat')) text += (await reader.read()).value ?? '';
      const exit = server.stop();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += value;
      }
      expect(text).toMatch(/retry: \d+\n\n$/);
      expect(await exit).toBe(0);
      expect(server.output()).toContain('every request finished');
      expect(server.output()).not.toContain('drain timeout');
      expect(server.output()).not.toContain(TOKEN);
    } finally {
      await server.stop();
      await backend.cleanup();
    }
  });

  it('refuses to start with a token shorter than 32 characters, in one sentence that does not repeat it', async () => {
    const short = 'x'.repeat(31);
    const backend = sqliteBackend();
    const failure = await startServer({ ...QUIET, ...backend.env, TESSERA_REVOCATIONS_TOKEN: short }).then(
      () => new Error('started'),
      (err: unknown) => err as Error,
    );
    await backend.cleanup();
    expect(failure.message).toMatch(/TESSERA_REVOCATIONS_TOKEN.*at least 32 characters/);
    expect(failure.message).not.toContain(short);
  });

  it('is off (404) without TESSERA_REVOCATIONS_TOKEN; on SQLite, draining sends retry and closes every stream', async () => {
    const backend: Backend = sqliteBackend();
    const off = await startServer({ ...QUIET, ...backend.env });
    try {
      expect((await fetch(`${off.url}/revocations`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      await off.close();
    }
    const on = await startServer({ ...QUIET, ...backend.env, TESSERA_REVOCATIONS_TOKEN: TOKEN });
    try {
      const session = await sessionOn(on);
      await fetch(`${on.url}/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      const response = await fetch(`${on.url}/revocations`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: heartbeat')) text += (await reader.read()).value ?? '';
      expect(text).toContain('event: snapshot');
      expect(text).toContain(session.sid);
      // Opaque ids only: nothing about the user.
      expect(text).not.toContain(decodeJwt(session.access).claims.sub as string);
      on.runtime.startDraining();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += value;
      }
      expect(text).toMatch(/retry: \d+\n\n$/);
    } finally {
      await on.close();
      await backend.cleanup();
    }
  });
});

// Traces, with an OpenTelemetry SDK registered as an operator would (docs/operations.md): login, refresh
// and the access-token guard are spans, each store call is a child span of the one that made it, the
// session is named by the first 16 hex characters of SHA-256 of its id, and no span attribute, event
// or status carries a token, the password, the username or the raw session id.
import { createHash } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { fixedClock, type SessionStore } from '@tessera/auth';
import { claimsOf, PASSWORD, register, sqliteBackend, tokens } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { measuredSessionStore } from '../src/telemetry/stores.js';
import { SID_HASH, sidHash } from '../src/telemetry/tracing.js';
import { call, startServer } from './support/harness.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
// What the Node SDK registers: the active span follows async calls, so store calls nest under their route.
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = named(name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
};
const childrenOf = (parent: ReadableSpan): string[] =>
  spans()
    .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId)
    .map((s) => s.name);

/** Everything a span exports that a person could read: names, attributes, events and their attributes, status. */
function readable(span: ReadableSpan): string {
  return JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events, status: span.status, links: span.links });
}

describe('spans of login, refresh and the guard', () => {
  const backend = sqliteBackend();
  const clock = fixedClock(Date.now());
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(backend.env, { clock });
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('nest the store calls, name the session by its hash, and carry no secret', async () => {
    const url = server.url;
    const user = await register(url);
    exporter.reset();

    const login = tokens(await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }));
    const sid = String(claimsOf(login.access_token!).sid);
    const hashed = createHash('sha256').update(sid).digest('hex').slice(0, 16);
    expect(sidHash(sid)).toBe(hashed);
    const loginSpan = one('tessera.login');
    expect(loginSpan.attributes).toMatchObject({ [SID_HASH]: hashed, 'http.response.status_code': 200 });
    expect(loginSpan.parentSpanContext).toBeUndefined();
    expect(loginSpan.events.map((e) => [e.name, e.attributes?.[SID_HASH]])).toContainEqual(['tessera.session_created', hashed]);
    expect(childrenOf(loginSpan)).toEqual(
      expect.arrayContaining(['tessera.user_store.by_username', 'tessera.session_store.create', 'tessera.user_store.credential_version']),
    );
    expect(one('tessera.session_store.create').attributes).toMatchObject({
      [SID_HASH]: hashed,
      'tessera.store': 'session',
      'tessera.store.operation': 'create',
    });

    const refreshed = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: login.refresh_token } }));
    const refreshSpan = one('tessera.refresh');
    expect(refreshSpan.attributes).toMatchObject({ [SID_HASH]: hashed, 'http.response.status_code': 200 });
    expect(refreshSpan.events.map((e) => e.name)).toContain('tessera.rotated');
    expect(childrenOf(refreshSpan)).toContain('tessera.session_store.rotate');
    expect(one('tessera.session_store.rotate').attributes).toMatchObject({ [SID_HASH]: hashed });

    // Past the one-second copies of the user and of the session's liveness: the guard reads both stores.
    clock.advance(2_000);
    expect((await call(url, 'GET', '/auth/me', { bearer: refreshed.access_token! })).status).toBe(200);
    const verify = one('tessera.verify');
    expect(verify.attributes).toMatchObject({ [SID_HASH]: hashed, 'tessera.outcome': 'allowed' });
    expect(childrenOf(verify)).toEqual(expect.arrayContaining(['tessera.session_store.get', 'tessera.user_store.by_id']));

    expect((await call(url, 'GET', '/auth/me', { bearer: 'not.a.token' })).status).toBe(401);
    expect(named('tessera.verify').map((s) => s.attributes['tessera.outcome'])).toEqual(['allowed', 'refused']);
    expect(named('tessera.verify')[1]!.attributes['http.response.status_code']).toBe(401);

    const secrets = [login.access_token!, login.refresh_token!, refreshed.access_token!, refreshed.refresh_token!, PASSWORD, user.username, sid];
    const all = spans();
    expect(all.length).toBeGreaterThan(8);
    for (const span of all) for (const secret of secrets) expect(readable(span), span.name).not.toContain(secret);
  });

  it('marks a reused refresh token on the refresh span, and a refused login by its status', async () => {
    const url = server.url;
    const user = await register(url);
    const first = tokens(await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }));
    const second = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: first.refresh_token } }));
    tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: second.refresh_token } }));
    exporter.reset();
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: first.refresh_token } })).status).toBe(401);
    const reused = one('tessera.refresh');
    expect(reused.attributes).toMatchObject({ [SID_HASH]: sidHash(String(claimsOf(first.access_token!).sid)), 'http.response.status_code': 401 });
    expect(reused.events.map((e) => e.name)).toEqual(expect.arrayContaining(['tessera.reuse_detected', 'tessera.session_revoked']));
    expect(reused.events.find((e) => e.name === 'tessera.session_revoked')?.attributes).toMatchObject({ 'tessera.reason': 'reuse' });

    exporter.reset();
    expect((await call(url, 'POST', '/auth/login', { json: { username: user.username, password: `${PASSWORD}!` } })).status).toBe(401);
    const refused = one('tessera.login');
    expect(refused.attributes).toMatchObject({ 'http.response.status_code': 401 });
    expect(refused.attributes[SID_HASH]).toBeUndefined();
    expect(childrenOf(refused)).toEqual(['tessera.user_store.by_username']);
  });
});

describe('a failed store call', () => {
  it('is an error span with the error’s type, never its message', async () => {
    const down = new Error('could not connect as user alice with secret s3cr3t');
    const failing = { revoke: () => Promise.reject(down) } as unknown as SessionStore;
    await expect(measuredSessionStore(failing, new Metrics()).revoke('some-session-id', 'logout', 0)).rejects.toBe(down);
    const span = one('tessera.session_store.revoke');
    expect(span.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(span.attributes).toMatchObject({ 'error.type': 'Error', [SID_HASH]: sidHash('some-session-id') });
    expect(readable(span)).not.toMatch(/alice|s3cr3t|some-session-id/);
  });
});

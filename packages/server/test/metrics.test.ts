// /metrics tells the operator the truth: after real traffic over sockets, the scrape passes Prometheus's
// own linter (`promtool check metrics`, from Debian's `prometheus` package; .ci/run installs it) with no
// finding, and holds the series docs/operations.md names: session, refresh, reuse, revocation and
// throttle counters, request latency per route pattern (never a raw URL), store latency per operation,
// and the process metrics under their standard names (no doubled prefix).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from '@tessera/auth';
import { account, metricSample, PASSWORD, register, sqliteBackend, tokens } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { countedThrottle, measuredSessionStore } from '../src/telemetry/stores.js';
import { call, startServer } from './support/harness.js';

const TOKEN = `metrics-${randomBytes(12).toString('hex')}`;

describe('GET /metrics after traffic', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  let text: string;
  const secretPath = `/no/such/${randomBytes(8).toString('hex')}`;
  const sessionId = randomBytes(16).toString('base64url');

  beforeAll(async () => {
    // Three password attempts per account and network: the fourth wrong one is refused.
    server = await startServer({ ...backend.env, TESSERA_METRICS_TOKEN: TOKEN, TESSERA_LOGIN_LIMIT: '3/15m' });
    const url = server.url;
    const user = await account(url);
    expect((await call(url, 'GET', '/auth/me', { bearer: user.access })).status).toBe(200);
    // Rotate twice, then present the first refresh token again: reuse, and the session is revoked.
    const second = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: user.refresh } })).refresh_token!;
    tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: second } }));
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: user.refresh } })).code).toBe('refresh_token_reused');
    const other = await account(url);
    expect((await call(url, 'POST', '/auth/logout', { json: { refresh_token: other.refresh } })).status).toBe(204);
    const victim = await register(url);
    for (let i = 0; i < 3; i++)
      expect((await call(url, 'POST', '/auth/login', { json: { username: victim.username, password: `${PASSWORD}!` } })).status).toBe(401);
    expect((await call(url, 'POST', '/auth/login', { json: { username: victim.username, password: PASSWORD } })).status).toBe(429);
    expect((await call(url, 'GET', `${secretPath}?token=${TOKEN}`)).status).toBe(404);
    expect((await call(url, 'DELETE', `/auth/sessions/${sessionId}`, { bearer: other.access })).status).toBe(401);
    const scraped = await call(url, 'GET', '/metrics', { bearer: TOKEN });
    expect(scraped.status).toBe(200);
    text = scraped.text;
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('passes `promtool check metrics` with no finding', () => {
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error, 'promtool is missing: apt-get install prometheus (.ci/run does)').toBeUndefined();
    expect({ status: lint.status, out: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });

  it('names counters with _total and nothing else, and keeps the process series unprefixed', () => {
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name: name!, type: type! }));
    expect(types.length).toBeGreaterThan(20);
    for (const { name, type } of types) expect(name.endsWith('_total'), `${type} ${name}`).toBe(type === 'counter');
    expect(text).not.toMatch(/tessera_process_|process_process_/);
    expect(metricSample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);
  });

  it('counts sessions, logins, refreshes, reuse, revocations and throttling', () => {
    expect(metricSample(text, 'tessera_sessions_created_total')).toBe(2);
    expect(metricSample(text, 'tessera_logins_total{result="success"}')).toBe(2);
    expect(metricSample(text, 'tessera_logins_total{result="failure"}')).toBe(3);
    expect(metricSample(text, 'tessera_refreshes_total{outcome="rotated"}')).toBe(2);
    expect(metricSample(text, 'tessera_refreshes_total{outcome="grace_replay"}')).toBe(0);
    expect(metricSample(text, 'tessera_reuse_detections_total')).toBe(1);
    expect(metricSample(text, 'tessera_revocations_total{reason="reuse"}')).toBe(1);
    expect(metricSample(text, 'tessera_revocations_total{reason="logout"}')).toBe(1);
    expect(metricSample(text, 'tessera_throttle_refusals_total{action="login",counter="account"}')).toBe(1);
    expect(metricSample(text, 'tessera_throttle_refusals_total{action="login",counter="address"}')).toBe(0);
    expect(metricSample(text, 'tessera_throttle_overflow_total')).toBe(0);
  });

  it('times requests per route pattern, never the raw URL', () => {
    const count = (route: string, status: number, method = 'POST'): number | undefined =>
      metricSample(text, `tessera_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`);
    expect(count('/auth/login', 200)).toBe(2);
    expect(count('/auth/login', 429)).toBe(1);
    expect(count('/auth/refresh', 401)).toBe(1);
    expect(count('/auth/me', 200, 'GET')).toBe(1);
    expect(count('/auth/sessions/:id', 401, 'DELETE')).toBe(1);
    expect(text).toMatch(/^tessera_http_request_duration_seconds_bucket\{le="0\.001",method="GET",route="\/auth\/me",status="200"\} \d+$/m);
    for (const raw of [secretPath, sessionId, TOKEN]) expect(text).not.toContain(raw);
  });

  it('times store calls per store and operation', () => {
    const count = (store: string, operation: string): number | undefined =>
      metricSample(text, `tessera_store_duration_seconds_count{store="${store}",operation="${operation}",outcome="ok"}`);
    expect(count('session', 'create')).toBe(2);
    expect(count('session', 'rotate')).toBe(3);
    expect(count('session', 'revoke')).toBe(2);
    expect(count('user', 'by_username')).toBe(5);
    expect(count('user', 'credential_version')).toBe(2);
    expect(count('user', 'skeleton_taken')).toBeUndefined();
    expect(count('user', 'by_id')).toBeGreaterThanOrEqual(1);
  });
});

describe('the measured stores', () => {
  it('observe a failed store call as outcome="error" and rethrow it as it was', async () => {
    const metrics = new Metrics();
    const down = new Error('connection refused');
    const failing = { get: () => Promise.reject(down) } as unknown as SessionStore;
    await expect(measuredSessionStore(failing, metrics).get('some-session')).rejects.toBe(down);
    const text = await metrics.registry.metrics();
    expect(metricSample(text, 'tessera_store_duration_seconds_count{store="session",operation="get",outcome="error"}')).toBe(1);
  });

  it('count a refusal by action and counter, whatever the account or network in the key', async () => {
    const metrics = new Metrics();
    const refusing = {
      hit: async () => ({ allowed: false, count: 2, retryAfterMs: 1000 }),
      refund: async () => undefined,
      reset: async () => undefined,
      close: async () => undefined,
    };
    const throttle = countedThrottle(refusing, metrics);
    const rule = { limit: 1, windowMs: 1000 };
    await throttle.hit('register-ip:192.0.2.7', rule);
    await throttle.hit('password:user-id|2001:db8::/64', rule);
    await throttle.hit('elsewhere', rule);
    const text = await metrics.registry.metrics();
    expect(metricSample(text, 'tessera_throttle_refusals_total{action="register",counter="address"}')).toBe(1);
    expect(metricSample(text, 'tessera_throttle_refusals_total{action="password",counter="account"}')).toBe(1);
    expect(metricSample(text, 'tessera_throttle_refusals_total{action="other",counter="account"}')).toBe(1);
    expect(text).not.toMatch(/192\.0\.2\.7|2001:db8|user-id/);
  });
});

// The server's logs at their most talkative (trace) never hold a credential: no password, no token
// (nor its signature), no cookie or CSRF value, no configured secret — whatever the client sends,
// a token in the query string included. The real `tessera serve` process, its real logger.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, register, sqliteBackend, tokens, type ServerProcess } from '@tessera/test-kit';
import { call, cookieJar, spawnServer } from './support/harness.js';

const SECRET = randomBytes(32).toString('base64url');
const KEYS_SECRET = randomBytes(32).toString('base64url');
const METRICS_TOKEN = `metrics-${randomBytes(12).toString('hex')}`;
const NEW_PASSWORD = 'a brand new passphrase';

describe('server logs', () => {
  const backend = sqliteBackend();
  let server: ServerProcess;
  const secrets = new Set<string>([SECRET, KEYS_SECRET, METRICS_TOKEN, PASSWORD, NEW_PASSWORD]);
  /** Every token seen, and its signature alone (the part that makes a log line a credential). */
  const remember = (...values: (string | undefined)[]): void => {
    for (const value of values) {
      if (value === undefined || value === '') continue;
      secrets.add(value);
      if (value.split('.').length === 3) secrets.add(value.split('.')[2]!);
    }
  };

  beforeAll(async () => {
    server = await spawnServer({
      ...backend.env,
      TESSERA_LOG_LEVEL: 'trace',
      TESSERA_ALG: 'HS256',
      TESSERA_SECRET: SECRET,
      TESSERA_KEYS_SECRET: KEYS_SECRET,
      TESSERA_METRICS_TOKEN: METRICS_TOKEN,
      TESSERA_TRANSPORT: 'bearer,hybrid,cookie',
      TESSERA_COOKIE_SECURE: 'false',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await backend.cleanup();
  });

  it('hold no password, token, cookie, CSRF value or configured secret, at trace level', async () => {
    const url = server.url;
    const user = await register(url);
    const bearer = tokens(await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }));
    remember(bearer.access_token, bearer.refresh_token);
    // Tokens where they do not belong, too: in the query string and in a malformed body.
    await call(url, 'GET', `/auth/me?access_token=${bearer.access_token!}&token=${bearer.refresh_token!}`, { bearer: bearer.access_token! });
    await call(url, 'POST', '/auth/refresh', { body: `{"refresh_token":"${bearer.refresh_token!}",`, contentType: 'application/json' });
    await call(url, 'POST', '/auth/login', { body: `{"username":"${user.username}","password":"${PASSWORD}"`, contentType: 'application/json' });
    await call(url, 'POST', '/auth/login', { form: { username: user.username, password: PASSWORD } });
    const rotated = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: bearer.refresh_token } }));
    remember(rotated.access_token, rotated.refresh_token);
    await call(url, 'POST', '/auth/login', { json: { username: user.username, password: 'wrong password here' } });
    await call(url, 'GET', '/auth/me', { bearer: `${bearer.access_token!.slice(0, -4)}AAAA` });

    const cookie = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } });
    const jar = cookieJar(cookie.setCookie);
    remember(...Object.values(jar), (cookie.body as { csrf_token?: string }).csrf_token);
    const refreshed = await call(url, 'POST', '/auth/refresh', {
      cookies: { 'tessera-refresh': jar['tessera-refresh']! },
      headers: { 'x-csrf-token': jar['tessera-csrf']! },
    });
    expect(refreshed.status).toBe(200);
    remember(...Object.values(cookieJar(refreshed.setCookie)));
    await call(url, 'POST', '/auth/logout', { cookies: jar, headers: { 'x-csrf-token': 'not-the-csrf-value' } });

    const hybrid = tokens(await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'hybrid' } }));
    remember(hybrid.access_token, hybrid.csrf_token);
    const changed = await call(url, 'POST', '/auth/password', {
      bearer: bearer.access_token!,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(changed.status).toBe(200);
    remember(tokens(changed).access_token, tokens(changed).refresh_token);
    await call(url, 'GET', '/metrics', { bearer: METRICS_TOKEN });
    await call(url, 'POST', '/auth/logout', { bearer: tokens(changed).access_token! });
    expect(await server.stop()).toBe(0);

    const output = server.output();
    // The logs did speak: one line per request, and the session events.
    const lines = output.split('\n').filter((line) => line.startsWith('{'));
    expect(lines.filter((line) => line.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(15);
    expect(output).toContain('"event":"session_created"');
    expect(output).toContain('"path":"/auth/me"');
    for (const secret of secrets) expect(output.includes(secret), `the logs hold ${secret.slice(0, 6)}…`).toBe(false);
  });
});

// Every example, started and driven over real HTTP, against the built package (`npm run build`):
// what a user copies must work as written. Time is frozen by a fixed clock so expiry and the reuse
// grace window are tested by moving it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fixedClock } from '@tessera/auth';
import { parseSetCookie, send, type Answer as Reply, type Req } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startAuthx } from './authx.js';
import { start as startFastapi } from './fastapi-boilerplate.js';
import { start as startFlask } from './flask-jwt-extended.js';
import { DEMO, type Running } from './shared.js';
import { start as startSimplejwt } from './simplejwt.js';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const credentials = { username: DEMO.username, password: DEMO.password };

/** An answer (the test kit's) with its cookies by name. */
interface Answer extends Reply {
  cookies: Map<string, { value: string; line: string }>;
}

/** One request over HTTP (the test kit's `send`); a body that is not JSON fails the test. */
async function call(url: string, req: Req = {}): Promise<Answer> {
  const answer = await send(url, '', req);
  if (answer.text !== '') JSON.parse(answer.text);
  const cookies = new Map(answer.setCookie.map((line) => [parseSetCookie(line).name, { value: parseSetCookie(line).value, line }] as const));
  return { ...answer, cookies };
}

const str = (value: unknown): string => {
  expect(typeof value).toBe('string');
  return value as string;
};

describe('examples/fastapi-boilerplate.ts (hybrid)', () => {
  let app: Running;
  beforeAll(async () => {
    app = await startFastapi(0);
  });
  afterAll(() => app.close());

  it('logs in with JSON: access token in the body, refresh token in an HttpOnly cookie on /api/v1', async () => {
    const login = await call(`${app.url}/api/v1/login`, { json: credentials });
    expect(login.status).toBe(200);
    expect(login.header('cache-control')).toBe('no-store');
    expect(login.json.refresh_token).toBeUndefined();
    const refresh = login.cookies.get('__Secure-tessera-refresh');
    expect(refresh?.line).toMatch(/; Path=\/api\/v1; Max-Age=(?:604799|604800); HttpOnly; Secure; SameSite=Lax$/);
    expect(login.text).not.toContain(refresh?.value);
    const me = await call(`${app.url}/api/v1/users/me`, { bearer: str(login.json.access_token) });
    expect([me.status, me.json]).toEqual([200, { username: 'ada', name: DEMO.name }]);
  });

  it('refreshes with the cookie and the CSRF header, rotating the cookie; logout clears it', async () => {
    const login = await call(`${app.url}/api/v1/login`, { json: credentials });
    const csrf = login.cookies.get('__Host-tessera-csrf')!.value;
    const cookie = `__Secure-tessera-refresh=${login.cookies.get('__Secure-tessera-refresh')!.value}; __Host-tessera-csrf=${csrf}`;
    expect((await call(`${app.url}/api/v1/refresh`, { method: 'POST', cookie })).json.error).toBe('csrf_failed');

    const refreshed = await call(`${app.url}/api/v1/refresh`, { method: 'POST', cookie, csrf });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).toBeUndefined();
    const rotated = refreshed.cookies.get('__Secure-tessera-refresh')!.value;
    expect(rotated).not.toBe(login.cookies.get('__Secure-tessera-refresh')!.value);
    expect((await call(`${app.url}/api/v1/users/me`, { bearer: str(refreshed.json.access_token) })).status).toBe(200);

    const cookieNow = `__Secure-tessera-refresh=${rotated}; __Host-tessera-csrf=${csrf}`;
    const out = await call(`${app.url}/api/v1/logout`, { method: 'POST', cookie: cookieNow, csrf, bearer: str(refreshed.json.access_token) });
    expect(out.status).toBe(204);
    expect(out.cookies.get('__Secure-tessera-refresh')?.line).toContain('Max-Age=0');
    const after = await call(`${app.url}/api/v1/refresh`, { method: 'POST', cookie: cookieNow, csrf });
    expect([after.status, after.json.error]).toEqual([401, 'token_revoked']);
  });

  it('gives a form login (OAuth2 password flow) both tokens in the body and sets no cookie', async () => {
    const login = await call(`${app.url}/api/v1/login`, { form: { username: 'ada', password: 'correct horse' } });
    expect(login.status).toBe(200);
    expect(Object.keys(login.json)).toEqual(expect.arrayContaining(['access_token', 'refresh_token']));
    expect(login.cookies.size).toBe(0);
  });

  it('refuses wrong credentials and a missing token', async () => {
    const wrong = await call(`${app.url}/api/v1/login`, { json: { username: 'ada', password: 'wrong' } });
    expect([wrong.status, wrong.json.error]).toEqual([401, 'invalid_credentials']);
    const anonymous = await call(`${app.url}/api/v1/users/me`);
    expect([anonymous.status, anonymous.header('www-authenticate')]).toEqual([401, 'Bearer']);
  });
});

describe('examples/authx.ts (refresh token as Bearer)', () => {
  let app: Running;
  beforeAll(async () => {
    app = await startAuthx(0);
  });
  afterAll(() => app.close());

  it('logs in, reaches /protected, refreshes with the refresh token as Bearer', async () => {
    const login = await call(`${app.url}/login`, { json: credentials });
    expect(login.status).toBe(200);
    const protectedAnswer = await call(`${app.url}/protected`, { bearer: str(login.json.access_token) });
    expect(protectedAnswer.json).toEqual({ message: 'Hello ada' });
    const refreshed = await call(`${app.url}/refresh`, { method: 'POST', bearer: str(login.json.refresh_token) });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);
    expect((await call(`${app.url}/protected`, { bearer: str(refreshed.json.access_token) })).status).toBe(200);
  });

  it('takes tokens from the header only, and each kind only where it belongs', async () => {
    const login = await call(`${app.url}/login`, { json: credentials });
    const inBody = await call(`${app.url}/refresh`, { json: { refresh_token: login.json.refresh_token } });
    expect([inBody.status, inBody.json.error]).toEqual([401, 'token_missing']);
    const accessAsRefresh = await call(`${app.url}/refresh`, { method: 'POST', bearer: str(login.json.access_token) });
    expect([accessAsRefresh.status, accessAsRefresh.json.error]).toEqual([401, 'token_type_invalid']);
    expect((await call(`${app.url}/protected`)).status).toBe(401);
  });
});

describe('examples/simplejwt.ts (simplejwt views)', () => {
  const clock = fixedClock(T0);
  let app: Running;
  beforeAll(async () => {
    app = await startSimplejwt(0, { clock });
  });
  afterAll(() => app.close());

  it('answers {access, refresh} at /api/token/ and /api/token/refresh/', async () => {
    const pair = await call(`${app.url}/api/token/`, { json: credentials });
    expect(pair.status).toBe(200);
    expect(Object.keys(pair.json).sort()).toEqual(['access', 'refresh']);
    const next = await call(`${app.url}/api/token/refresh/`, { json: { refresh: pair.json.refresh } });
    expect(next.status).toBe(200);
    expect(Object.keys(next.json).sort()).toEqual(['access', 'refresh']);
    expect(next.json.refresh).not.toBe(pair.json.refresh);
    expect((await call(`${app.url}/api/me/`, { bearer: str(next.json.access) })).json).toEqual({ username: 'ada' });
  });

  it('answers refusals as {detail, code}; a spent refresh token after the grace window ends the session', async () => {
    const wrong = await call(`${app.url}/api/token/`, { json: { username: 'ada', password: 'nope' } });
    expect([wrong.status, wrong.json.code]).toEqual([401, 'invalid_credentials']);
    expect(typeof wrong.json.detail).toBe('string');
    const missing = await call(`${app.url}/api/token/refresh/`, { json: {} });
    expect([missing.status, missing.json]).toEqual([400, { refresh: ['This field is required.'] }]);

    const pair = await call(`${app.url}/api/token/`, { json: credentials });
    const next = await call(`${app.url}/api/token/refresh/`, { json: { refresh: pair.json.refresh } });
    clock.advance(11_000);
    const reused = await call(`${app.url}/api/token/refresh/`, { json: { refresh: pair.json.refresh } });
    expect([reused.status, reused.json.code]).toEqual([401, 'refresh_token_reused']);
    const revoked = await call(`${app.url}/api/token/refresh/`, { json: { refresh: next.json.refresh } });
    expect([revoked.status, revoked.json.code]).toEqual([401, 'token_revoked']);
  });
});

describe('examples/flask-jwt-extended.ts (flask error shape)', () => {
  const clock = fixedClock(T0);
  let app: Running;
  beforeAll(async () => {
    app = await startFlask(0, { clock });
  });
  afterAll(() => app.close());

  it('logs in with a one-hour access token, reaches /protected and refreshes with the refresh token', async () => {
    const login = await call(`${app.url}/login`, { json: credentials });
    expect([login.status, login.json.expires_in]).toEqual([200, 3600]);
    expect((await call(`${app.url}/protected`, { bearer: str(login.json.access_token) })).json).toEqual({ logged_in_as: 'ada' });
    const refreshed = await call(`${app.url}/refresh`, { method: 'POST', bearer: str(login.json.refresh_token) });
    expect(refreshed.status).toBe(200);
    expect((await call(`${app.url}/protected`, { bearer: str(refreshed.json.access_token) })).status).toBe(200);
  });

  it('answers an expired token with {"msg": "Token has expired"} and other refusals as {msg}', async () => {
    const login = await call(`${app.url}/login`, { json: credentials });
    clock.advance(3600_000);
    const expired = await call(`${app.url}/protected`, { bearer: str(login.json.access_token) });
    expect([expired.status, expired.text]).toEqual([401, '{"msg":"Token has expired"}']);
    const wrong = await call(`${app.url}/login`, { json: { username: 'ada', password: 'nope' } });
    expect([wrong.status, Object.keys(wrong.json)]).toEqual([401, ['msg']]);
    const malformed = await fetch(`${app.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect([malformed.status, await malformed.json()]).toEqual([400, { msg: 'The body is not valid JSON' }]);
  });
});

describe('examples run as scripts', () => {
  const guarded = [
    { file: 'authx.ts', path: '/protected' },
    { file: 'fastapi-boilerplate.ts', path: '/api/v1/users/me' },
    { file: 'simplejwt.ts', path: '/api/me/' },
    { file: 'flask-jwt-extended.ts', path: '/protected' },
  ];
  it.each(guarded)('node --import tsx examples/$file serves, guarding $path', async ({ file, path }) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file)], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let output = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          output += chunk;
          const found = /listening on (http:\/\/\S+)/.exec(output);
          if (found?.[1] !== undefined) resolve(found[1]);
        });
        child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${output}`)));
      });
      const anonymous = await fetch(url + path);
      expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    } finally {
      child.kill();
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
});

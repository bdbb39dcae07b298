// The Next.js example, built with `next build` and served by `next start`, driven over real HTTP as a
// browser would use it: cookie transport, the CSRF header on state-changing requests, proxy.ts in front
// of /account. It uses the built package (`npm run build`), as every example does. Keys are made here and
// reach the app through its environment only at start: the build needs none.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { exportPrivateJwk, generateKey } from '@tessera/auth';
import { cookieHeader, freePort, jarOf, parseSetCookie, REPO_ROOT, send, waitFor, type Answer, type Req } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP = join(REPO_ROOT, 'examples', 'next');
const NEXT = join(REPO_ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const PASSWORD = 'correct horse battery';
const NAMES = { access: '__Host-tessera-access', refresh: '__Secure-tessera-refresh', csrf: '__Host-tessera-csrf' };

/** Runs `next <args>` in the example; resolves with its output once it exits 0, rejects otherwise. */
function next(args: readonly string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<string> } {
  const child = spawn(process.execPath, [NEXT, ...args], { cwd: APP, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<string>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`next ${args.join(' ')} exited ${code}:\n${output}`)))),
  );
  return { child, done };
}

describe('examples/next: next build, then next start', () => {
  let server: ChildProcess | undefined;
  let url = '';
  const baseEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

  beforeAll(async () => {
    const started = Date.now();
    await next(['build'], baseEnv).done;
    console.log(`next build: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const key = await generateKey('EdDSA');
    const port = await freePort();
    const env = {
      ...baseEnv,
      TESSERA_ACCESS_KEY: JSON.stringify(exportPrivateJwk(key)),
      TESSERA_REFRESH_SECRET: randomBytes(32).toString('base64url'),
      DEMO_PASSWORD: PASSWORD,
    };
    const start = next(['start', '--port', String(port), '--hostname', '127.0.0.1'], env);
    server = start.child;
    start.done.catch(() => undefined);
    url = `http://127.0.0.1:${port}`;
    await waitFor('next start', async () => (await fetch(`${url}/api/me`).catch(() => undefined))?.status === 401, 30_000, 100);
  }, 600_000);
  afterAll(() => {
    server?.kill();
  });

  const call = (path: string, req: Req = {}): Promise<Answer> => send(url, path, req);
  /** A page fetched as a browser navigates: redirects are answers, not followed. */
  const page = (path: string, cookie?: string) => fetch(`${url}${path}`, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });

  it('logs in with cookies, shows the user to route handlers, pages and proxy.ts, refreshes with the CSRF header, logs out', async () => {
    // Signed out: the page offers a link, the API and proxy.ts refuse.
    expect(await (await page('/')).text()).toContain('Sign in');
    const gated = await page('/account');
    expect([gated.status, gated.headers.get('location')]).toEqual([307, '/']);
    expect((await call('/api/me')).code).toBe('token_missing');
    const wrong = await call('/api/auth/login', { json: { username: 'ada', password: 'nope' } });
    expect([wrong.status, wrong.code]).toEqual([401, 'invalid_credentials']);

    // Login: three cookies and no token in the body (cookie transport is the adapter's default).
    const login = await call('/api/auth/login', { json: { username: 'ada', password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.header('cache-control')).toBe('no-store');
    expect(Object.keys(login.json).sort()).toEqual(['csrf_token', 'expires_in', 'refresh_expires_in', 'token_type']);
    const cookies = login.setCookie.map(parseSetCookie);
    expect(cookies.map((c) => [c.name, c.attributes.get('path')])).toEqual([
      [NAMES.access, '/'],
      [NAMES.refresh, '/api/auth'],
      [NAMES.csrf, '/'],
    ]);
    const csrf = String(login.json.csrf_token);
    let jar = jarOf(login.setCookie);

    // Signed in: a route handler, a server component, and a page behind proxy.ts.
    expect((await call('/api/me', { cookie: cookieHeader(jar) })).json).toEqual({ sub: 'ada' });
    expect(await (await page('/', cookieHeader(jar))).text()).toContain('Signed in as ada');
    const account = await page('/account', cookieHeader(jar));
    expect(account.status).toBe(200);
    expect(await account.text()).toContain('Account of ada');

    // Refresh: refused without the CSRF header or from another site, answered in cookies with it.
    const noCsrf = await call('/api/auth/refresh', { method: 'POST', cookie: cookieHeader(jar) });
    expect([noCsrf.status, noCsrf.code]).toEqual([403, 'csrf_failed']);
    const crossSite = await call('/api/auth/refresh', {
      method: 'POST',
      cookie: cookieHeader(jar),
      csrf,
      headers: { origin: 'https://evil.example' },
    });
    expect([crossSite.status, crossSite.code]).toEqual([403, 'origin_refused']);
    const refreshed = await call('/api/auth/refresh', { method: 'POST', cookie: cookieHeader(jar), csrf });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.access_token).toBeUndefined();
    expect(refreshed.setCookie.map((line) => parseSetCookie(line).name)).toContain(NAMES.access);
    jar = jarOf(refreshed.setCookie, jar);
    expect((await call('/api/me', { cookie: cookieHeader(jar) })).json).toEqual({ sub: 'ada' });

    // Logout: CSRF checked, then every cookie cleared; the browser is signed out.
    const logout = await call('/api/auth/logout', { method: 'POST', cookie: cookieHeader(jar), csrf });
    expect(logout.status).toBe(204);
    const cleared = logout.setCookie.map(parseSetCookie);
    expect(cleared.map((c) => [c.name, c.value, c.attributes.get('max-age')]).sort()).toEqual(
      Object.values(NAMES)
        .sort()
        .map((name) => [name, '', '0']),
    );
    jar = jarOf(logout.setCookie, jar);
    expect(cookieHeader(jar)).toBe('');
    expect((await call('/api/me', { cookie: cookieHeader(jar) })).code).toBe('token_missing');
    expect((await page('/account', cookieHeader(jar))).status).toBe(307);
  });

  it('refuses a forged access cookie everywhere: 401 from the route handler, signed out on the page, redirected by proxy.ts', async () => {
    const forged = `${NAMES.access}=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.`;
    const api = await call('/api/me', { cookie: forged });
    expect([api.status, api.code, api.header('www-authenticate')?.startsWith('Bearer error="invalid_token"')]).toEqual([401, 'token_invalid', true]);
    expect(await (await page('/', forged)).text()).toContain('Sign in');
    expect((await page('/account', forged)).status).toBe(307);
  });
});

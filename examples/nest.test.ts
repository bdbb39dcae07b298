// The NestJS example as a user builds and runs it: Nest's default CommonJS layout compiled with its own
// tsconfig (experimentalDecorators, emitDecoratorMetadata, moduleResolution node), `@tessera/auth/nest`
// resolved as an installed package (the built one: `npm run build`), started as `node dist/main.js` on a
// free port, then driven over HTTP.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cookieHeader, freePort, jarOf, send, waitFor } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HERE = join(import.meta.dirname, 'nest');
const ROOT = join(import.meta.dirname, '..');

describe('examples/nest (NestJS, CommonJS)', () => {
  let child: ChildProcess | undefined;
  let url = '';
  let output = '';

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'packages', 'auth', 'dist', 'adapters', 'nest', 'index.js')))
      throw new Error('Build @tessera/auth first: npm run build');
    // The compiler's own output is the failure message: a type error in the example fails here.
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(HERE, 'tsconfig.json')]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['dist/main.js'], { cwd: HERE, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      'the Nest example to listen',
      async () => {
        if (child?.exitCode !== null) throw new Error(`the example exited:\n${output}`);
        return fetch(`${url}/me`).then(
          (r) => r.status === 401,
          () => false,
        );
      },
      20_000,
    );
  }, 120_000);

  afterAll(() => {
    child?.kill();
  });

  it('logs in, reads /me, refreshes, logs out; the old access token is then refused', async () => {
    const login = await send(url, '/auth/login', { json: { username: 'ada', password: 'correct horse' } });
    expect([login.status, login.header('cache-control')]).toEqual([200, 'no-store']);
    const access = String(login.json.access_token);
    const me = await send(url, '/me', { bearer: access });
    expect([me.status, me.json]).toEqual([200, { id: 'ada', name: 'Ada Lovelace', roles: ['admin'] }]);
    expect((await send(url, '/admin', { bearer: access })).json).toEqual({ hello: 'Ada Lovelace' });

    const refreshed = await send(url, '/auth/refresh', { json: { refresh_token: login.json.refresh_token } });
    expect(refreshed.status).toBe(200);
    const next = String(refreshed.json.access_token);
    expect((await send(url, '/me', { bearer: next })).json.id).toBe('ada');

    const out = await send(url, '/auth/logout', { method: 'POST', bearer: next });
    expect(out.status).toBe(204);
    const revoked = await send(url, '/me', { bearer: next });
    expect([revoked.status, revoked.json.error]).toEqual([401, 'token_revoked']);
    expect(revoked.header('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });

  it('refuses a wrong password, a missing token and a user without the admin role, in the library’s words', async () => {
    const wrong = await send(url, '/auth/login', { json: { username: 'ada', password: 'nope' } });
    expect([wrong.status, wrong.json.error]).toEqual([401, 'invalid_credentials']);
    const none = await send(url, '/me');
    expect([none.status, none.json.error, none.header('www-authenticate')]).toEqual([401, 'token_missing', 'Bearer']);
    const bob = await send(url, '/auth/login', { json: { username: 'bob', password: 'battery staple' } });
    const admin = await send(url, '/admin', { bearer: String(bob.json.access_token) });
    expect([admin.status, admin.json.error]).toEqual([403, 'insufficient_scope']);
  });

  it('keeps a cookie session: refresh with the CSRF header rotates the cookies, logout clears them', async () => {
    const login = await send(url, '/auth/login', { json: { username: 'ada', password: 'correct horse', transport: 'cookie' } });
    const csrf = String(login.json.csrf_token);
    const jar = jarOf(login.setCookie);
    expect((await send(url, '/me', { cookie: cookieHeader(jar) })).json.id).toBe('ada');
    const refreshed = await send(url, '/auth/refresh', { method: 'POST', cookie: cookieHeader(jar), csrf });
    expect(refreshed.status).toBe(200);
    const rotated = jarOf(refreshed.setCookie, jar);
    const out = await send(url, '/auth/logout', { method: 'POST', cookie: cookieHeader(rotated), csrf });
    expect(out.status).toBe(204);
    expect(out.setCookie.every((line) => /Max-Age=0/.test(line))).toBe(true);
  });
});

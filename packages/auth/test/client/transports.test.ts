// The client in Node against the real server, in each of the three transports: what travels where,
// CSRF, logout, errors with their stable codes, and credentials never leaving the server's origin.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, CookieJar, createClient, type Transport } from '../../src/client/index.js';
import { countingFetch, PASSWORD, startServer, uniqueName, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

async function signedIn(transport: Transport, extra: { cookieJar?: CookieJar } = {}) {
  const counting = countingFetch();
  const client = createClient({ baseUrl: server.url, transport, fetch: counting.fetch, autoRefresh: false, ...extra });
  const username = uniqueName(transport);
  await client.register({ username, password: PASSWORD });
  await client.login({ username, password: PASSWORD });
  return { client, counting, username };
}

async function liveSessions(username: string): Promise<number> {
  const user = await server.runtime.users.byUsername(username);
  return (await server.runtime.auth.listSessions(user!.id)).length;
}

describe.each(['bearer', 'hybrid', 'cookie'] as const)('%s transport', (transport) => {
  it('logs in, calls the API, refreshes and logs out (the session is revoked on the server)', async () => {
    const { client, counting, username } = await signedIn(transport);
    expect(client.session).toMatchObject({ signedIn: true, transport });
    const me = await client.fetch('/auth/me');
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username });

    const before = client.session.sid;
    await client.refresh();
    expect(counting.count('/auth/refresh')).toBe(1);
    expect(counting.statuses('/auth/refresh')).toEqual([200]);
    expect(client.session.sid).toBe(before);
    expect((await client.fetch('/auth/me')).status).toBe(200);
    expect(await liveSessions(username)).toBe(1);

    await client.logout();
    expect(counting.statuses('/auth/logout')).toEqual([204]);
    expect(client.session.signedIn).toBe(false);
    expect(await liveSessions(username)).toBe(0);
    // Signed out, the client sends no credentials: the server answers 401 token_missing.
    const after = await client.fetch('/auth/me');
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: string }).error).toBe('token_missing');
    client.close();
  });

  it('logs out everywhere with logoutAll', async () => {
    const { client, username } = await signedIn(transport);
    const other = createClient({ baseUrl: server.url, transport, autoRefresh: false });
    await other.login({ username, password: PASSWORD });
    expect(await liveSessions(username)).toBe(2);
    await client.logoutAll();
    expect(client.session.signedIn).toBe(false);
    expect(await liveSessions(username)).toBe(0);
    // The other client finds out on its next call: its session is revoked, so it is signed out.
    const events: string[] = [];
    other.on('sessionExpired', ({ error }) => events.push(error.code));
    expect((await other.fetch('/auth/me')).status).toBe(401);
    expect(events).toEqual(['token_revoked']);
    expect(other.session.signedIn).toBe(false);
    client.close();
    other.close();
  });
});

describe('what travels where', () => {
  it('bearer: both tokens in the body, nothing in cookies', async () => {
    const jar = new CookieJar();
    const { client } = await signedIn('bearer', { cookieJar: jar });
    expect(jar.header(new URL('/auth/refresh', server.url))).toBeUndefined();
    expect(await client.getAccessToken()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    client.close();
  });

  it('hybrid: the access token in memory, the refresh token in an HttpOnly cookie kept to /auth', async () => {
    const jar = new CookieJar();
    const { client } = await signedIn('hybrid', { cookieJar: jar });
    expect(await client.getAccessToken()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(jar.get(new URL('/auth/refresh', server.url), '__Secure-tessera-refresh')).toBeDefined();
    expect(jar.get(new URL('/api/x', server.url), '__Secure-tessera-refresh')).toBeUndefined();
    expect(jar.get(server.url, '__Host-tessera-csrf')).toBeDefined();
    await client.logout();
    // Logout clears the cookies.
    expect(jar.header(new URL('/auth/refresh', server.url))).toBeUndefined();
    client.close();
  });

  it('cookie: no token in JavaScript; state-changing calls carry the CSRF header, and fail without it', async () => {
    const jar = new CookieJar();
    const { client, username } = await signedIn('cookie', { cookieJar: jar });
    expect(await client.getAccessToken()).toBeUndefined();
    const cookie = jar.header(new URL('/auth/logout-all', server.url))!;
    expect(cookie).toContain('__Host-tessera-access=');
    // The same cookies without the header are refused: the CSRF protection is real.
    const bare = await fetch(new URL('/auth/logout-all', server.url), { method: 'POST', headers: { cookie } });
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { error: string }).error).toBe('csrf_failed');
    expect(await liveSessions(username)).toBe(1);
    // Through the client the header is added.
    await client.logoutAll();
    expect(await liveSessions(username)).toBe(0);
    client.close();
  });

  it('hybrid logout revokes the session even when the access token has already expired', async () => {
    const { client, username } = await signedIn('hybrid');
    server.advance(16 * 60_000);
    try {
      await client.logout();
    } finally {
      server.advance(-16 * 60_000);
    }
    expect(await liveSessions(username)).toBe(0);
    client.close();
  });
});

describe('login', () => {
  it('falls back to the transports the server allows, in order', async () => {
    const bearerOnly = await startServer({ TESSERA_TRANSPORT: 'bearer' });
    try {
      const counting = countingFetch();
      const client = createClient({ baseUrl: bearerOnly.url, fetch: counting.fetch, autoRefresh: false });
      const username = uniqueName('fallback');
      await client.register({ username, password: PASSWORD });
      const session = await client.login({ username, password: PASSWORD });
      expect(session.transport).toBe('bearer');
      // hybrid, then cookie, were refused before bearer was taken.
      expect(counting.statuses('/auth/login')).toEqual([400, 400, 200]);
      client.close();
    } finally {
      await bearerOnly.close();
    }
  });

  it('reports refusals as ClientError with the stable code', async () => {
    const client = createClient({ baseUrl: server.url, autoRefresh: false });
    const username = uniqueName('errors');
    await client.register({ username, password: PASSWORD });
    const taken = await client.register({ username, password: PASSWORD }).catch((err: unknown) => err);
    expect(taken).toBeInstanceOf(ClientError);
    expect(taken).toMatchObject({ code: 'username_taken', status: 409 });
    const wrong = await client.login({ username, password: 'not the password' }).catch((err: unknown) => err);
    expect(wrong).toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(client.session.signedIn).toBe(false);
    const down = createClient({ baseUrl: 'http://127.0.0.1:1/', autoRefresh: false });
    await expect(down.login({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'network_error', status: undefined });
    await expect(client.refresh()).rejects.toMatchObject({ code: 'signed_out' });
    client.close();
    down.close();
  });
});

describe('fetch to other origins', () => {
  it('sends neither the access token nor cookies to an origin that is not the auth server', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((request, response) => {
      seen.push(request.headers);
      response.end('ok');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as AddressInfo).port;
    try {
      const { client } = await signedIn('hybrid');
      // Same host, another port: another origin.
      const response = await client.fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body: 'x' });
      expect(response.status).toBe(200);
      expect(seen[0]?.authorization).toBeUndefined();
      expect(seen[0]?.cookie).toBeUndefined();
      expect(seen[0]?.['x-csrf-token']).toBeUndefined();
      // An origin listed in apiOrigins does get the token.
      const trusted = createClient({ baseUrl: server.url, transport: 'bearer', apiOrigins: [`http://127.0.0.1:${port}`], autoRefresh: false });
      const username = uniqueName('api');
      await trusted.register({ username, password: PASSWORD });
      await trusted.login({ username, password: PASSWORD });
      await trusted.fetch(`http://127.0.0.1:${port}/y`);
      expect(seen[1]?.authorization).toMatch(/^Bearer /);
      client.close();
      trusted.close();
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

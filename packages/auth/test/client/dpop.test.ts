// The DPoP add-on against the real server (through the test kit): a login with a proof is bound to the
// client's key (`token_type: DPoP`, `cnf.jkt`), refreshes stay bound, `/auth/me` takes the token as
// `Authorization: DPoP` with a proof, the server's nonce challenges are answered once, and a refresh or
// access token taken away from the key is refused.
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { createHash, randomBytes } from 'node:crypto';
import { freePort, listen } from '@tessera/test-kit';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tessera } from '../../src/adapters/hono.js';
import { createDpop } from '../../src/client/dpop.js';
import { CookieJar, createClient, type Transport } from '../../src/client/index.js';
import { generateKey, generateRefreshKey } from '../../src/core/keys/key.js';
import { createTessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';
import { PASSWORD, startServer, uniqueName, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

interface Sent {
  path: string;
  status: number;
  authorization: string | null;
  dpop: string | null;
  nonce: string | undefined;
  body: Record<string, unknown> | undefined;
}

/** The platform fetch, recording what went out (after the add-on) and what came back. */
function recordingFetch() {
  const sent: Sent[] = [];
  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    const response = await fetch(input, init);
    const proof = headers.get('dpop');
    const body = (await response
      .clone()
      .json()
      .catch(() => undefined)) as Record<string, unknown> | undefined;
    sent.push({
      path: new URL(input instanceof Request ? input.url : String(input)).pathname,
      status: response.status,
      authorization: headers.get('authorization'),
      dpop: proof,
      nonce: proof === null ? undefined : (claimsOf(proof).nonce as string | undefined),
      body,
    });
    return response;
  };
  return { sent, fetch: fetchImpl };
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

async function signedUp(transport: Transport, label: string) {
  const record = recordingFetch();
  const dpop = createDpop({ fetch: record.fetch });
  const jar = new CookieJar();
  const client = createClient({ baseUrl: server.url, transport, autoRefresh: false, fetch: dpop.fetch, cookieJar: jar });
  const username = uniqueName(`dpop-${label}`);
  await client.register({ username, password: PASSWORD });
  await client.login({ username, password: PASSWORD });
  return { client, dpop, jar, sent: record.sent, jkt: await dpop.thumbprint(), username };
}

describe('the DPoP add-on against the server', () => {
  it('bearer: the login is bound to the key, /auth/me goes as DPoP with a proof, refreshes stay bound', async () => {
    const { client, sent, jkt } = await signedUp('bearer', 'bearer');
    const login = sent.filter((s) => s.path === '/auth/login');
    // The first proof has no nonce: the server asks for one (400 use_dpop_nonce) and the retry carries it.
    expect(login.map((s) => s.status)).toEqual([400, 200]);
    expect(login[0]?.body).toMatchObject({ error: 'use_dpop_nonce' });
    expect(login[1]?.nonce).toEqual(expect.any(String));
    expect(login[1]?.body).toMatchObject({ token_type: 'DPoP' });
    const access = login[1]?.body?.access_token as string;
    const refresh = login[1]?.body?.refresh_token as string;
    expect(claimsOf(access).cnf).toEqual({ jkt });
    expect(claimsOf(refresh).cnf).toEqual({ jkt });

    const me = await client.fetch('/auth/me');
    expect(me.status).toBe(200);
    const call = sent.at(-1)!;
    expect(call.authorization).toBe(`DPoP ${access}`);
    expect(claimsOf(call.dpop!)).toMatchObject({ htm: 'GET', htu: `${server.url}auth/me`, ath: expect.any(String) });

    await client.refresh();
    const refreshed = sent.at(-1)!;
    expect(refreshed).toMatchObject({ path: '/auth/refresh', status: 200, body: { token_type: 'DPoP' } });
    expect(refreshed.nonce).toBe(login[1]?.nonce); // the origin's nonce, kept: no second challenge
    const rotated = refreshed.body?.access_token as string;
    expect(claimsOf(rotated).cnf).toEqual({ jkt });
    expect((await client.fetch('/auth/me')).status).toBe(200);
    expect(sent.at(-1)?.authorization).toBe(`DPoP ${rotated}`);
    await client.logout();
    client.close();
  });

  it('hybrid: the refresh cookie is bound too: refused when replayed without the key, and refreshed with it', async () => {
    const { client, sent, jkt, jar } = await signedUp('hybrid', 'hybrid');
    // The refresh cookie and the CSRF value, as malware reading the browser's profile would take them.
    const refreshUrl = new URL('auth/refresh', server.url);
    const cookie = jar.header(refreshUrl);
    const csrf = jar.get(refreshUrl, 'tessera-csrf') ?? jar.get(refreshUrl, '__Host-tessera-csrf');
    expect(cookie).toMatch(/tessera-refresh=/);
    expect(csrf).toEqual(expect.any(String));
    const stolen = await fetch(refreshUrl, { method: 'POST', headers: { cookie: cookie!, 'x-csrf-token': csrf!, origin: server.url.slice(0, -1) } });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    expect(sent.find((s) => s.path === '/auth/login' && s.status === 200)?.body).toMatchObject({ token_type: 'DPoP' });
    const session = await client.refresh();
    expect(session.signedIn).toBe(true);
    const refreshed = sent.at(-1)!;
    expect(refreshed).toMatchObject({ path: '/auth/refresh', status: 200 });
    expect(claimsOf(refreshed.body?.access_token as string).cnf).toEqual({ jkt });
    expect((await client.fetch('/auth/me')).status).toBe(200);
    client.close();
  });

  it('a stolen refresh token, current or just rotated, is refused without the key, and the session lives on', async () => {
    const { client, sent } = await signedUp('bearer', 'stolen');
    const stolen = sent.find((s) => s.path === '/auth/login' && s.status === 200)?.body?.refresh_token as string;
    const replay = (token: string, headers: Record<string, string> = {}) =>
      fetch(new URL('auth/refresh', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ refresh_token: token }),
      });
    // No proof at all.
    const bare = await replay(stolen);
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    // A proof by the thief's own key (with the server's nonce): still not the bound key.
    const thief = createDpop({ name: 'thief' });
    const url = new URL('auth/refresh', server.url);
    const first = await replay(stolen, { dpop: await thief.proof('POST', url) });
    const nonce = first.headers.get('dpop-nonce');
    expect(first.status).toBe(400);
    expect(nonce).not.toBeNull();
    const withKey = await thief.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    expect(withKey.status).toBe(400);
    expect(await withKey.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    // The owner refreshes on; the previous token, replayed inside the grace window without the key, is refused too.
    await client.refresh();
    const grace = await thief.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    expect(grace.status).toBe(400);
    expect(await grace.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    expect((await client.fetch('/auth/me')).status).toBe(200);
    expect((await client.refresh()).signedIn).toBe(true);
    client.close();
  });

  it('a stolen bound access token is refused as Bearer, and as DPoP with another key', async () => {
    const { client, sent } = await signedUp('bearer', 'stolen-access');
    const access = sent.find((s) => s.path === '/auth/login' && s.status === 200)?.body?.access_token as string;
    const me = new URL('auth/me', server.url);
    const asBearer = await fetch(me, { headers: { authorization: `Bearer ${access}` } });
    expect(asBearer.status).toBe(401);
    const thief = createDpop({ name: 'thief' });
    const asDpop = await thief.fetch(me, { headers: { authorization: `DPoP ${access}` } });
    expect(asDpop.status).toBe(401);
    expect(asDpop.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    // The owner's client goes on.
    expect((await client.fetch('/auth/me')).status).toBe(200);
    client.close();
  });

  it('an API that wants the nonce at its routes too (dpop.resourceNonce): its 401 challenge is answered once', async () => {
    // The library behind Hono, nonces required at guarded routes as well as at login, served on two origins:
    // the auth server, and an API the client knows only by `apiOrigins`, whose nonce it has not been given yet.
    const auth = createTessera({
      keys: await generateKey('EdDSA'),
      refreshKey: await generateRefreshKey(),
      sessions: { store: memoryStore() },
      dpop: { nonceSecret: 'a nonce secret of at least thirty-two bytes', resourceNonce: true },
    });
    const t = tessera(auth);
    const app = new Hono();
    app.post(
      '/auth/login',
      t.login((body) => ((body as { password?: unknown }).password === PASSWORD ? { sub: 'ada' } : null), { transports: ['bearer'] }),
    );
    app.get('/api/me', t.required(), (c) => c.json({ sub: t.identity(c).sub }));
    const authServer = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    const api = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    onTestFinished(async () => {
      await authServer.close();
      await api.close();
      auth.close();
    });

    const record = recordingFetch();
    const dpop = createDpop({ fetch: record.fetch });
    const client = createClient({ baseUrl: `${authServer.url}/`, apiOrigins: [api.url], transport: 'bearer', autoRefresh: false, fetch: dpop.fetch });
    await client.login({ username: 'ada', password: PASSWORD });
    const me = await client.fetch(`${api.url}/api/me`);
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ sub: 'ada' });
    const calls = record.sent.filter((s) => s.path === '/api/me');
    expect(calls.map((c) => [c.status, c.body?.error])).toEqual([
      [401, 'use_dpop_nonce'],
      [200, undefined],
    ]);
    expect(calls[0]?.nonce).toBeUndefined();
    expect(calls[1]?.nonce).toEqual(expect.any(String));
    expect(calls[1]?.authorization).toMatch(/^DPoP /);
    // The API's nonce is kept: the next call goes through at once.
    expect((await client.fetch(`${api.url}/api/me`)).status).toBe(200);
    expect(record.sent.filter((s) => s.path === '/api/me')).toHaveLength(3);
    client.close();
  });

  it('OAuth: code + PKCE + dpop_jkt, then /oauth/token through the add-on binds the tokens; the refresh grant stays bound', async () => {
    // The issuer is the public URL (as behind a proxy): every request names it, and this fetch carries it to the
    // port the server listens on. The proofs' htu is checked against the issuer.
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const oauthServer = await startServer({ TESSERA_ISSUER: issuer });
    onTestFinished(() => oauthServer.close());
    const listening = oauthServer.url.slice(0, -1);
    const viaProxy = (input: string | URL | Request, init?: RequestInit) => fetch(String(input).replace(issuer, listening), init);
    const redirectUri = 'http://127.0.0.1/callback';
    await oauthServer.runtime.oauth!.clients.add({ id: 'spa', public: true, firstParty: true, redirectUris: [redirectUri], now: Date.now() });
    const username = uniqueName('dpop-oauth');
    expect(
      (
        await viaProxy(`${issuer}/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: PASSWORD }),
        })
      ).status,
    ).toBe(201);

    const record = recordingFetch();
    const dpop = createDpop({ fetch: (input, init) => record.fetch(String(input).replace(issuer, listening), init) });
    const jkt = await dpop.thumbprint();
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: redirectUri,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'st',
      dpop_jkt: jkt,
    });
    const page = await (await viaProxy(`${issuer}/oauth/authorize?${query}`)).text();
    const form = new URLSearchParams(
      [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m): [string, string] => [m[1]!, m[2]!.replace(/&amp;/g, '&')]),
    );
    form.set('username', username);
    form.set('password', PASSWORD);
    const signedIn = await viaProxy(`${issuer}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer },
      body: form.toString(),
      redirect: 'manual',
    });
    expect(signedIn.status).toBe(303);
    const code = new URL(signedIn.headers.get('location')!).searchParams.get('code')!;

    const tokenRequest = (body: Record<string, string>) =>
      dpop.fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    const issued = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'spa',
      code_verifier: verifier,
    });
    const tokens = (await issued.json()) as Record<string, string>;
    expect(issued.status).toBe(200);
    expect(tokens).toMatchObject({ token_type: 'DPoP' });
    expect(claimsOf(tokens.access_token!)).toMatchObject({ client_id: 'spa', cnf: { jkt } });
    // The first proof met the server's nonce challenge; the retry carried the nonce.
    expect(record.sent.filter((s) => s.path === '/oauth/token').map((s) => s.status)).toEqual([400, 200]);

    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: 'spa' });
    expect(refreshed.status).toBe(200);
    const rotated = (await refreshed.json()) as Record<string, string>;
    expect(rotated.token_type).toBe('DPoP');
    expect(claimsOf(rotated.access_token!).cnf).toEqual({ jkt });
    // The rotated refresh token without the key: refused.
    const stolen = await viaProxy(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token!, client_id: 'spa' }).toString(),
    });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });
});

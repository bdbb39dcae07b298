// Account management is for first-party clients: a third-party client's access token (consented for an API) is
// refused on the routes that read devices, end sessions or change the password, and /auth/me shows it no roles;
// the built-in client and clients registered --first-party keep every route. Real server, real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';
import { codeFor } from './sign-in.js';

const REDIRECT = 'http://127.0.0.1/callback';

describe('account routes and the client of the token', () => {
  let server: OAuthServer;
  let user: { id: string; username: string; password: string };
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    server = await startOAuthServer();
    user = await registerUser(server);
    await server.runtime.database.db
      .updateTable('tessera_users')
      .set({ roles: JSON.stringify(['admin']) })
      .where('id', '=', user.id)
      .execute();
    secrets.partner = (await addClient(server, { id: 'partner', redirectUris: [REDIRECT] })).secret as string;
    secrets.own = (await addClient(server, { id: 'own-app', redirectUris: [REDIRECT], firstParty: true })).secret as string;
  });
  afterAll(() => server?.close());

  /** An access token of `clientId`, through the sign-in form and /oauth/token (client_secret_post). */
  async function tokenOf(clientId: string, secret: string): Promise<string> {
    const { code, verifier } = await codeFor(server.url, clientId, REDIRECT, user);
    const answer = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: clientId,
        client_secret: secret,
      }).toString(),
    });
    const body = (await answer.json()) as { access_token?: string };
    expect(answer.status, JSON.stringify(body)).toBe(200);
    return body.access_token as string;
  }

  async function call(method: string, path: string, token: string, json?: object): Promise<{ status: number; body: Record<string, unknown> }> {
    const answer = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    const text = await answer.text();
    return { status: answer.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  it("refuses a third-party client's token on every route that manages the account, and ends nothing", async () => {
    const token = await tokenOf('partner', secrets.partner as string);
    const refusals = [
      await call('GET', '/auth/sessions', token),
      await call('DELETE', '/auth/sessions/00000000000000000000000000000000', token),
      await call('POST', '/auth/logout-all', token),
      await call('POST', '/auth/password', token, { current_password: user.password, new_password: 'another long passphrase 42' }),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe(403);
      expect(refusal.body.error).toBe('insufficient_scope');
    }
    // Still signed in: nothing above revoked the session, and the old password still works.
    expect((await call('GET', '/auth/me', token)).status).toBe(200);
    const login = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    expect(login.status).toBe(200);
  });

  it('shows a third-party client the user but not their roles on /auth/me', async () => {
    const me = await call('GET', '/auth/me', await tokenOf('partner', secrets.partner as string));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, username: user.username, roles: [] });
    const mine = await call('GET', '/auth/me', await tokenOf('own-app', secrets.own as string));
    expect(mine.body).toMatchObject({ id: user.id, roles: ['admin'] });
  });

  it('lets a client registered --first-party, and the built-in client, manage the account', async () => {
    const own = await tokenOf('own-app', secrets.own as string);
    const sessions = await call('GET', '/auth/sessions', own);
    expect(sessions.status).toBe(200);
    const login = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    const web = ((await login.json()) as { access_token: string }).access_token;
    expect((await call('GET', '/auth/sessions', web)).status).toBe(200);
    expect((await call('POST', '/auth/logout-all', own)).status).toBe(204);
  });
});

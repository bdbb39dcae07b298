// The OAuth surface driven by openid-client (npm), the other client the issue names: discovery, code + PKCE
// (`authorizationCodeGrant` checks `iss` and `state` itself), refresh with a DPoP key, revocation (RFC 7009) and
// introspection (RFC 7662) with client_secret_post, and each cross-client case on revoke and introspect. On SQLite
// and on Postgres (a schema of its own, no Redis), since clients, codes and proofs live in the database.
import { generateKeyPair as dpopKeyPair } from 'dpop';
import * as client from 'openid-client';
import pg from 'pg';
import { PG_BASE, postgresUrl, sqliteBackend, uniqueName, type Backend } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/harness.js';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';
import { authorizeUrl, newPkce, signInAt } from './sign-in.js';

const CLI_REDIRECT = 'http://127.0.0.1/callback';
const AUDIENCE = 'urn:tessera:api';

/** Runs `sql` as the administrator of the test database. */
async function admin(sql: string): Promise<void> {
  const connection = new pg.Client({ connectionString: PG_BASE });
  await connection.connect();
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

/** Postgres without Redis: a schema of this file's own, dropped afterwards. */
async function postgresOnly(): Promise<Backend> {
  const schema = uniqueName('tessera_oauth_oidc_');
  await admin(`create schema "${schema}"`);
  return { name: 'postgres', env: { TESSERA_DATABASE_URL: postgresUrl(schema) }, cleanup: () => admin(`drop schema if exists "${schema}" cascade`) };
}

describe.each([
  { label: 'SQLite', makeBackend: async (): Promise<Backend> => sqliteBackend() },
  { label: 'Postgres', makeBackend: postgresOnly },
])('the OAuth endpoints with openid-client ($label)', ({ makeBackend }) => {
  let backend: Backend;
  let server: OAuthServer;
  let user: { id: string; username: string; password: string };
  /** A public client (a CLI tool with a loopback redirect). */
  let cli: client.Configuration;
  /** Another public client. */
  let otherCli: client.Configuration;
  /** A resource server registered for the API's audience, and one for another audience. */
  let api: client.Configuration;
  let elsewhere: client.Configuration;

  const discover = async (id: string, auth: client.ClientAuth): Promise<client.Configuration> =>
    client.discovery(new URL(server.issuer), id, undefined, auth, { execute: [client.allowInsecureRequests], algorithm: 'oauth2' });

  beforeAll(async () => {
    backend = await makeBackend();
    server = await startOAuthServer({}, { backend });
    user = await registerUser(server);
    await addClient(server, { id: 'cli', public: true, firstParty: true, redirectUris: [CLI_REDIRECT] });
    await addClient(server, { id: 'other-cli', public: true, firstParty: true, redirectUris: [CLI_REDIRECT] });
    const rs = await addClient(server, { id: 'api', audiences: [AUDIENCE] });
    const rs2 = await addClient(server, { id: 'elsewhere', audiences: ['urn:another:api'] });
    cli = await discover('cli', client.None());
    otherCli = await discover('other-cli', client.None());
    api = await discover('api', client.ClientSecretPost(rs.secret));
    elsewhere = await discover('elsewhere', client.ClientSecretBasic(rs2.secret));
  });
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  /** Signs in through the form with the port the loopback redirect listens on (ignored by the match, RFC 8252 §7.3). */
  async function signIn(config: client.Configuration, DPoP?: client.DPoPHandle): Promise<client.TokenEndpointResponse> {
    const pkce = await newPkce();
    const redirect = 'http://127.0.0.1:53682/callback';
    const callback = await signInAt(server.url, authorizeUrl(server.url, config.clientMetadata().client_id, redirect, pkce), user);
    // openid-client retries a DPoP nonce challenge (RFC 9449 §8) by itself.
    return client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: pkce.verifier, expectedState: pkce.state },
      { redirect_uri: redirect },
      DPoP ? { DPoP } : {},
    );
  }

  it('discovers the issuer and redeems a code from a loopback redirect with PKCE, as a public client (none)', async () => {
    expect(cli.serverMetadata().issuer).toBe(server.issuer);
    const tokens = await signIn(cli);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.refresh_token).toBeTypeOf('string');
  });

  it('refreshes DPoP-bound tokens with its DPoP handle (nonce retried by the client)', async () => {
    const DPoP = client.getDPoPHandle(cli, await dpopKeyPair('ES256'));
    const tokens = await signIn(cli, DPoP);
    expect(tokens.token_type).toBe('dpop');
    const next = await client.refreshTokenGrant(cli, tokens.refresh_token as string, undefined, { DPoP });
    expect(next.token_type).toBe('dpop');
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('introspects: active with the RFC 7662 members for a registered audience, inactive for another', async () => {
    const tokens = await signIn(cli);
    const active = await client.tokenIntrospection(api, tokens.access_token);
    expect(active).toMatchObject({ active: true, client_id: 'cli', sub: user.id, iss: server.issuer, token_type: 'Bearer' });
    expect(active.exp).toBeTypeOf('number');
    expect(active.iat).toBeTypeOf('number');
    expect(active.aud).toBeDefined();
    expect(await client.tokenIntrospection(elsewhere, tokens.access_token)).toEqual({ active: false });
    expect(await client.tokenIntrospection(api, 'not-a-token')).toEqual({ active: false });
    // A refresh token is never active here: resource servers see access tokens only.
    expect(await client.tokenIntrospection(api, tokens.refresh_token as string)).toEqual({ active: false });
  });

  it('introspects a DPoP-bound token with its cnf and token_type DPoP', async () => {
    const tokens = await signIn(cli, client.getDPoPHandle(cli, await dpopKeyPair('ES256')));
    const active = await client.tokenIntrospection(api, tokens.access_token);
    expect(active.token_type).toBe('DPoP');
    expect((active.cnf as { jkt?: unknown } | undefined)?.jkt).toBeTypeOf('string');
  });

  it('refuses introspection to a public client (invalid_client, 401)', async () => {
    const tokens = await signIn(cli);
    const err = await client.tokenIntrospection(cli, tokens.access_token).catch((e: unknown) => e);
    expect(err).toMatchObject({ error: 'invalid_client', status: 401 });
  });

  it('revokes its own refresh token: the session ends, and the access token is inactive at once', async () => {
    const tokens = await signIn(cli);
    await client.tokenRevocation(cli, tokens.refresh_token as string, { token_type_hint: 'refresh_token' });
    expect(await client.tokenIntrospection(api, tokens.access_token)).toEqual({ active: false });
    const err = await client.refreshTokenGrant(cli, tokens.refresh_token as string).catch((e: unknown) => e);
    expect(err).toMatchObject({ error: 'invalid_grant', status: 400 });
    // Revoked already: 200 again, nothing to do (RFC 7009 §2.2).
    await client.tokenRevocation(cli, tokens.refresh_token as string);
  });

  it('revokes with an access token (whatever the hint says): the session ends', async () => {
    const tokens = await signIn(cli);
    await client.tokenRevocation(cli, tokens.access_token, { token_type_hint: 'refresh_token' });
    const err = await client.refreshTokenGrant(cli, tokens.refresh_token as string).catch((e: unknown) => e);
    expect(err).toMatchObject({ error: 'invalid_grant' });
  });

  it("answers 200 to a revocation of another client's token, and revokes nothing", async () => {
    const tokens = await signIn(cli);
    await client.tokenRevocation(otherCli, tokens.refresh_token as string);
    await client.tokenRevocation(api, tokens.access_token);
    await client.tokenRevocation(otherCli, 'garbage', { token_type_hint: 'unknown_hint' });
    // A tessera-web session (from /auth/login) is no OAuth client's to revoke either.
    const web = await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: user.password, transport: 'bearer' } });
    await client.tokenRevocation(cli, web.json.refresh_token as string);
    expect((await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: web.json.refresh_token } })).status).toBe(200);
    expect((await client.tokenIntrospection(api, tokens.access_token)).active).toBe(true);
    expect((await client.refreshTokenGrant(cli, tokens.refresh_token as string)).access_token).toBeTypeOf('string');
  });

  it('shows the access token of an ended session as inactive', async () => {
    const tokens = await signIn(cli);
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] as string, 'base64url').toString()) as { sid: string };
    await server.runtime.auth.revokeSession(claims.sid, 'logout');
    expect(await client.tokenIntrospection(api, tokens.access_token)).toEqual({ active: false });
  });
});

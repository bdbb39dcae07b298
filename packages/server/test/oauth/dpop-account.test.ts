// A DPoP-bound session through the /auth/* account routes: the login answer is the one the OpenAPI document
// describes (`token_type: DPoP`), and a password change opens the new session for the same client and key, so a
// bound session stays bound (a stolen token of it is still useless without the private key). Under TESSERA_DPOP=off,
// `dpop_jkt` at /oauth/authorize is ignored, so the code it gives can be redeemed. Proofs come from the `dpop`
// package, as a client library would make them.
import * as DPoP from 'dpop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, register, sqliteBackend, type Answer } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { call, startServer } from '../support/harness.js';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';
import { codeFor } from './sign-in.js';

const ISSUER = 'https://auth.example.com';

interface TokenSchema {
  properties: { token_type: { enum: string[] } };
}

describe('a DPoP-bound session at /auth/*', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ...backend.env, TESSERA_ISSUER: ISSUER });
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  /** A request to a token endpoint with a proof by `keys`, answering the nonce challenge once (RFC 9449 §8). */
  async function withNonce(keys: Awaited<ReturnType<typeof DPoP.generateKeyPair>>, path: string, json: unknown): Promise<Answer> {
    const htu = `${ISSUER}${path}`;
    const first = await call(server.url, 'POST', path, { json, headers: { dpop: await DPoP.generateProof(keys, htu, 'POST') } });
    if (first.code !== 'use_dpop_nonce') return first;
    const nonce = first.header('dpop-nonce') as string;
    return call(server.url, 'POST', path, { json, headers: { dpop: await DPoP.generateProof(keys, htu, 'POST', nonce) } });
  }

  it('answers a bound login with token_type DPoP, which the OpenAPI document lists', async () => {
    const user = await register(server.url);
    const keys = await DPoP.generateKeyPair('ES256');
    const login = await withNonce(keys, '/auth/login', { username: user.username, password: PASSWORD, transport: 'bearer' });
    expect(login.status, login.text).toBe(200);
    expect(login.json.token_type).toBe('DPoP');
    const doc = (await call(server.url, 'GET', '/openapi.json')).json as {
      paths: Record<string, { post: { responses: Record<string, { content: Record<string, { schema: TokenSchema }> }> } }>;
    };
    for (const path of ['/auth/login', '/auth/refresh', '/auth/password'])
      expect(doc.paths[path]?.post.responses['200']?.content['application/json']?.schema.properties.token_type.enum, path).toContain('DPoP');
  });

  it('keeps the client and the DPoP key across a password change: the new session is bound to the same key', async () => {
    const user = await register(server.url);
    const keys = await DPoP.generateKeyPair('ES256');
    const login = await withNonce(keys, '/auth/login', { username: user.username, password: PASSWORD, transport: 'bearer' });
    expect(login.json.token_type).toBe('DPoP');
    const access = login.json.access_token as string;
    const jkt = await DPoP.calculateThumbprint(keys.publicKey);

    const newPassword = 'a brand new passphrase 42';
    const proof = await DPoP.generateProof(keys, `${ISSUER}/auth/password`, 'POST', undefined, access);
    const changed = await call(server.url, 'POST', '/auth/password', {
      json: { current_password: PASSWORD, new_password: newPassword },
      authorization: `DPoP ${access}`,
      headers: { dpop: proof },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json.token_type).toBe('DPoP');

    const claims = JSON.parse(Buffer.from((changed.json.access_token as string).split('.')[1] as string, 'base64url').toString()) as {
      sid: string;
      client_id: string;
      cnf?: { jkt: string };
    };
    expect([claims.client_id, claims.cnf?.jkt]).toEqual(['tessera-web', jkt]);
    const session = await server.runtime.auth.getSession(claims.sid);
    expect([session?.clientId, session?.jkt]).toEqual(['tessera-web', jkt]);

    // The new refresh token is bound: without a proof it is refused, with a proof by the key it rotates.
    const refresh = changed.json.refresh_token as string;
    const bare = await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: refresh } });
    expect([bare.status, bare.code]).toEqual([400, 'invalid_dpop_proof']);
    const rotated = await withNonce(keys, '/auth/refresh', { refresh_token: refresh });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.json.token_type).toBe('DPoP');
  });
});

describe('TESSERA_DPOP=off and dpop_jkt', () => {
  const REDIRECT = 'http://127.0.0.1/callback';
  let server: OAuthServer;
  beforeAll(async () => {
    server = await startOAuthServer({ TESSERA_DPOP: 'off' });
    await addClient(server, { id: 'native', public: true, firstParty: true, redirectUris: [REDIRECT] });
  });
  afterAll(() => server?.close());

  it('ignores dpop_jkt at /oauth/authorize (RFC 6749 §3.1), so the code is redeemed without a proof, as a Bearer pair', async () => {
    const user = await registerUser(server);
    const jkt = await DPoP.calculateThumbprint((await DPoP.generateKeyPair('ES256')).publicKey);
    const { code, verifier } = await codeFor(server.url, 'native', REDIRECT, user, { dpop_jkt: jkt });
    const answer = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'authorization_code', client_id: 'native', code, redirect_uri: REDIRECT, code_verifier: verifier },
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.token_type).toBe('Bearer');
  });
});

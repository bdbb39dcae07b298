// The token endpoint driven by a real OAuth client, oauth4webapi (npm): discovery, code + PKCE through the sign-in
// form, refresh with rotation, DPoP-bound tokens (its DPoP handle, nonce challenge included, and proofs from the
// `dpop` package), RFC 9068 validation with its own `validateJwtAccessToken`, and refresh-token reuse ending the
// session, through /oauth/token and through /auth/refresh alike.
import { calculateThumbprint, generateKeyPair as dpopKeyPair, generateProof } from 'dpop';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/harness.js';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';
import { codeFor } from './sign-in.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const REDIRECT = 'https://app.example/callback';
const AUDIENCE = 'urn:tessera:api';

describe('/oauth/token with oauth4webapi', () => {
  let server: OAuthServer;
  let as: oauth.AuthorizationServer;
  let user: { id: string; username: string; password: string };
  const app: oauth.Client = { client_id: 'app' };
  let appAuth: oauth.ClientAuth;
  let appSecret: string;
  const other: oauth.Client = { client_id: 'other-app' };
  let otherAuth: oauth.ClientAuth;

  beforeAll(async () => {
    server = await startOAuthServer();
    user = await registerUser(server);
    const added = await addClient(server, { id: 'app', redirectUris: [REDIRECT], firstParty: true });
    appSecret = added.secret as string;
    appAuth = oauth.ClientSecretBasic(appSecret);
    const second = await addClient(server, { id: 'other-app', redirectUris: [REDIRECT] });
    otherAuth = oauth.ClientSecretPost(second.secret as string);
    const issuer = new URL(server.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  afterAll(() => server?.close());

  /** Code + PKCE through the sign-in form, redeemed by oauth4webapi (with a DPoP handle when given). */
  async function signIn(
    client: oauth.Client = app,
    auth: oauth.ClientAuth = appAuth,
    options: { DPoP?: oauth.DPoPHandle; extra?: Record<string, string> } = {},
  ): Promise<oauth.TokenEndpointResponse> {
    const { callback, verifier, pkce } = await codeFor(server.url, client.client_id, REDIRECT, user, options.extra);
    const params = oauth.validateAuthResponse(as, client, callback, pkce.state);
    const redeem = async (): Promise<oauth.TokenEndpointResponse> =>
      oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, {
          ...insecure,
          ...(options.DPoP ? { DPoP: options.DPoP } : {}),
        }),
      );
    try {
      return await redeem();
    } catch (err) {
      // RFC 9449 §8: the first proof has no nonce; the handle keeps the one the 400 sent, and the code is not spent.
      if (!oauth.isDPoPNonceError(err)) throw err;
      return redeem();
    }
  }

  async function refreshWith(
    client: oauth.Client,
    auth: oauth.ClientAuth,
    token: string,
    DPoP?: oauth.DPoPHandle,
  ): Promise<oauth.TokenEndpointResponse> {
    const run = async (): Promise<oauth.TokenEndpointResponse> =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, auth, token, { ...insecure, ...(DPoP ? { DPoP } : {}) }),
      );
    try {
      return await run();
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      return run();
    }
  }

  /** The OAuth error a refused request answered. */
  async function refusal(request: Promise<unknown>): Promise<{ error: string; status: number }> {
    const err = await request.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(oauth.ResponseBodyError);
    const { error, status } = err as oauth.ResponseBodyError;
    return { error, status };
  }

  it('discovers the server: every endpoint under the issuer, S256 only, DPoP algorithms, iss in responses', () => {
    expect(as.issuer).toBe(server.issuer);
    expect(as.token_endpoint).toBe(`${server.issuer}/oauth/token`);
    expect(as.revocation_endpoint).toBe(`${server.issuer}/oauth/revoke`);
    expect(as.introspection_endpoint).toBe(`${server.issuer}/oauth/introspect`);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
  });

  it('redeems a code (PKCE, Basic with form-urlencoded credentials) for a Bearer pair that meets RFC 9068', async () => {
    const tokens = await signIn();
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.expires_in).toBeGreaterThan(0);
    // oauth4webapi's own RFC 9068 validation: typ at+jwt, iss, aud, exp, iat, jti, sub, client_id; signature from the JWKS.
    const request = new Request('https://api.example/things', { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, AUDIENCE, insecure);
    expect(claims).toMatchObject({ iss: server.issuer, sub: user.id, client_id: 'app' });
    expect(claims.jti).toBeTypeOf('string');
  });

  it('rotates the refresh token; the spent one (past the grace) revokes the session: invalid_grant from then on', async () => {
    const first = await signIn();
    const second = await refreshWith(app, appAuth, first.refresh_token as string);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const third = await refreshWith(app, appAuth, second.refresh_token as string);
    // `first` is two rotations old: neither current nor the grace window's previous one. Reuse: the session ends.
    expect(await refusal(refreshWith(app, appAuth, first.refresh_token as string))).toEqual({ error: 'invalid_grant', status: 400 });
    expect(await refusal(refreshWith(app, appAuth, third.refresh_token as string))).toEqual({ error: 'invalid_grant', status: 400 });
  });

  it('the same reuse detection at /auth/refresh: one rotation function for both endpoints', async () => {
    const login = await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: user.password, transport: 'bearer' } });
    const t0 = login.json.refresh_token as string;
    const t1 = (await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: t0 } })).json.refresh_token as string;
    const t2 = (await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: t1 } })).json.refresh_token as string;
    const reused = await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: t0 } });
    expect([reused.status, reused.code]).toEqual([401, 'refresh_token_reused']);
    expect((await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: t2 } })).code).toBe('token_revoked');
  });

  it('binds the tokens to a DPoP key (nonce challenge first); rotation needs a proof by that key, never rebinds', async () => {
    const keys = await dpopKeyPair('ES256');
    const DPoP = oauth.DPoP(app, keys);
    const tokens = await signIn(app, appAuth, { DPoP });
    expect(tokens.token_type).toBe('dpop');

    // The access token carries cnf.jkt: a resource request needs the DPoP scheme and a proof by the key (dpop package).
    const url = 'https://api.example/things';
    const proof = await generateProof(keys, url, 'GET', undefined, tokens.access_token);
    const resource = new Request(url, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } });
    const claims = await oauth.validateJwtAccessToken(as, resource, AUDIENCE, { ...insecure, requireDPoP: true });
    expect(claims.cnf?.jkt).toBeTypeOf('string');

    // Without a proof, or with another key, the bound refresh token is refused and nothing rotates.
    expect(await refusal(refreshWith(app, appAuth, tokens.refresh_token as string))).toEqual({ error: 'invalid_dpop_proof', status: 400 });
    const thief = oauth.DPoP(app, await dpopKeyPair('ES256'));
    expect(await refusal(refreshWith(app, appAuth, tokens.refresh_token as string, thief))).toEqual({ error: 'invalid_dpop_proof', status: 400 });
    const next = await refreshWith(app, appAuth, tokens.refresh_token as string, DPoP);
    expect(next.token_type).toBe('dpop');
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('gives the grace path the same rules: the previous token again within the grace gets tokens only with a proof by the key', async () => {
    const keys = await dpopKeyPair('ES256');
    const DPoP = oauth.DPoP(app, keys);
    const tokens = await signIn(app, appAuth, { DPoP });
    const spent = tokens.refresh_token as string;
    await refreshWith(app, appAuth, spent, DPoP);
    // Within the grace window the spent token still answers (two tabs are not a thief), but never to another key.
    const thief = oauth.DPoP(app, await dpopKeyPair('ES256'));
    expect(await refusal(refreshWith(app, appAuth, spent, thief))).toEqual({ error: 'invalid_dpop_proof', status: 400 });
    expect(await refusal(refreshWith(app, appAuth, spent))).toEqual({ error: 'invalid_dpop_proof', status: 400 });
    expect((await refreshWith(app, appAuth, spent, DPoP)).token_type).toBe('dpop');
  });

  it('takes proofs made by the dpop package: the nonce challenge, then a refresh; a replayed proof or another URL is refused', async () => {
    const keys = await dpopKeyPair('ES256');
    const tokens = await signIn(app, appAuth, { DPoP: oauth.DPoP(app, keys) });
    const endpoint = as.token_endpoint as string;
    const form = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string };
    const auth = { authorization: `Basic ${Buffer.from(`app:${appSecret}`).toString('base64')}` };
    const post = (proof: string) => call(server.url, 'POST', '/oauth/token', { form, headers: { ...auth, dpop: proof } });

    // No nonce yet: 400 use_dpop_nonce, and the nonce to use (RFC 9449 §8).
    const challenge = await post(await generateProof(keys, endpoint, 'POST'));
    expect([challenge.status, challenge.json.error]).toEqual([400, 'use_dpop_nonce']);
    const nonce = challenge.header('dpop-nonce') as string;
    expect(nonce).toBeTruthy();
    // Another URL or method: the proof does not match this request.
    const elsewhere = await post(await generateProof(keys, `${server.url}/auth/refresh`, 'POST', nonce));
    expect([elsewhere.status, elsewhere.json.error]).toEqual([400, 'invalid_dpop_proof']);
    const proof = await generateProof(keys, endpoint, 'POST', nonce);
    const ok = await post(proof);
    expect([ok.status, ok.json.token_type]).toEqual([200, 'DPoP']);
    // The same proof again: a replay (its jti was seen), refused before the token is looked at.
    const replay = await call(server.url, 'POST', '/oauth/token', {
      form: { ...form, refresh_token: ok.json.refresh_token as string },
      headers: { ...auth, dpop: proof },
    });
    expect([replay.status, replay.json.error]).toEqual([400, 'invalid_dpop_proof']);
  });

  it('leaves an unbound session unbound when a later refresh sends a proof', async () => {
    const tokens = await signIn();
    const next = await refreshWith(app, appAuth, tokens.refresh_token as string, oauth.DPoP(app, await dpopKeyPair('ES256')));
    expect(next.token_type).toBe('bearer');
  });

  it('carries the scope granted, and refuses a refresh that asks for another', async () => {
    const tokens = await signIn(app, appAuth, { extra: { scope: 'read write' } });
    expect(tokens.scope).toBe('read write');
    const next = await refreshWith(app, appAuth, tokens.refresh_token as string);
    expect(next.scope).toBe('read write');
    const wider = oauth.refreshTokenGrantRequest(as, app, appAuth, next.refresh_token as string, {
      ...insecure,
      additionalParameters: { scope: 'admin' },
    });
    expect(await refusal(wider.then((r) => oauth.processRefreshTokenResponse(as, app, r)))).toEqual({ error: 'invalid_scope', status: 400 });
  });

  it("refuses another client's refresh token with invalid_grant and leaves that session alone", async () => {
    const tokens = await signIn();
    expect(await refusal(refreshWith(other, otherAuth, tokens.refresh_token as string))).toEqual({ error: 'invalid_grant', status: 400 });
    // The owner still rotates it: the refusal revoked nothing.
    const next = await refreshWith(app, appAuth, tokens.refresh_token as string);
    expect(next.access_token).toBeTypeOf('string');
  });

  it("refuses a tessera-web session at /oauth/token, and an OAuth client's session at /auth/refresh, revoking neither", async () => {
    const login = await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: user.password, transport: 'bearer' } });
    const web = login.json.refresh_token as string;
    expect(await refusal(refreshWith(app, appAuth, web))).toEqual({ error: 'invalid_grant', status: 400 });
    expect((await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: web } })).status).toBe(200);

    const tokens = await signIn();
    const atWeb = await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
    expect([atWeb.status, atWeb.code]).toEqual([401, 'token_invalid']);
    // /auth/logout ends tessera-web sessions only: an OAuth client's token ends nothing there.
    const logout = await call(server.url, 'POST', '/auth/logout', { json: { refresh_token: tokens.refresh_token } });
    expect([logout.status, logout.code]).toEqual([401, 'token_invalid']);
    expect((await refreshWith(app, appAuth, tokens.refresh_token as string)).access_token).toBeTypeOf('string');
  });

  it('refuses a code redeemed twice, and the second use revokes the session the first opened', async () => {
    const { callback, verifier, pkce } = await codeFor(server.url, 'app', REDIRECT, user);
    const params = oauth.validateAuthResponse(as, app, callback, pkce.state);
    const redeem = async (): Promise<oauth.TokenEndpointResponse> =>
      oauth.processAuthorizationCodeResponse(
        as,
        app,
        await oauth.authorizationCodeGrantRequest(as, app, appAuth, params, REDIRECT, verifier, insecure),
      );
    const tokens = await redeem();
    expect(await refusal(redeem())).toEqual({ error: 'invalid_grant', status: 400 });
    expect(await refusal(refreshWith(app, appAuth, tokens.refresh_token as string))).toEqual({ error: 'invalid_grant', status: 400 });
  });

  it("refuses a code with another client's credentials, another redirect_uri or the wrong verifier (invalid_grant)", async () => {
    const a = await codeFor(server.url, 'app', REDIRECT, user);
    const asOther = oauth.authorizationCodeGrantRequest(
      as,
      other,
      otherAuth,
      oauth.validateAuthResponse(as, other, a.callback, a.pkce.state),
      REDIRECT,
      a.verifier,
      insecure,
    );
    expect(await refusal(asOther.then((r) => oauth.processAuthorizationCodeResponse(as, other, r)))).toEqual({ error: 'invalid_grant', status: 400 });

    const b = await codeFor(server.url, 'app', REDIRECT, user);
    const params = oauth.validateAuthResponse(as, app, b.callback, b.pkce.state);
    const elsewhere = oauth.authorizationCodeGrantRequest(as, app, appAuth, params, 'https://app.example/other', b.verifier, insecure);
    expect(await refusal(elsewhere.then((r) => oauth.processAuthorizationCodeResponse(as, app, r)))).toEqual({ error: 'invalid_grant', status: 400 });

    const c = await codeFor(server.url, 'app', REDIRECT, user);
    const wrong = oauth.authorizationCodeGrantRequest(
      as,
      app,
      appAuth,
      oauth.validateAuthResponse(as, app, c.callback, c.pkce.state),
      REDIRECT,
      oauth.generateRandomCodeVerifier(),
      insecure,
    );
    expect(await refusal(wrong.then((r) => oauth.processAuthorizationCodeResponse(as, app, r)))).toEqual({ error: 'invalid_grant', status: 400 });
  });

  it('redeems a code bound by dpop_jkt only with a proof by that key (RFC 9449 §10)', async () => {
    const keys = await dpopKeyPair('ES256');
    const dpopJkt = await calculateThumbprint(keys.publicKey);
    /** Redeems a fresh code bound to `keys` with a proof made by `handle` (retrying once for the nonce). */
    const redeemWith = async (handle: oauth.DPoPHandle): Promise<oauth.TokenEndpointResponse> => {
      const bound = await codeFor(server.url, 'app', REDIRECT, user, { dpop_jkt: dpopJkt });
      const params = oauth.validateAuthResponse(as, app, bound.callback, bound.pkce.state);
      const run = async (): Promise<oauth.TokenEndpointResponse> =>
        oauth.processAuthorizationCodeResponse(
          as,
          app,
          await oauth.authorizationCodeGrantRequest(as, app, appAuth, params, REDIRECT, bound.verifier, { ...insecure, DPoP: handle }),
        );
      try {
        return await run();
      } catch (err) {
        if (!oauth.isDPoPNonceError(err)) throw err;
        return run();
      }
    };
    expect(await refusal(redeemWith(oauth.DPoP(app, await dpopKeyPair('ES256'))))).toEqual({ error: 'invalid_grant', status: 400 });
    expect((await redeemWith(oauth.DPoP(app, keys))).token_type).toBe('dpop');
  });
});

// DPoP at guarded routes over real sockets, on every adapter (test/conformance/apps.ts): a bound token with a
// good proof passes; as Bearer it is 401 invalid_token; a wrong ath, htu or htm, a replay, two DPoP headers
// are 401 with the DPoP challenge (RFC 9449 §7.1). Each adapter must report the request path (`path` fact)
// for htu to be checked at all, and the scheme and Host for the request's own origin.
import { rawRequest, send, STACK_TRACE, type RunningApp } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTessera, generateKey, generateRefreshKey, jwkThumbprint, type DpopOptions, type Tessera } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { ADAPTERS } from '../conformance/apps.js';
import { makeProof, proofKey } from '../support/dpop-proof.js';

const ISSUER = 'https://api.example';
const key = proofKey('ES256');
const jkt = jwkThumbprint(key.jwk);
const CHALLENGE = /^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="EdDSA Ed25519 ES256 ES384 RS256 PS256"$/;

async function tesseraFor(issuer: string, dpop: DpopOptions = {}): Promise<Tessera> {
  return createTessera({
    keys: await generateKey('EdDSA'),
    refreshKey: await generateRefreshKey(),
    issuer,
    sessions: { store: memoryStore() },
    dpop,
  });
}

describe.each(ADAPTERS.map((a) => [a.name, a] as const))('DPoP at guarded routes on %s', (_, adapter) => {
  let auth: Tessera;
  let app: RunningApp;
  let own: Tessera;
  let ownApp: RunningApp;
  let nonced: Tessera;
  let noncedApp: RunningApp;
  let bound: string;
  let bearer: string;

  beforeAll(async () => {
    auth = await tesseraFor(ISSUER);
    own = await tesseraFor('urn:tessera');
    app = await adapter.make(auth, {});
    ownApp = await adapter.make(own, {});
    nonced = await tesseraFor(ISSUER, { nonceSecret: 'the nonce secret of the adapter DPoP suite', resourceNonce: true });
    noncedApp = await adapter.make(nonced, {});
    bound = (await auth.openSession({ sub: 'ada', jkt })).access.token;
    bearer = (await auth.openSession({ sub: 'bob' })).access.token;
  });
  afterAll(async () => {
    await app?.close();
    await ownApp?.close();
    await noncedApp?.close();
  });

  const proof = (htm: string, htu: string, token: string = bound) => makeProof(key, { htm, htu, accessToken: token });
  const sane = (text: string) => expect(text).not.toMatch(STACK_TRACE);

  it('a bound token with a good proof: 200, on GET and POST, and with a query string', async () => {
    for (const [method, path, htu] of [
      ['GET', '/me', `${ISSUER}/me`],
      ['POST', '/me', `${ISSUER}/me`],
      ['GET', '/me?x=1', `${ISSUER}/me`],
    ] as const) {
      const answer = await send(app.url, path, {
        method,
        authorization: `DPoP ${bound}`,
        headers: { DPoP: proof(method, htu) },
        ...(method === 'POST' ? { json: {} } : {}),
      });
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBe(200);
      expect(answer.json.sub).toBe('ada');
    }
  });

  it("checks htu against the request's own scheme and Host when the issuer is not a URL", async () => {
    const answer = await send(ownApp.url, '/me', { authorization: `DPoP ${(await own.openSession({ sub: 'ada', jkt })).access.token}`, headers: {} });
    expect(answer.status).toBe(401);
    const token = (await own.openSession({ sub: 'ada', jkt })).access.token;
    const ok = await send(ownApp.url, '/me', { authorization: `DPoP ${token}`, headers: { DPoP: proof('GET', `${ownApp.url}/me`, token) } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('the bound token as Bearer: 401 invalid_token', async () => {
    const answer = await send(app.url, '/me', { bearer: bound, headers: { DPoP: proof('GET', `${ISSUER}/me`) } });
    expect(answer.status).toBe(401);
    expect(answer.code).toBe('token_invalid');
    expect(answer.header('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    sane(answer.text);
  });

  it('an unbound token with the DPoP scheme: 401; as Bearer: 200', async () => {
    expect((await send(app.url, '/me', { authorization: `DPoP ${bearer}`, headers: { DPoP: proof('GET', `${ISSUER}/me`, bearer) } })).status).toBe(
      401,
    );
    expect((await send(app.url, '/me', { bearer })).status).toBe(200);
  });

  it.each([
    ['no proof', () => ({})],
    ['a wrong ath', () => ({ DPoP: proof('GET', `${ISSUER}/me`, bearer) })],
    ['a wrong htu', () => ({ DPoP: proof('GET', `${ISSUER}/admin`) })],
    ['a wrong htm', () => ({ DPoP: proof('POST', `${ISSUER}/me`) })],
  ])('%s: 401 invalid_dpop_proof with the DPoP challenge', async (_name, headers) => {
    const answer = await send(app.url, '/me', { authorization: `DPoP ${bound}`, headers: headers() });
    expect(answer.status).toBe(401);
    expect(answer.code).toBe('invalid_dpop_proof');
    expect(answer.header('www-authenticate')).toMatch(CHALLENGE);
    expect(answer.header('cache-control')).toBe('no-store');
    sane(answer.text);
  });

  it('resourceNonce: 401 use_dpop_nonce with a DPoP-Nonce header, and the retry with that nonce passes', async () => {
    const token = (await nonced.openSession({ sub: 'ada', jkt })).access.token;
    const first = await send(noncedApp.url, '/me', { authorization: `DPoP ${token}`, headers: { DPoP: proof('GET', `${ISSUER}/me`, token) } });
    expect(first.status).toBe(401);
    expect(first.code).toBe('use_dpop_nonce');
    expect(first.header('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce", error_description="[^"]+", algs="[^"]+"$/);
    const nonce = first.header('dpop-nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const retry = makeProof(key, { htm: 'GET', htu: `${ISSUER}/me`, accessToken: token, nonce: nonce as string });
    const second = await send(noncedApp.url, '/me', { authorization: `DPoP ${token}`, headers: { DPoP: retry } });
    expect(second.status, second.text).toBe(200);
  });

  it('a replayed proof: 401', async () => {
    const once = proof('GET', `${ISSUER}/me`);
    expect((await send(app.url, '/me', { authorization: `DPoP ${bound}`, headers: { DPoP: once } })).status).toBe(200);
    const again = await send(app.url, '/me', { authorization: `DPoP ${bound}`, headers: { DPoP: once } });
    expect(again.status).toBe(401);
    expect(again.header('www-authenticate')).toMatch(CHALLENGE);
  });

  it('two DPoP header lines (a raw socket; fetch would merge them): 401, never a 500', async () => {
    const answer = await rawRequest(app.url, 'GET /me HTTP/1.1', [
      ['Authorization', `DPoP ${bound}`],
      ['DPoP', proof('GET', `${ISSUER}/me`)],
      ['DPoP', proof('GET', `${ISSUER}/me`)],
    ]);
    expect(answer.status).toBe(401);
    expect(answer.code).toBe('invalid_dpop_proof');
    sane(answer.text);
  });
});

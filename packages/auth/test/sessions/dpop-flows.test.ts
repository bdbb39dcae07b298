// The login and refresh handlers with DPoP proofs made by the `dpop` package (a real RFC 9449 client):
// a login with a proof binds the session for good; a refresh, rotation or grace replay alike, needs a
// proof by that key (400 invalid_dpop_proof otherwise) and never binds an unbound session.
import { Buffer } from 'node:buffer';
import { calculateThumbprint, generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { beforeAll, describe, expect, it } from 'vitest';
import { handleLogin, handleRefresh } from '../../src/core/flows.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import type { TesseraOptions } from '../../src/core/config/config.js';
import type { HttpResult } from '../../src/core/transport/error-response.js';
import type { AuthRequest } from '../../src/core/transport/request.js';
import { memoryStore } from '../../src/stores/memory.js';

const ORIGIN = 'https://id.example';
let keys: Key;
let refreshKey: Key;
let holder: KeyPair;
let thief: KeyPair;
let holderJkt: string;
beforeAll(async () => {
  [keys, refreshKey, holder, thief] = await Promise.all([
    generateKey('EdDSA'),
    generateRefreshKey(),
    generateKeyPair('ES256'),
    generateKeyPair('ES256'),
  ]);
  holderJkt = await calculateThumbprint(holder.publicKey);
});

function setup(dpop: TesseraOptions['dpop'] = {}): { auth: Tessera; store: ReturnType<typeof memoryStore> } {
  const store = memoryStore();
  return { auth: createTessera({ keys, refreshKey, issuer: ORIGIN, dpop, sessions: { store } }), store };
}

const check = () => ({ sub: 'ada' });

/** A POST to `path` of the issuer, with a fresh proof by `key` when given (a new jti each time). */
async function post(path: string, body: Record<string, unknown>, key?: KeyPair, nonce?: string, more: readonly string[] = []): Promise<AuthRequest> {
  const headers = ['Host', 'id.example', 'Content-Type', 'application/json', ...more];
  if (key !== undefined) headers.push('DPoP', await generateProof(key, ORIGIN + path, 'POST', nonce));
  return { method: 'POST', headers, body, path, protocol: 'https' };
}

const json = (result: HttpResult): Record<string, unknown> => JSON.parse(result.body ?? '{}') as Record<string, unknown>;
const claims = (token: unknown): Record<string, unknown> =>
  JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('handleLogin and handleRefresh with DPoP', () => {
  it('binds a login made with a proof: token_type DPoP, cnf.jkt on both tokens, the jkt in the session', async () => {
    const { auth, store } = setup();
    const result = await handleLogin(auth, await post('/auth/login', {}, holder), check);
    expect(result.status).toBe(200);
    const body = json(result);
    expect(body.token_type).toBe('DPoP');
    expect(claims(body.access_token)).toMatchObject({ cnf: { jkt: holderJkt }, client_id: 'tessera-web' });
    expect(claims(body.refresh_token)).toMatchObject({ cnf: { jkt: holderJkt }, client_id: 'tessera-web' });
    expect(await store.get(String(claims(body.access_token).sid))).toMatchObject({ jkt: holderJkt, clientId: 'tessera-web' });
  });

  it('rotates and replays a bound refresh token only with a proof by its key', async () => {
    const { auth, store } = setup();
    const first = json(await handleLogin(auth, await post('/auth/login', {}, holder), check));
    const token = first.refresh_token;
    const sid = String(claims(token).sid);

    for (const key of [undefined, thief]) {
      const refused = await handleRefresh(auth, await post('/auth/refresh', { refresh_token: token }, key));
      expect([refused.status, json(refused).error]).toEqual([400, 'invalid_dpop_proof']);
    }
    expect(await store.get(sid)).toMatchObject({ currentJti: claims(token).jti, revokedAt: null });

    const rotated = await handleRefresh(auth, await post('/auth/refresh', { refresh_token: token }, holder));
    expect(rotated.status).toBe(200);
    expect(json(rotated)).toMatchObject({ token_type: 'DPoP' });
    const next = json(rotated).refresh_token;
    expect(claims(next)).toMatchObject({ cnf: { jkt: holderJkt } });

    // The grace path: the previous token, stolen, is worth nothing without the key.
    for (const key of [undefined, thief]) {
      const refused = await handleRefresh(auth, await post('/auth/refresh', { refresh_token: token }, key));
      expect([refused.status, json(refused).error]).toEqual([400, 'invalid_dpop_proof']);
    }
    const replay = await handleRefresh(auth, await post('/auth/refresh', { refresh_token: token }, holder));
    expect([replay.status, json(replay).refresh_token]).toEqual([200, next]);
    expect(await store.get(sid)).toMatchObject({ revokedAt: null, jkt: holderJkt });
  });

  it('never binds a session opened without a proof, even when a refresh sends one', async () => {
    const { auth, store } = setup();
    const first = json(await handleLogin(auth, await post('/auth/login', {}), check));
    expect(first.token_type).toBe('Bearer');
    const result = await handleRefresh(auth, await post('/auth/refresh', { refresh_token: first.refresh_token }, holder));
    expect(result.status).toBe(200);
    expect(json(result).token_type).toBe('Bearer');
    expect(claims(json(result).access_token)).not.toHaveProperty('cnf');
    expect((await store.get(String(claims(first.refresh_token).sid)))?.jkt).toBeNull();
  });

  it("refuses a login without a proof under mode 'required', and asks for the nonce when one is configured", async () => {
    const required = setup({ mode: 'required' });
    const refused = await handleLogin(required.auth, await post('/auth/login', {}), check);
    expect([refused.status, json(refused).error]).toEqual([400, 'invalid_dpop_proof']);

    const { auth } = setup({ nonceSecret: 'n'.repeat(32) });
    const challenged = await handleLogin(auth, await post('/auth/login', {}, holder), check);
    expect([challenged.status, json(challenged).error]).toEqual([400, 'use_dpop_nonce']);
    const nonce = challenged.headers['dpop-nonce'];
    expect(typeof nonce).toBe('string');
    const ok = await handleLogin(auth, await post('/auth/login', {}, holder, String(nonce)), check);
    expect([ok.status, json(ok).token_type]).toEqual([200, 'DPoP']);
  });

  // A cookie-transport access token sits in an HttpOnly cookie: no script can send it as `Authorization: DPoP`,
  // so a bound one would be refused on every guarded route. Such a login is refused, never silently left unbound.
  it('refuses a cookie-transport login with a proof (or under required) with 400 invalid_request, opening no session', async () => {
    for (const dpop of [{}, { mode: 'required' as const }]) {
      const { auth, store } = setup(dpop);
      const login = await post('/auth/login', { transport: 'cookie' }, holder, undefined, ['Origin', ORIGIN]);
      const refused = await handleLogin(auth, login, check, { transports: ['cookie', 'hybrid'] });
      expect([refused.status, json(refused).error]).toEqual([400, 'invalid_request']);
      expect(String(json(refused).message)).toMatch(/cookie transport.*DPoP.*hybrid or bearer/);
      expect(refused.headers['set-cookie']).toBeUndefined();
      expect(await store.listByUser('ada', Date.now())).toEqual([]);
    }
    // Without a proof (mode 'allowed') the cookie transport works as before, unbound.
    const { auth } = setup();
    const plain = await post('/auth/login', { transport: 'cookie' }, undefined, undefined, ['Origin', ORIGIN]);
    const ok = await handleLogin(auth, plain, check, { transports: ['cookie'] });
    expect([ok.status, json(ok).token_type]).toEqual([200, 'Bearer']);
  });

  it('binds a hybrid login: the bound refresh cookie rotates with a proof by the key, and not without', async () => {
    const { auth } = setup();
    const login = await post('/auth/login', { transport: 'hybrid' }, holder, undefined, ['Origin', ORIGIN]);
    const result = await handleLogin(auth, login, check, { transports: ['hybrid'] });
    expect([result.status, json(result).token_type]).toEqual([200, 'DPoP']);
    expect(claims(json(result).access_token)).toMatchObject({ cnf: { jkt: holderJkt } });
    const cookies = ([] as string[]).concat(result.headers['set-cookie'] ?? []);
    const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
    const csrf = String(json(result).csrf_token);
    const refresh = async (key?: KeyPair) => {
      return handleRefresh(auth, await post('/auth/refresh', {}, key, undefined, ['Cookie', cookie, 'Origin', ORIGIN, 'X-CSRF-Token', csrf]));
    };
    const stolen = await refresh(thief);
    expect([stolen.status, json(stolen).error]).toEqual([400, 'invalid_dpop_proof']);
    const rotated = await refresh(holder);
    expect([rotated.status, json(rotated).token_type]).toEqual([200, 'DPoP']);
  });

  it("ignores proofs under mode 'off': tokens stay bearer tokens", async () => {
    const { auth } = setup({ mode: 'off' });
    const result = await handleLogin(auth, await post('/auth/login', {}, holder), check);
    expect(json(result).token_type).toBe('Bearer');
  });
});

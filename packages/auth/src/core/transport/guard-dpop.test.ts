// The guard's DPoP rules (RFC 9449 §7.1) over a real Tessera: bound tokens need the DPoP scheme and a
// proof by their key; refusals render as 401 with a DPoP challenge.
import { Buffer } from 'node:buffer';
import { patch, sign } from '@tessera/test-kit';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { TesseraError } from '../errors.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import { createTessera } from '../tessera.js';
import { jwkThumbprint } from '../dpop/thumbprint.js';
import { makeProof, proofKey } from '../../../test/support/dpop-proof.js';
import { errorResult } from './error-response.js';
import type { AuthRequest } from './request.js';

const NOW = Date.UTC(2030, 0, 1, 12);
const signingKey = await generateKey('EdDSA');
const refreshKey = await generateRefreshKey();
const auth = createTessera({
  keys: signingKey,
  refreshKey,
  issuer: 'https://api.example',
  clock: fixedClock(NOW),
  dpop: { algorithms: ['ES256', 'EdDSA'] },
});
const key = proofKey('ES256');
const jkt = jwkThumbprint(key.jwk);
const bound = auth.createTokenPair({ sub: 'alice', jkt }).access.token;
const bearer = auth.createTokenPair({ sub: 'bob' }).access.token;

function get(authorization: string, proofs: string[] = [], path = '/api/me', method = 'GET'): AuthRequest {
  return { method, headers: ['Authorization', authorization, ...proofs.flatMap((p) => ['DPoP', p])], path, protocol: 'https' };
}
const proof = (token = bound, more: { htm?: string; htu?: string } = {}) =>
  makeProof(key, { htm: more.htm ?? 'GET', htu: more.htu ?? 'https://api.example/api/me', accessToken: token }, NOW);

async function refused(request: AuthRequest): Promise<TesseraError> {
  try {
    await auth.authenticate(request);
  } catch (err) {
    if (err instanceof TesseraError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('the guard and DPoP-bound access tokens', () => {
  it('accepts a bound token sent with the DPoP scheme and a good proof', async () => {
    const result = await auth.authenticate(get(`DPoP ${bound}`, [proof()]));
    expect(result.claims.cnf).toEqual({ jkt });
    expect((await auth.authenticate(get(`dpop  ${bound}`, [proof()]))).sub).toBe('alice');
  });

  it('refuses a bound token sent as Bearer: 401 invalid_token, never a bearer token', async () => {
    const err = await refused(get(`Bearer ${bound}`, [proof()]));
    expect(err).toMatchObject({ code: 'token_invalid', status: 401 });
    expect(errorResult(err).headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('refuses an unbound token sent with the DPoP scheme', async () => {
    expect(await refused(get(`DPoP ${bearer}`, [proof(bearer)]))).toMatchObject({ code: 'token_invalid', status: 401 });
    expect((await auth.authenticate(get(`Bearer ${bearer}`))).sub).toBe('bob');
  });

  it.each([
    ['no proof', () => get(`DPoP ${bound}`)],
    ['another ath', () => get(`DPoP ${bound}`, [proof(bearer)])],
    ['another htu', () => get(`DPoP ${bound}`, [proof(bound, { htu: 'https://api.example/api/other' })])],
    ['another htm', () => get(`DPoP ${bound}`, [proof(bound, { htm: 'POST' })])],
    ['two DPoP headers', () => get(`DPoP ${bound}`, [proof(), proof()])],
    [
      'a proof by another key',
      () => get(`DPoP ${bound}`, [makeProof(proofKey('ES256'), { htm: 'GET', htu: 'https://api.example/api/me', accessToken: bound }, NOW)]),
    ],
  ])('refuses %s with 401 invalid_dpop_proof and a DPoP challenge naming the algorithms', async (_, make) => {
    const err = await refused(make());
    expect(err).toMatchObject({ code: 'invalid_dpop_proof', status: 401 });
    const answer = errorResult(err);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 EdDSA"$/);
  });

  it('refuses a signed token whose cnf is not an object with a string jkt, whatever the scheme (never as unbound)', async () => {
    const [header, payload] = bound.split('.') as [string, string];
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    for (const cnf of [{}, { jkt: 5 }, 'x', null]) {
      const token = sign(signingKey, decode(header), patch(decode(payload), { cnf }));
      for (const scheme of ['DPoP', 'Bearer'])
        expect(await refused(get(`${scheme} ${token}`, [proof(token)]))).toMatchObject({ code: 'token_invalid', status: 401 });
    }
    // The same refresh token shape: a malformed cnf never passes as unbound at a refresh either.
    const refresh = auth.createTokenPair({ sub: 'alice', jkt }).refresh.token;
    const [rh, rp] = refresh.split('.') as [string, string];
    const forged = sign(refreshKey, decode(rh), patch(decode(rp), { cnf: {} }));
    await expect(auth.refresh(forged)).rejects.toMatchObject({ code: 'token_invalid' });
  });

  it('refuses a replayed proof', async () => {
    const once = proof();
    await auth.authenticate(get(`DPoP ${bound}`, [once]));
    expect(await refused(get(`DPoP ${bound}`, [once]))).toMatchObject({ code: 'invalid_dpop_proof', status: 401 });
  });
});

describe('errorResult for DPoP refusals', () => {
  it('adds DPoP-Nonce for use_dpop_nonce, with a challenge at 401 and none at 400 (token endpoints)', () => {
    const at401 = errorResult({ code: 'use_dpop_nonce', status: 401, message: 'Use the nonce', nonce: 'n-1', algs: 'ES256', tokenPresented: true });
    expect(at401.headers).toMatchObject({
      'dpop-nonce': 'n-1',
      'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Use the nonce", algs="ES256"',
    });
    const at400 = errorResult({ code: 'use_dpop_nonce', status: 400, message: 'Use the nonce', nonce: 'n-1' });
    expect(at400.status).toBe(400);
    expect(at400.headers['dpop-nonce']).toBe('n-1');
    expect(at400.headers['www-authenticate']).toBeUndefined();
    expect(errorResult({ code: 'invalid_dpop_proof', status: 400, message: 'Bad proof' }).headers['www-authenticate']).toBeUndefined();
  });
});

// Proofs made by real DPoP clients verify here: the `dpop` package (panva's client-side proofs, WebCrypto)
// and `jose`'s SignJWT; thumbprints agree with both. RFC 9449 §4.2 as others read it, not only as we do.
import { calculateThumbprint, generateKeyPair, generateProof, type JWSAlgorithm } from 'dpop';
import { calculateJwkThumbprint, exportJWK, generateKeyPair as joseKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTessera, generateKey, generateRefreshKey, TesseraError } from '../../src/index.js';
import type { AuthRequest } from '../../src/core/transport/request.js';

const ISSUER = 'https://api.example';
const auth = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), issuer: ISSUER });
const nonced = createTessera({
  keys: await generateKey('EdDSA'),
  refreshKey: await generateRefreshKey(),
  issuer: ISSUER,
  dpop: { nonceSecret: 'a secret for the nonces of this differential test' },
});

function request(method: string, path: string, proof: string, authorization?: string): AuthRequest {
  return { method, path, protocol: 'https', headers: [...(authorization === undefined ? [] : ['Authorization', authorization]), 'DPoP', proof] };
}

describe('proofs by the dpop package', () => {
  it.each(['ES256', 'Ed25519', 'RS256', 'PS256'] as JWSAlgorithm[])(
    '%s: a token-request proof verifies, with the thumbprint dpop computes',
    async (alg) => {
      const pair = await generateKeyPair(alg);
      const proof = await generateProof(pair, `${ISSUER}/oauth/token?ignored=1`, 'POST');
      const verified = await auth.dpopProof(request('POST', '/oauth/token', proof));
      expect(verified?.jkt).toBe(await calculateThumbprint(pair.publicKey));
    },
  );

  it('a resource proof with ath binds to a token minted for its thumbprint, and passes the guard', async () => {
    const pair = await generateKeyPair('ES256');
    const jkt = await calculateThumbprint(pair.publicKey);
    const token = auth.createTokenPair({ sub: 'alice', jkt }).access.token;
    const proof = await generateProof(pair, `${ISSUER}/api/me`, 'GET', undefined, token);
    expect((await auth.authenticate(request('GET', '/api/me', proof, `DPoP ${token}`))).sub).toBe('alice');
    // The same proof again is a replay; another method is refused.
    await expect(auth.authenticate(request('GET', '/api/me', proof, `DPoP ${token}`))).rejects.toMatchObject({
      code: 'invalid_dpop_proof',
      status: 401,
    });
    const post = await generateProof(pair, `${ISSUER}/api/me`, 'POST', undefined, token);
    await expect(auth.authenticate(request('GET', '/api/me', post, `DPoP ${token}`))).rejects.toBeInstanceOf(TesseraError);
  });

  it('the nonce dance: use_dpop_nonce hands out a nonce that the retried proof carries', async () => {
    const pair = await generateKeyPair('ES256');
    const first = await generateProof(pair, `${ISSUER}/oauth/token`, 'POST');
    const err = await nonced.dpopProof(request('POST', '/oauth/token', first)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'use_dpop_nonce', status: 400 });
    const nonce = (err as { nonce: string }).nonce;
    const retry = await generateProof(pair, `${ISSUER}/oauth/token`, 'POST', nonce);
    expect(await nonced.dpopProof(request('POST', '/oauth/token', retry))).toBeDefined();
  });
});

describe('proofs by jose', () => {
  it.each([
    ['ES256', {}],
    ['ES384', {}],
    ['EdDSA', { crv: 'Ed25519' }],
    ['RS256', {}],
    ['PS256', {}],
  ] as const)('%s: a proof signed with SignJWT verifies, with the thumbprint jose computes', async (alg, options) => {
    const { privateKey, publicKey } = await joseKeyPair(alg, { extractable: true, ...options });
    const jwk = await exportJWK(publicKey);
    const proof = await new SignJWT({ htm: 'POST', htu: `${ISSUER}/oauth/token` })
      .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk })
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .sign(privateKey);
    const verified = await auth.dpopProof(request('POST', '/oauth/token', proof));
    expect(verified?.jkt).toBe(await calculateJwkThumbprint(jwk));
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidDpopProofError, UseDpopNonceError } from '../errors.js';
import { makeProof, proofKey, type ProofAlg } from '../../../test/support/dpop-proof.js';
import { DpopNonces } from './nonce.js';
import { accessTokenHash, DPOP_ALGORITHMS, normalizeHtu, verifyDpopProof, type DpopSettings } from './proof.js';
import { jwkThumbprint } from './thumbprint.js';

const NOW = Date.UTC(2030, 0, 1, 12);
const URL_ = 'https://auth.example/oauth/token';
const SETTINGS: DpopSettings = { algorithms: DPOP_ALGORITHMS, leeway: 0 };
const expect400 = { method: 'POST', url: URL_ };

describe('verifyDpopProof', () => {
  it.each(DPOP_ALGORITHMS.map((alg) => [alg]))('accepts a genuine %s proof and answers its thumbprint, jti and iat', (alg) => {
    const key = proofKey(alg as ProofAlg);
    const proof = verifyDpopProof(makeProof(key, { htm: 'POST', htu: URL_, jti: 'j-1' }, NOW), expect400, SETTINGS, NOW);
    expect(proof).toMatchObject({ jkt: jwkThumbprint(key.jwk), jti: 'j-1', iat: NOW / 1000 });
  });

  it('normalises htu both sides (RFC 9449 §4.3): case of scheme and host, default port, query and fragment', () => {
    const key = proofKey('ES256');
    const proof = makeProof(key, { htm: 'GET', htu: 'HTTPS://Auth.EXAMPLE:443/api/me?x=1#f' }, NOW);
    expect(verifyDpopProof(proof, { method: 'GET', url: 'https://auth.example/api/me' }, SETTINGS, NOW).jti).toBeTypeOf('string');
    expect(normalizeHtu('http://a.example:80')).toBe('http://a.example/');
    expect(normalizeHtu('ftp://a.example/')).toBeUndefined();
    expect(normalizeHtu('https://user:pw@a.example/')).toBeUndefined();
    expect(normalizeHtu('not a url')).toBeUndefined();
  });

  it('normalises percent-encoding in the path (RFC 3986 §6.2.2.1, §6.2.2.2): hex in upper case, unreserved decoded', () => {
    expect(normalizeHtu('https://a.example/%7euser/%2fx%2F/%41')).toBe('https://a.example/~user/%2Fx%2F/A');
    expect(normalizeHtu('https://a.example/~user/%2Fx%2F/A')).toBe('https://a.example/~user/%2Fx%2F/A');
    const key = proofKey('ES256');
    const proof = makeProof(key, { htm: 'GET', htu: 'https://auth.example/%7Ealice/me' }, NOW);
    expect(verifyDpopProof(proof, { method: 'GET', url: 'https://auth.example/~alice/me' }, SETTINGS, NOW).jti).toBeTypeOf('string');
  });

  it('takes iat within ±60 s, widened by the leeway', () => {
    const key = proofKey('EdDSA');
    const at = (offset: number) => makeProof(key, { htm: 'POST', htu: URL_, iat: NOW / 1000 + offset }, NOW);
    expect(() => verifyDpopProof(at(60), expect400, SETTINGS, NOW)).not.toThrow();
    expect(() => verifyDpopProof(at(-60), expect400, SETTINGS, NOW)).not.toThrow();
    expect(() => verifyDpopProof(at(61), expect400, SETTINGS, NOW)).toThrow(InvalidDpopProofError);
    expect(() => verifyDpopProof(at(-90), expect400, { ...SETTINGS, leeway: 30 }, NOW)).not.toThrow();
  });

  it('checks ath against the access token when one is involved', () => {
    const key = proofKey('ES256');
    const good = makeProof(key, { htm: 'GET', htu: URL_, accessToken: 'tok' }, NOW);
    expect(() => verifyDpopProof(good, { method: 'GET', url: URL_, accessToken: 'tok' }, SETTINGS, NOW)).not.toThrow();
    expect(() => verifyDpopProof(good, { method: 'GET', url: URL_, accessToken: 'other' }, SETTINGS, NOW)).toThrow(/ath does not match/);
    const none = makeProof(key, { htm: 'GET', htu: URL_ }, NOW);
    expect(() => verifyDpopProof(none, { method: 'GET', url: URL_, accessToken: 'tok' }, SETTINGS, NOW)).toThrow(/must carry ath/);
    expect(accessTokenHash('tok')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('asks for the nonce with use_dpop_nonce carrying the current one, and takes it then', () => {
    const nonces = new DpopNonces(new Uint8Array(32).fill(1));
    const key = proofKey('ES256');
    let err: unknown;
    try {
      verifyDpopProof(makeProof(key, { htm: 'POST', htu: URL_ }, NOW), { ...expect400, nonce: nonces }, SETTINGS, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UseDpopNonceError);
    expect(err).toMatchObject({ status: 400, nonce: nonces.current(NOW), algs: DPOP_ALGORITHMS.join(' ') });
    const retry = makeProof(key, { htm: 'POST', htu: URL_, nonce: nonces.current(NOW) }, NOW);
    expect(verifyDpopProof(retry, { ...expect400, nonce: nonces }, SETTINGS, NOW).jkt).toBe(jwkThumbprint(key.jwk));
  });

  it('refuses with the status asked: 401 at guarded routes', () => {
    const key = proofKey('ES256');
    const proof = makeProof(key, { htm: 'GET', htu: URL_ }, NOW);
    expect(() => verifyDpopProof(proof, { method: 'POST', url: URL_, status: 401 }, SETTINGS, NOW)).toThrow(
      expect.objectContaining({ code: 'invalid_dpop_proof', status: 401 }),
    );
  });

  it('refuses an algorithm left out of the configured list', () => {
    const key = proofKey('RS256');
    const proof = makeProof(key, { htm: 'POST', htu: URL_ }, NOW);
    expect(() => verifyDpopProof(proof, expect400, { algorithms: ['ES256'], leeway: 0 }, NOW)).toThrow(/not allowed here/);
  });
});

// A token of a key the verifier has not seen, while the JWKS endpoint is down: the key may have been published
// since the cached copy, so the answer is 503 jwks_unavailable (retry later), never 401 token_invalid, which would
// send clients into a refresh storm. Once the endpoint answers, a kid it does not publish is token_invalid again.
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyRing, createTessera, generateKey, generateRefreshKey } from '../../src/index.js';
import { createRemoteVerifier } from '../../src/remote/index.js';
import { code, serveJwks } from './static-jwks.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

describe('an unknown kid while the JWKS is down', () => {
  it('is 503 jwks_unavailable, and token_invalid once the JWKS answers without it', async () => {
    const [a, b] = [await generateKey('EdDSA', { kid: 'a' }), await generateKey('EdDSA', { kid: 'b' })];
    const refreshKey = await generateRefreshKey();
    const old = createTessera({ keys: a, refreshKey });
    const next = createTessera({ keys: createKeyRing({ signing: b, verifyOnly: [a] }), refreshKey });
    const jwks = await serveJwks(old.jwks());
    closers.push(() => jwks.close());
    const verifier = createRemoteVerifier({ issuer: 'urn:tessera', audience: 'urn:tessera:api', jwksUrl: jwks.url, jwksCooldown: 0, log: false });
    await verifier.refresh();
    expect(await code(verifier.verify(old.createAccessToken({ sub: 'ada' }).token))).toBe('accepted');
    jwks.set({ down: true });
    expect(await code(verifier.verify(next.createAccessToken({ sub: 'ada' }).token))).toBe('jwks_unavailable');
    jwks.set({ down: false });
    const stranger = createTessera({ keys: await generateKey('EdDSA', { kid: 'c' }), refreshKey });
    expect(await code(verifier.verify(stranger.createAccessToken({ sub: 'ada' }).token))).toBe('token_invalid');
  });
});

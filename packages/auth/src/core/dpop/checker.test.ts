import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { resolveConfig, type DpopOptions } from '../config/config.js';
import { ConfigError, InvalidDpopProofError, StoreUnavailableError, UseDpopNonceError } from '../errors.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import type { AuthRequest } from '../transport/request.js';
import { makeProof, proofKey } from '../../../test/support/dpop-proof.js';
import { DpopChecker } from './checker.js';
import { jwkThumbprint } from './thumbprint.js';

const NOW = Date.UTC(2030, 0, 1, 12);
const keys = await generateKey('EdDSA');
const refreshKey = await generateRefreshKey();
const SECRET = 'a nonce secret of at least thirty-two bytes';

function checker(dpop: DpopOptions = {}, issuer = 'https://auth.example'): DpopChecker {
  return new DpopChecker(resolveConfig({ keys, refreshKey, issuer, clock: fixedClock(NOW), dpop }));
}

function request(proofs: string[], method = 'POST', path = '/oauth/token', extra: string[] = []): AuthRequest {
  return { method, headers: [...proofs.flatMap((p) => ['DPoP', p]), ...extra], path, protocol: 'https' };
}

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

const key = proofKey('ES256');
const proofFor = (htu = 'https://auth.example/oauth/token', more: Parameters<typeof makeProof>[1] extends infer I ? Partial<I> : never = {}) =>
  makeProof(key, { htm: 'POST', htu, ...more }, NOW);

describe('DpopChecker.forTokenRequest', () => {
  it('answers the proof of a token request, with htu built from the issuer and the request path', async () => {
    const proof = await checker().forTokenRequest(request([proofFor()]));
    expect(proof?.jkt).toBe(jwkThumbprint(key.jwk));
  });

  it('answers undefined without a proof (allowed), and refuses that under required (400)', async () => {
    expect(await checker().forTokenRequest(request([]))).toBeUndefined();
    expect(await refusal(checker({ mode: 'required' }).forTokenRequest(request([])))).toMatchObject({ code: 'invalid_dpop_proof', status: 400 });
  });

  it('ignores the header entirely when off (RFC 9449 §5: a server without DPoP issues bearer tokens)', async () => {
    expect(await checker({ mode: 'off' }).forTokenRequest(request(['garbage', 'garbage']))).toBeUndefined();
  });

  it('refuses two DPoP headers', async () => {
    const err = await refusal(checker().forTokenRequest(request([proofFor(), proofFor()])));
    expect(err).toBeInstanceOf(InvalidDpopProofError);
    expect(err).toMatchObject({ message: 'Send one DPoP header, not several' });
  });

  it('refuses a replayed jti within this process', async () => {
    const c = checker();
    const proof = proofFor();
    await c.forTokenRequest(request([proof]));
    expect(await refusal(c.forTokenRequest(request([proof])))).toMatchObject({
      code: 'invalid_dpop_proof',
      message: expect.stringMatching(/already used/),
    });
  });

  it('asks the replay store too, which sees proofs other instances took; its failure is 503', async () => {
    const claimed = new Set<string>(['taken-elsewhere']);
    const replayStore = { claim: async (_jkt: string, jti: string) => !claimed.has(jti) && Boolean(claimed.add(jti)) };
    const c = checker({ replayStore });
    expect(await refusal(c.forTokenRequest(request([proofFor(undefined, { jti: 'taken-elsewhere' })])))).toBeInstanceOf(InvalidDpopProofError);
    expect(await c.forTokenRequest(request([proofFor(undefined, { jti: 'fresh' })]))).toBeDefined();
    const down = checker({ replayStore: { claim: () => Promise.reject(new Error('ECONNREFUSED')) } });
    expect(await refusal(down.forTokenRequest(request([proofFor()])))).toBeInstanceOf(StoreUnavailableError);
  });

  it('requires the nonce when a nonce secret is set, handing it out in the refusal', async () => {
    const c = checker({ nonceSecret: SECRET });
    const err = await refusal(c.forTokenRequest(request([proofFor()])));
    expect(err).toBeInstanceOf(UseDpopNonceError);
    const nonce = (err as UseDpopNonceError).nonce;
    expect(nonce).toBe(c.nonce());
    expect(await c.forTokenRequest(request([proofFor(undefined, { nonce })]))).toBeDefined();
  });

  it("uses the configured origin, else the request's own scheme and Host when the issuer is not a URL", async () => {
    const byOrigin = checker({ origin: 'https://api.example' });
    expect(await byOrigin.forTokenRequest(request([proofFor('https://api.example/oauth/token')]))).toBeDefined();
    const own = checker({}, 'urn:tessera');
    expect(
      await own.forTokenRequest(request([proofFor('https://host.example:8443/oauth/token')], 'POST', '/oauth/token', ['Host', 'host.example:8443'])),
    ).toBeDefined();
    const unknown: AuthRequest = { method: 'POST', headers: ['DPoP', proofFor()] };
    expect(await refusal(checker().forTokenRequest(unknown))).toMatchObject({ message: expect.stringMatching(/URL is unknown/) });
  });
});

describe('DpopChecker.forResource', () => {
  it('accepts a proof with ath by the bound key, and refuses another key, a replay and no proof, all 401', () => {
    const c = checker();
    const jkt = jwkThumbprint(key.jwk);
    const proof = makeProof(key, { htm: 'GET', htu: 'https://auth.example/api/me', accessToken: 'tok' }, NOW);
    expect(c.forResource(request([proof], 'GET', '/api/me'), 'tok', jkt).jkt).toBe(jkt);
    expect(() => c.forResource(request([proof], 'GET', '/api/me'), 'tok', jkt)).toThrow(
      expect.objectContaining({ status: 401, message: expect.stringMatching(/already used/) }),
    );
    const other = makeProof(proofKey('ES256'), { htm: 'GET', htu: 'https://auth.example/api/me', accessToken: 'tok' }, NOW);
    expect(() => c.forResource(request([other], 'GET', '/api/me'), 'tok', jkt)).toThrow(
      expect.objectContaining({ status: 401, message: expect.stringMatching(/another key/) }),
    );
    expect(() => c.forResource(request([], 'GET', '/api/me'), 'tok', jkt)).toThrow(
      expect.objectContaining({ status: 401, code: 'invalid_dpop_proof' }),
    );
  });

  it('requires the nonce at guarded routes only with resourceNonce', () => {
    const jkt = jwkThumbprint(key.jwk);
    const proof = () => makeProof(key, { htm: 'GET', htu: 'https://auth.example/api/me', accessToken: 'tok' }, NOW);
    expect(() => checker({ nonceSecret: SECRET }).forResource(request([proof()], 'GET', '/api/me'), 'tok', jkt)).not.toThrow();
    expect(() => checker({ nonceSecret: SECRET, resourceNonce: true }).forResource(request([proof()], 'GET', '/api/me'), 'tok', jkt)).toThrow(
      expect.objectContaining({ code: 'use_dpop_nonce', status: 401 }),
    );
  });
});

describe('the dpop option', () => {
  it('defaults to allowed, every algorithm, no nonce, the issuer origin', () => {
    const config = resolveConfig({ keys, refreshKey, issuer: 'https://auth.example/tenant' });
    expect(config.dpop).toMatchObject({
      mode: 'allowed',
      algorithms: ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'RS256', 'PS256'],
      origin: 'https://auth.example',
      resourceNonce: false,
    });
    expect(config.dpop.nonceSecret).toBeUndefined();
  });

  it('says what is wrong with each bad setting, one sentence each, never echoing the secret', () => {
    let err: unknown;
    try {
      resolveConfig({
        keys,
        refreshKey,
        dpop: {
          mode: 'on' as 'off',
          algorithms: ['HS256' as 'ES256'],
          nonceSecret: 'short-secret',
          origin: 'https://a.example/path',
          resourceNonce: 'yes' as unknown as boolean,
          replayStore: {} as never,
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(6);
    expect(problems.join(' ')).not.toContain('short-secret');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^dpop\.mode must be one of off, allowed, required/),
        expect.stringMatching(/^dpop\.algorithms must be/),
        expect.stringMatching(/^dpop\.nonceSecret must be/),
        expect.stringMatching(/^dpop\.origin must be an origin/),
        expect.stringMatching(/^dpop\.resourceNonce must be true or false/),
        expect.stringMatching(/^dpop\.replayStore must be/),
      ]),
    );
    expect(() => resolveConfig({ keys, refreshKey, dpop: { resourceNonce: true } })).toThrow(/needs dpop.nonceSecret/);
  });

  it('checks a nonceSecret function by what it answers: too short, not a secret, or throwing is a problem; a good one is kept as given', () => {
    for (const bad of [
      () => 'short-secret',
      () => 42 as unknown as string,
      (): string => {
        throw new Error('no key');
      },
    ])
      expect(() => resolveConfig({ keys, refreshKey, dpop: { nonceSecret: bad } })).toThrow(
        /dpop\.nonceSecret must return a string or bytes of at least 32 bytes/,
      );
    const good = (): string => SECRET;
    expect(resolveConfig({ keys, refreshKey, dpop: { nonceSecret: good } }).dpop.nonceSecret).toBe(good);
    expect(resolveConfig({ keys, refreshKey, dpop: { nonceSecret: 's'.repeat(32) } }).dpop.nonceSecret).toEqual(
      new TextEncoder().encode('s'.repeat(32)),
    );
  });
});

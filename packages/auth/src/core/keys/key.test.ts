import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { ALGORITHMS } from './algorithms.js';
import { createKeyRing } from './key-ring.js';
import { exportPrivateJwk, exportPublicJwk, generateKey, generateRefreshKey, importKey, importRefreshKey } from './key.js';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed448 = generateKeyPairSync('ed448');
const ed25519 = generateKeyPairSync('ed25519');

describe('generateKey', () => {
  it.each(ALGORITHMS)('%s: a signing key bound to its algorithm, with a stable kid', async (alg) => {
    const key = await generateKey(alg);
    expect(key.alg).toBe(alg);
    expect(key.canSign).toBe(true);
    expect(key.purpose).toBe('access');
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(Object.isFrozen(key)).toBe(true);
    const again = alg === 'HS256' ? importKey({ alg, jwk: exportPrivateJwk(key) }) : importKey({ alg, jwk: exportPrivateJwk(key) });
    expect(again.kid).toBe(key.kid);
    expect(key.verifyOnly().canSign).toBe(false);
  });

  it('refuses none and unknown algorithms in any spelling', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE', 'hs256', 'PS256', 'ES512', '', 'EdDSA ']) {
      await expect(generateKey(alg as 'HS256')).rejects.toBeInstanceOf(ConfigError);
      expect(configError(() => importKey({ alg: alg as 'HS256', secret: randomBytes(32) }))).toContain('there is no "none"');
    }
  });

  it('makes a refresh key that cannot be asymmetric', async () => {
    const key = await generateRefreshKey();
    expect(key).toMatchObject({ alg: 'HS256', purpose: 'refresh' });
    expect(importRefreshKey(randomBytes(32).toString('base64url')).purpose).toBe('refresh');
    expect(
      configError(() => importKey({ alg: 'EdDSA', pem: ed25519.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, purpose: 'refresh' })),
    ).toContain('refresh-token key must be an HS256');
  });
});

describe('importKey', () => {
  it('imports PEM private and public keys, JWKs and raw secrets', () => {
    const priv = importKey({ alg: 'RS256', pem: rsa2048.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string });
    const pub = importKey({ alg: 'RS256', pem: rsa2048.publicKey.export({ type: 'spki', format: 'pem' }) as string });
    expect(priv.canSign).toBe(true);
    expect(pub.canSign).toBe(false);
    expect(pub.kid).toBe(priv.kid); // RFC 7638 thumbprint of the same public key
    expect(
      importKey({
        alg: 'EdDSA',
        jwk: exportPublicJwk(
          priv.alg === 'RS256' ? importKey({ alg: 'EdDSA', pem: ed25519.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }) : priv,
        ),
      }).canSign,
    ).toBe(false);
    expect(importKey({ alg: 'HS256', secret: randomBytes(32) }).canSign).toBe(true);
    expect(importKey({ alg: 'HS256', secret: randomBytes(48).toString('base64url'), kid: 'mine' }).kid).toBe('mine');
  });

  it('derives the same kid from the same secret, and a different one from another', () => {
    const secret = randomBytes(32);
    expect(importKey({ alg: 'HS256', secret }).kid).toBe(importKey({ alg: 'HS256', secret: Buffer.from(secret) }).kid);
    expect(importKey({ alg: 'HS256', secret }).kid).not.toBe(importKey({ alg: 'HS256', secret: randomBytes(32) }).kid);
    // The kid is public: it must not be the secret or a plain hash of it.
    expect(importKey({ alg: 'HS256', secret }).kid).not.toContain(secret.toString('base64url').slice(0, 8));
  });

  it('refuses short HMAC secrets and small RSA keys', () => {
    expect(configError(() => importKey({ alg: 'HS256', secret: randomBytes(31) }))).toContain('at least 32');
    expect(configError(() => importKey({ alg: 'HS256', secret: '' }))).toContain('base64url');
    expect(configError(() => importKey({ alg: 'RS256', pem: rsa1024.publicKey.export({ type: 'spki', format: 'pem' }) as string }))).toContain(
      '2048',
    );
  });

  it('refuses a key of the wrong type or curve for the algorithm', () => {
    expect(configError(() => importKey({ alg: 'ES256', pem: p384.publicKey.export({ type: 'spki', format: 'pem' }) as string }))).toContain('P-256');
    expect(configError(() => importKey({ alg: 'EdDSA', pem: ed448.publicKey.export({ type: 'spki', format: 'pem' }) as string }))).toContain(
      'Ed25519',
    );
    expect(configError(() => importKey({ alg: 'RS256', pem: ed25519.publicKey.export({ type: 'spki', format: 'pem' }) as string }))).toContain('RSA');
    expect(configError(() => importKey({ alg: 'EdDSA', jwk: { kty: 'oct', k: randomBytes(32).toString('base64url') } }))).toContain('asymmetric');
    expect(
      configError(() =>
        importKey({
          alg: 'ES256',
          jwk: {
            ...exportPublicJwk(importKey({ alg: 'EdDSA', pem: ed25519.publicKey.export({ type: 'spki', format: 'pem' }) as string })),
            alg: 'ES256',
          },
        }),
      ),
    ).toContain('P-256');
    expect(
      configError(() => importKey({ alg: 'RS256', jwk: { ...(rsa2048.publicKey.export({ format: 'jwk' }) as object), alg: 'PS256' } })),
    ).toContain('PS256');
    expect(configError(() => importKey({ alg: 'RS256', pem: 'not a key' }))).toContain('could not be read');
  });

  it('names the type of a wrong key, the type wanted, and the algorithm the key would serve', () => {
    const pem = (pair: { publicKey: { export(o: object): string | Buffer } }) => pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const edPrivate = ed25519.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(configError(() => importKey({ alg: 'ES256', pem: edPrivate }))).toBe(
      "ES256 takes a P-256 EC key, but this is an Ed25519 key: import it with alg 'EdDSA', or pass a key of the wanted type.",
    );
    expect(configError(() => importKey({ alg: 'EdDSA', pem: pem(rsa2048) }))).toBe(
      "EdDSA takes an Ed25519 key, but this is an RSA key of 2048 bits: import it with alg 'RS256', or pass a key of the wanted type.",
    );
    expect(configError(() => importKey({ alg: 'ES256', pem: pem(p384) }))).toBe('ES256 takes a P-256 EC key, but this is a P-384 EC key.');
    expect(configError(() => importKey({ alg: 'EdDSA', pem: pem(generateKeyPairSync('x25519')) }))).toBe(
      'EdDSA takes an Ed25519 key, but this is an X25519 key (for key agreement, not signatures).',
    );
    expect(configError(() => importKey({ alg: 'HS256', pem: pem(ed25519) }))).toBe(
      "HS256 takes a secret, not a PEM key (this one is an Ed25519 key: import it with alg 'EdDSA'): pass { secret } for HS256.",
    );
    expect(configError(() => importKey({ alg: 'RS256', jwk: ed25519.publicKey.export({ format: 'jwk' }) }))).toBe(
      "RS256 takes an RSA key, but this is an Ed25519 key: import it with alg 'EdDSA', or pass a key of the wanted type.",
    );
  });

  it('refuses asymmetric material offered as an HMAC secret, in every form', () => {
    const spkiPem = rsa2048.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const pkcs1Pem = rsa2048.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const spkiDer = rsa2048.publicKey.export({ type: 'spki', format: 'der' });
    const pkcs1Der = rsa2048.publicKey.export({ type: 'pkcs1', format: 'der' });
    const edDer = ed25519.publicKey.export({ type: 'spki', format: 'der' });
    const jwkText = JSON.stringify(rsa2048.publicKey.export({ format: 'jwk' }));
    const offered: (string | Uint8Array)[] = [
      spkiPem,
      `  \n${pkcs1Pem}`,
      jwkText,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host',
      Buffer.from(spkiPem),
      Buffer.from(`\t${pkcs1Pem}`),
      Buffer.from(jwkText),
      spkiDer,
      pkcs1Der,
      edDer,
      spkiDer.toString('base64url'),
      edDer.toString('base64url'),
    ];
    for (const secret of offered) {
      expect(() => importKey({ alg: 'HS256', secret })).toThrow(ConfigError);
    }
    expect(configError(() => importKey({ alg: 'HS256', pem: spkiPem } as never))).toContain('HS256 takes a secret');
    expect(configError(() => importKey({ alg: 'HS256', jwk: rsa2048.publicKey.export({ format: 'jwk' }) }))).toContain('HS256 takes a secret');
  });

  it('takes exactly one source of key material', () => {
    expect(configError(() => importKey({ alg: 'HS256' } as never))).toContain('exactly one');
    expect(configError(() => importKey({ alg: 'HS256', secret: randomBytes(32), pem: 'x' } as never))).toContain('exactly one');
  });

  it('refuses a kid that is not printable ASCII', () => {
    for (const kid of ['', 'has space', 'x'.repeat(129), 'tab\t', 'é']) {
      expect(configError(() => importKey({ alg: 'HS256', secret: randomBytes(32), kid }))).toContain('kid');
    }
  });
});

describe('exportPublicJwk', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)('%s: public members only, with kid, alg and use', async (alg) => {
    const key = await generateKey(alg);
    const jwk = exportPublicJwk(key);
    expect(jwk).toMatchObject({ kid: key.kid, alg, use: 'sig' });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(jwk).not.toHaveProperty(secret);
  });

  it('never exports a secret', async () => {
    expect(() => exportPublicJwk(importKey({ alg: 'HS256', secret: randomBytes(32) }))).toThrow(ConfigError);
    const ring = createKeyRing({ signing: await generateKey('HS256') });
    expect(ring.jwks()).toEqual({ keys: [] });
  });
});

describe('KeyRing', () => {
  it('finds keys by kid, publishes asymmetric ones, and bumps its version on replace', async () => {
    const current = await generateKey('EdDSA');
    const previous = await generateKey('ES256');
    const ring = createKeyRing({ signing: current, verifyOnly: [previous.verifyOnly()] });
    expect(ring.get(current.kid)).toBe(current);
    expect(ring.get(previous.kid)?.canSign).toBe(false);
    expect(ring.get('nope')).toBeUndefined();
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([current.kid, previous.kid]);
    const before = ring.version;
    ring.replace({ signing: previous });
    expect(ring.version).toBe(before + 1);
    expect(ring.get(current.kid)).toBeUndefined();
  });

  it('refuses a verify-only signing key, duplicate kids and refresh keys', async () => {
    const key = await generateKey('EdDSA');
    expect(configError(() => createKeyRing({ signing: key.verifyOnly() }))).toContain('signing key');
    expect(configError(() => createKeyRing({ signing: key, verifyOnly: [key.verifyOnly()] }))).toContain('share the kid');
    const refreshKey = await generateRefreshKey();
    expect(configError(() => createKeyRing({ signing: key, verifyOnly: [refreshKey] }))).toContain('refresh-token key');
  });

  it('returns copies of the JWKS, so callers cannot alter the published keys', async () => {
    const ring = createKeyRing(await generateKey('EdDSA'));
    const jwks = ring.jwks();
    (jwks.keys[0] as { kid?: string }).kid = 'changed';
    expect(ring.jwks().keys[0]?.kid).not.toBe('changed');
  });
});

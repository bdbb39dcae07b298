// The remote verifier (@tessera/auth/remote) on each runtime, against a JWKS the runtime serves itself (serve.ts):
// tokens signed here with WebCrypto (present on every runtime, so the signer is no part of what is tested), for
// each algorithm and each key backend: the default one (node:crypto; WebCrypto on workerd, whose node:crypto
// cannot verify ES256 from a KeyObject) and WebCrypto. Good tokens pass; tampered, confused, expired, foreign,
// unknown-key and oct-key tokens are refused with their codes; past maxStale with the JWKS down, 503.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createRemoteVerifier, TesseraError, type RemoteVerifier } from '@tessera/auth/remote';
import type { Case } from '../harness.js';
import type { FetchHandler, Served } from '../serve.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'https://api.example';
type Alg = 'EdDSA' | 'ES256' | 'RS256';
const ALGS: readonly Alg[] = ['EdDSA', 'ES256', 'RS256'];
const BACKENDS = ['default', 'webcrypto'] as const;

const PARAMS: Readonly<Record<Alg, { generate: object; sign: object }>> = {
  EdDSA: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  ES256: { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  RS256: {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

interface Signer {
  readonly alg: Alg;
  readonly kid: string;
  readonly jwk: Record<string, unknown>;
  sign(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

async function signer(alg: Alg): Promise<Signer> {
  const subtle = globalThis.crypto.subtle;
  const pair = (await subtle.generateKey(PARAMS[alg].generate as Parameters<typeof subtle.generateKey>[0], true, ['sign', 'verify'])) as {
    privateKey: Parameters<typeof subtle.sign>[1];
    publicKey: Parameters<typeof subtle.exportKey>[1];
  };
  const kid = `${alg}-key`;
  const exported = (await subtle.exportKey('jwk', pair.publicKey)) as Record<string, unknown>;
  const jwk: Record<string, unknown> = { kid, alg, use: 'sig' };
  for (const name of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (exported[name] !== undefined) jwk[name] = exported[name];
  return {
    alg,
    kid,
    jwk,
    async sign(claims = {}, header = {}) {
      const input = `${b64({ alg, typ: 'at+jwt', kid, ...header })}.${b64({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-1',
        iat: NOW_S,
        nbf: NOW_S,
        exp: NOW_S + 300,
        jti: 'jti-1',
        sid: 'sid-1',
        type: 'access',
        ...claims,
      })}`;
      const signature = await subtle.sign(PARAMS[alg].sign as Parameters<typeof subtle.sign>[0], pair.privateKey, Buffer.from(input, 'latin1'));
      return `${input}.${Buffer.from(signature).toString('base64url')}`;
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TesseraError, `not a TesseraError: ${String(err)}`);
    return err.code;
  }
  return 'accepted';
}

export async function remoteCases(serve: (fetch: FetchHandler) => Promise<Served>): Promise<Case[]> {
  const signers = await Promise.all(ALGS.map(signer));
  const oct = { kty: 'oct', kid: 'hs', alg: 'HS256', k: Buffer.alloc(32, 7).toString('base64url') };
  let down = false;
  let served: Served | undefined;
  const jwks = JSON.stringify({ keys: [...signers.map((s) => s.jwk), oct] });
  const clock = { t: NOW, now: () => clock.t };
  const verifiers = new Map<string, RemoteVerifier>();
  const verifierOf = (backend: (typeof BACKENDS)[number], extra = ''): RemoteVerifier => {
    const name = `${backend}${extra}`;
    let found = verifiers.get(name);
    if (found === undefined) {
      if (served === undefined) throw new TypeError('the JWKS server did not start');
      found = createRemoteVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUrl: `${served.url}/jwks.json`,
        clock,
        log: false,
        maxTokenLife: '3h',
        ...(backend === 'webcrypto' ? { backend: 'webcrypto' as const } : {}),
      });
      verifiers.set(name, found);
    }
    return found;
  };
  const cases: Case[] = [
    {
      group: 'remote',
      name: 'a JWKS served on this runtime',
      run: async () => {
        served = await serve((request) =>
          down
            ? new Response('down', { status: 503 })
            : new URL(request.url).pathname === '/jwks.json'
              ? new Response(jwks, { headers: { 'content-type': 'application/json', 'cache-control': 'max-age=300' } })
              : new Response('not found', { status: 404 }),
        );
      },
    },
  ];
  for (const backend of BACKENDS) {
    for (const s of signers) {
      const prefix = `${backend} ${s.alg}`;
      const add = (name: string, run: () => Promise<void>) => cases.push({ group: 'remote', name: `${prefix}: ${name}`, run });
      add('a good token passes, with its claims', async () => {
        const claims = await verifierOf(backend).verify(await s.sign({ scope: 'read' }));
        assert.equal(claims.sub, 'user-1');
        assert.equal(claims.scope, 'read');
      });
      add('a tampered payload is token_invalid', async () => {
        const [h, , sig] = (await s.sign()).split('.');
        assert.equal(await refusal(verifierOf(backend).verify(`${h}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'root' })}.${sig}`)), 'token_invalid');
      });
      add('a flipped signature is token_invalid', async () => {
        const [h, p, sig = ''] = (await s.sign()).split('.');
        const bytes = Buffer.from(sig, 'base64url');
        bytes[5] = (bytes[5] ?? 0) ^ 1;
        assert.equal(await refusal(verifierOf(backend).verify(`${h}.${p}.${bytes.toString('base64url')}`)), 'token_invalid');
      });
      add('another algorithm, HS256 or none in the header is token_invalid (the key pins it)', async () => {
        const [, p, sig] = (await s.sign()).split('.');
        for (const alg of [...ALGS.filter((a) => a !== s.alg), 'HS256', 'none'])
          assert.equal(await refusal(verifierOf(backend).verify(`${b64({ alg, typ: 'at+jwt', kid: s.kid })}.${p}.${sig}`)), 'token_invalid', alg);
      });
      add('an HS256 token MACed with the published oct key is token_invalid', async () => {
        const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'hs' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'root', iat: NOW_S, exp: NOW_S + 60, jti: 'j', sid: 's', type: 'access' })}`;
        const key = await globalThis.crypto.subtle.importKey('raw', Buffer.alloc(32, 7), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const mac = Buffer.from(await globalThis.crypto.subtle.sign('HMAC', key, Buffer.from(input))).toString('base64url');
        assert.equal(await refusal(verifierOf(backend).verify(`${input}.${mac}`)), 'token_invalid');
      });
      add('expired is token_expired, not yet valid is token_not_yet_valid', async () => {
        assert.equal(await refusal(verifierOf(backend).verify(await s.sign({ exp: NOW_S - 1 }))), 'token_expired');
        assert.equal(await refusal(verifierOf(backend).verify(await s.sign({ nbf: NOW_S + 120 }))), 'token_not_yet_valid');
      });
      add('another audience or issuer is token_invalid, a refresh-typed token token_invalid', async () => {
        assert.equal(await refusal(verifierOf(backend).verify(await s.sign({ aud: 'https://other.example' }))), 'token_invalid');
        assert.equal(await refusal(verifierOf(backend).verify(await s.sign({ iss: 'https://evil.example' }))), 'token_invalid');
        assert.equal(await refusal(verifierOf(backend).verify(await s.sign({}, { typ: 'rt+jwt' }))), 'token_invalid');
      });
      add('an unknown kid is token_invalid', async () => {
        assert.equal(await refusal(verifierOf(backend).verify(await s.sign({}, { kid: 'nobody' }))), 'token_invalid');
      });
    }
    cases.push({
      group: 'remote',
      name: `${backend}: the JWKS down past maxStale is 503 jwks_unavailable, then back`,
      run: async () => {
        const verifier = verifierOf(backend, '-stale');
        const [first] = signers;
        if (first === undefined) throw new TypeError('no signer');
        const token = await first.sign({ exp: NOW_S + 7200 });
        clock.t = NOW;
        await verifier.verify(token);
        down = true;
        try {
          clock.t = NOW + 3601_000;
          const error = await verifier.verify(token).then(
            () => undefined,
            (err: unknown) => err,
          );
          assert.ok(error instanceof TesseraError);
          assert.equal(error.code, 'jwks_unavailable');
          assert.equal(error.status, 503);
        } finally {
          down = false;
          clock.t = NOW;
        }
      },
    });
  }
  cases.push({
    group: 'remote',
    name: 'the JWKS server stops',
    run: async () => {
      await served?.close();
    },
  });
  return cases;
}

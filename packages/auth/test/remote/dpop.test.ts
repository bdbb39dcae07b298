// DPoP-bound tokens at a resource server that verifies them remotely (RFC 9449 §7), over real sockets: a Tessera
// server binds a login to a key (proofs from the `dpop` package, as a client library makes them), and an Express
// API guarded by a remote verifier takes that token as `Authorization: DPoP` with a proof for its own URL. As
// Bearer, without a proof, with another key's proof, a replayed proof or one for another URL, it is refused with
// the 401 DPoP challenge; with `dpop.resourceNonce` the first proof is answered with a nonce to retry with.
import { createServer } from 'node:http';
import * as DPoP from 'dpop';
import { call, listen, register, send, sqliteBackend, PASSWORD, type Answer, type RunningApp } from '@tessera/test-kit';
import { startServer, type TestServer } from '@tessera/test-kit/server';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tessera as expressTessera } from '../../src/adapters/express.js';
import { ConfigError } from '../../src/index.js';
import { createRemoteVerifier, type RemoteDpopOptions, type RemoteVerifier } from '../../src/remote/index.js';

type Keys = Awaited<ReturnType<typeof DPoP.generateKeyPair>>;

const ISSUER = 'urn:tessera';
const AUDIENCE = 'urn:tessera:api';
const NONCE_SECRET = 'a resource nonce secret of at least thirty-two bytes';

let server: TestServer;
let cleanup: () => Promise<void>;
const verifiers: RemoteVerifier[] = [];
const apps: RunningApp[] = [];

beforeAll(async () => {
  const backend = sqliteBackend();
  server = await startServer({ ...backend.env, TESSERA_LOG_LEVEL: 'silent', TESSERA_LOGIN_LIMIT: '1000/1m', TESSERA_PURGE_INTERVAL: '0' });
  cleanup = async () => {
    await server.close();
    await backend.cleanup();
  };
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const verifier of verifiers) await verifier.close();
  await cleanup?.();
});

/** A login bound to `keys`, answering the server's nonce challenge once (RFC 9449 §8). */
async function boundLogin(keys: Keys): Promise<string> {
  const user = await register(server.url);
  const htu = `${server.url}/auth/login`;
  const json = { username: user.username, password: PASSWORD, transport: 'bearer' };
  let login = await call(server.url, 'POST', '/auth/login', { json, headers: { dpop: await DPoP.generateProof(keys, htu, 'POST') } });
  if (login.code === 'use_dpop_nonce')
    login = await call(server.url, 'POST', '/auth/login', {
      json,
      headers: { dpop: await DPoP.generateProof(keys, htu, 'POST', login.header('dpop-nonce') as string) },
    });
  expect(login.status, login.text).toBe(200);
  expect(login.json.token_type).toBe('DPoP');
  return login.json.access_token as string;
}

/** An Express API guarded by a remote verifier of the server's JWKS. */
async function api(dpop: RemoteDpopOptions = {}): Promise<RunningApp> {
  const verifier = createRemoteVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${server.url}/.well-known/jwks.json`, log: false, dpop });
  verifiers.push(verifier);
  const t = expressTessera(verifier);
  const app = express();
  app.get('/me', t.required(), (req, res) => void res.json({ sub: t.identity(req).sub }));
  const running = await listen(createServer(app));
  apps.push(running);
  return running;
}

function challenged(answer: Answer, error: string): void {
  expect([answer.status, answer.code], answer.text).toEqual([401, error]);
  expect(answer.header('www-authenticate')).toMatch(new RegExp(`^DPoP error="${error}"`));
}

describe('a remote verifier with DPoP-bound tokens of a Tessera server', () => {
  it('takes a bound token with a good proof, and refuses it as Bearer, without a proof, or with a bad one', async () => {
    const app = await api();
    const keys = await DPoP.generateKeyPair('ES256');
    const access = await boundLogin(keys);
    const htu = `${app.url}/me`;
    const proof = await DPoP.generateProof(keys, htu, 'GET', undefined, access);
    const ok = await send(app.url, '/me', { authorization: `DPoP ${access}`, headers: { dpop: proof } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.sub).toEqual(expect.any(String));

    const bearer = await send(app.url, '/me', { bearer: access });
    expect([bearer.status, bearer.code]).toEqual([401, 'token_invalid']);
    challenged(await send(app.url, '/me', { authorization: `DPoP ${access}` }), 'invalid_dpop_proof');
    // The same proof again: a replay.
    challenged(await send(app.url, '/me', { authorization: `DPoP ${access}`, headers: { dpop: proof } }), 'invalid_dpop_proof');
    const thief = await DPoP.generateKeyPair('ES256');
    const stolen = await DPoP.generateProof(thief, htu, 'GET', undefined, access);
    challenged(await send(app.url, '/me', { authorization: `DPoP ${access}`, headers: { dpop: stolen } }), 'invalid_dpop_proof');
    const elsewhere = await DPoP.generateProof(keys, `${server.url}/me`, 'GET', undefined, access);
    challenged(await send(app.url, '/me', { authorization: `DPoP ${access}`, headers: { dpop: elsewhere } }), 'invalid_dpop_proof');
    const wrongMethod = await DPoP.generateProof(keys, htu, 'POST', undefined, access);
    challenged(await send(app.url, '/me', { authorization: `DPoP ${access}`, headers: { dpop: wrongMethod } }), 'invalid_dpop_proof');
  });

  it('checks htu against the configured origin, and only the algorithms allowed', async () => {
    const app = await api({ origin: 'https://api.example', algorithms: ['RS256'] });
    const keys = await DPoP.generateKeyPair('ES256');
    const access = await boundLogin(keys);
    // ES256 is not allowed here.
    const es = await DPoP.generateProof(keys, 'https://api.example/me', 'GET', undefined, access);
    challenged(await send(app.url, '/me', { authorization: `DPoP ${access}`, headers: { dpop: es } }), 'invalid_dpop_proof');
    const ed = await DPoP.generateKeyPair('RS256');
    const edAccess = await boundLogin(ed);
    const own = await DPoP.generateProof(ed, `${app.url}/me`, 'GET', undefined, edAccess);
    challenged(await send(app.url, '/me', { authorization: `DPoP ${edAccess}`, headers: { dpop: own } }), 'invalid_dpop_proof');
    const public_ = await DPoP.generateProof(ed, 'https://api.example/me', 'GET', undefined, edAccess);
    expect((await send(app.url, '/me', { authorization: `DPoP ${edAccess}`, headers: { dpop: public_ } })).status).toBe(200);
  });

  it('with resourceNonce, answers the first proof with a nonce, and takes the retry that carries it', async () => {
    const app = await api({ nonceSecret: NONCE_SECRET, resourceNonce: true });
    const keys = await DPoP.generateKeyPair('ES256');
    const access = await boundLogin(keys);
    const htu = `${app.url}/me`;
    const first = await send(app.url, '/me', {
      authorization: `DPoP ${access}`,
      headers: { dpop: await DPoP.generateProof(keys, htu, 'GET', undefined, access) },
    });
    challenged(first, 'use_dpop_nonce');
    const nonce = first.header('dpop-nonce');
    expect(nonce).toEqual(expect.any(String));
    const retry = await send(app.url, '/me', {
      authorization: `DPoP ${access}`,
      headers: { dpop: await DPoP.generateProof(keys, htu, 'GET', nonce as string, access) },
    });
    expect(retry.status, retry.text).toBe(200);
  });

  it('refuses bad DPoP options at construction, each in one sentence', () => {
    const options = { issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${server.url}/.well-known/jwks.json` };
    expect(() => createRemoteVerifier({ ...options, dpop: { resourceNonce: true } })).toThrow(/dpop\.resourceNonce needs dpop\.nonceSecret/);
    expect(() => createRemoteVerifier({ ...options, dpop: { origin: 'https://api.example/path' } })).toThrow(ConfigError);
  });
});

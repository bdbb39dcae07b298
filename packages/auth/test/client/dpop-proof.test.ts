// The DPoP add-on's proofs, checked by `jose` (RFC 9449 §4.3: signature by the embedded key, `typ`,
// `htm`, `htu`, `iat`, `jti`, `ath`, `nonce`), and its handling of a server's answers: which requests
// carry a proof, the scheme a bound token is sent with, and nonce challenges retried once. The server
// here is a small real HTTP server that records what it received and answers as the RFC's examples do.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { listen, type RunningApp } from '@tessera/test-kit';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDpop } from '../../src/client/dpop.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the recorder answers on a path: `nonce` challenges every proof without that nonce. */
let script: (seen: Seen) => { status: number; headers?: Record<string, string>; body?: unknown } = () => ({ status: 200, body: {} });
const seen: Seen[] = [];
let app: RunningApp;

beforeAll(async () => {
  app = await listen(
    createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const entry = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
        seen.push(entry);
        const answer = script(entry);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify(answer.body ?? {}));
      });
    }),
  );
});
afterAll(async () => {
  await app?.close();
});
beforeEach(() => {
  seen.length = 0;
  script = () => ({ status: 200, body: {} });
});

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
/** An unsigned JWT-shaped access token: the add-on only reads `cnf.jkt` to choose the scheme. */
const accessToken = (claims: object) => `${b64url(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims))}.c2ln`;

/** Verifies a proof as a server would (jose, the key embedded in the header) and answers its parts. */
async function verified(proof: string | string[] | undefined) {
  expect(typeof proof).toBe('string');
  const { payload, protectedHeader } = await jwtVerify(proof as string, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'EdDSA'] });
  return { payload, header: protectedHeader, jkt: await calculateJwkThumbprint(protectedHeader.jwk as JWK) };
}

describe('DPoP proofs', () => {
  it('a login carries an ES256 proof of the request, by a public JWK whose thumbprint is the binding', async () => {
    const dpop = createDpop();
    const before = Math.floor(Date.now() / 1000);
    await dpop.fetch(`${app.url}/auth/login?next=%2F#frag`, { method: 'post', body: '{}' });
    const { payload, header, jkt } = await verified(seen[0]?.headers.dpop);
    expect(header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } });
    expect(Object.keys(header.jwk!).sort()).toEqual(['crv', 'kty', 'x', 'y']); // public members only, no `d`
    // htu without query and fragment (RFC 9449 §4.2); htm as sent; a fresh iat and a random jti.
    expect(payload).toMatchObject({ htm: 'POST', htu: `${app.url}/auth/login` });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload).not.toHaveProperty('ath');
    expect(payload).not.toHaveProperty('nonce');
    expect(jkt).toBe(await dpop.thumbprint());
    // The private key cannot be read out of WebCrypto.
    const keys = await dpop.keyPair();
    expect(keys.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', keys.privateKey)).rejects.toThrow();
  });

  it('each proof has its own jti; refresh and /oauth/token carry one, other requests without a bound token none', async () => {
    const dpop = createDpop();
    await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' });
    await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' });
    await dpop.fetch(new URL('/base/oauth/token', app.url), { method: 'POST', body: 'grant_type=refresh_token' });
    await dpop.fetch(`${app.url}/auth/register`, { method: 'POST' });
    await dpop.fetch(`${app.url}/api/orders`);
    await dpop.fetch(`${app.url}/api/orders`, { headers: { authorization: `Bearer ${accessToken({ sub: 'u' })}` } });
    const proofs = await Promise.all(seen.slice(0, 3).map((s) => verified(s.headers.dpop)));
    expect(new Set(proofs.map((p) => p.payload.jti)).size).toBe(3);
    expect(proofs[2]?.payload.htu).toBe(`${app.url}/base/oauth/token`);
    expect(seen.slice(3).map((s) => s.headers.dpop)).toEqual([undefined, undefined, undefined]);
    // An access token not bound to this key goes as it was given.
    expect(seen[5]?.headers.authorization).toMatch(/^Bearer /);
  });

  it('an access token bound to the key goes as `DPoP`, with a proof whose ath is its hash', async () => {
    const dpop = createDpop();
    const token = accessToken({ sub: 'u', cnf: { jkt: await dpop.thumbprint() } });
    await dpop.fetch(`${app.url}/auth/me`, { headers: new Headers({ authorization: `Bearer ${token}` }) });
    // A caller that already says DPoP gets its proof too.
    await dpop.fetch(new Request(`${app.url}/api/orders?page=2`, { method: 'PUT', headers: { authorization: `DPoP ${token}` }, body: 'x' }));
    expect(seen.map((s) => s.headers.authorization)).toEqual([`DPoP ${token}`, `DPoP ${token}`]);
    const ath = createHash('sha256').update(token).digest('base64url');
    const [me, put] = await Promise.all(seen.map((s) => verified(s.headers.dpop)));
    expect(me?.payload).toMatchObject({ htm: 'GET', htu: `${app.url}/auth/me`, ath });
    expect(put?.payload).toMatchObject({ htm: 'PUT', htu: `${app.url}/api/orders`, ath });
    expect(seen[1]?.body).toBe('x');
  });

  it('EdDSA where the platform has Ed25519', async () => {
    const dpop = createDpop({ algorithm: 'EdDSA' });
    await dpop.fetch(`${app.url}/auth/login`, { method: 'POST' });
    const { header, jkt } = await verified(seen[0]?.headers.dpop);
    expect(header).toMatchObject({ alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519' } });
    expect(Object.keys(header.jwk!).sort()).toEqual(['crv', 'kty', 'x']);
    expect(jkt).toBe(await dpop.thumbprint());
  });

  it('forget() drops the key: a new one, a new thumbprint', async () => {
    const dpop = createDpop();
    const first = await dpop.thumbprint();
    expect(await dpop.thumbprint()).toBe(first);
    await dpop.forget();
    expect(await dpop.thumbprint()).not.toBe(first);
    // `proof` for other HTTP clients: the same key, the origin's last nonce.
    const { payload, jkt } = await verified(await dpop.proof('get', `${app.url}/x?y=1`));
    expect(payload).toMatchObject({ htm: 'GET', htu: `${app.url}/x` });
    expect(jkt).toBe(await dpop.thumbprint());
  });
});

describe('the key with another DPoP client', () => {
  it("oauth4webapi's DPoP handle signs with the add-on's key pair: the same thumbprint", async () => {
    const dpop = createDpop();
    const handle = oauth.DPoP({}, await dpop.keyPair());
    await oauth.protectedResourceRequest('opaque', 'GET', new URL(`${app.url}/api/orders`), new Headers(), null, {
      DPoP: handle,
      [oauth.allowInsecureRequests]: true,
    });
    const { payload, jkt } = await verified(seen[0]?.headers.dpop);
    expect(jkt).toBe(await dpop.thumbprint());
    expect(payload).toMatchObject({ htm: 'GET', htu: `${app.url}/api/orders`, ath: createHash('sha256').update('opaque').digest('base64url') });
  });
});

describe('DPoP nonces', () => {
  /** Refuses every proof without `nonce` the way RFC 9449 §8 (token endpoints) and §9 (resources) show. */
  function challengeWithout(nonce: string) {
    script = ({ path, headers }) => {
      const proof = String(headers.dpop ?? '');
      const sent = JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString() || '{}') as { nonce?: string };
      if (sent.nonce === nonce) return { status: 200, body: { ok: true } };
      if (path.startsWith('/auth/'))
        return {
          status: 400,
          headers: { 'dpop-nonce': nonce },
          body: { error: 'use_dpop_nonce', message: 'Retry with the DPoP nonce the server sent' },
        };
      return {
        status: 401,
        headers: { 'dpop-nonce': nonce, 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256 EdDSA"' },
        body: { error: 'use_dpop_nonce' },
      };
    };
  }

  it('a token endpoint asking for a nonce (400) is answered once more with it, and the nonce is kept for the origin', async () => {
    challengeWithout('n-1');
    const dpop = createDpop();
    const response = await dpop.fetch(`${app.url}/auth/login`, { method: 'POST', body: '{"username":"u"}' });
    expect(response.status).toBe(200);
    expect(seen.map((s) => s.body)).toEqual(['{"username":"u"}', '{"username":"u"}']);
    expect((await verified(seen[1]?.headers.dpop)).payload.nonce).toBe('n-1');
    // The next request starts with the nonce: no challenge.
    await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' });
    expect(seen).toHaveLength(3);
    expect((await verified(seen[2]?.headers.dpop)).payload.nonce).toBe('n-1');
  });

  it('a resource asking for a nonce (401 WWW-Authenticate: DPoP) is answered once more, a Request body included', async () => {
    const dpop = createDpop();
    const token = accessToken({ sub: 'u', cnf: { jkt: await dpop.thumbprint() } });
    challengeWithout('n-2');
    const request = new Request(`${app.url}/api/orders`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'order' });
    const response = await dpop.fetch(request);
    expect(response.status).toBe(200);
    expect(seen.map((s) => [s.headers.authorization, s.body])).toEqual([
      [`DPoP ${token}`, 'order'],
      [`DPoP ${token}`, 'order'],
    ]);
    const retry = await verified(seen[1]?.headers.dpop);
    expect(retry.payload).toMatchObject({ nonce: 'n-2', ath: createHash('sha256').update(token).digest('base64url') });
  });

  it('retries once, never in a loop, and leaves other refusals alone', async () => {
    const dpop = createDpop();
    let n = 0;
    script = () => ({ status: 400, headers: { 'dpop-nonce': `n-${++n}` }, body: { error: 'use_dpop_nonce' } });
    expect((await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' })).status).toBe(400);
    expect(seen).toHaveLength(2);
    // 400 invalid_dpop_proof, or a 401 whose challenge is not about a nonce: answered as they came.
    seen.length = 0;
    script = () => ({ status: 400, headers: { 'dpop-nonce': 'x' }, body: { error: 'invalid_dpop_proof' } });
    const refused = await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' });
    expect(await refused.json()).toEqual({ error: 'invalid_dpop_proof' }); // the body is still there for the client
    const token = accessToken({ cnf: { jkt: await dpop.thumbprint() } });
    script = () => ({
      status: 401,
      headers: { 'dpop-nonce': 'x', 'www-authenticate': 'DPoP error="invalid_token"' },
      body: { error: 'token_invalid' },
    });
    expect((await dpop.fetch(`${app.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    // A stream body cannot be sent twice: no retry.
    challengeWithout('n-3');
    const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('s')), c.close()) });
    const init = { method: 'POST', body: stream, duplex: 'half' } as RequestInit;
    expect((await dpop.fetch(`${app.url}/auth/login`, init)).status).toBe(400);
    expect(seen).toHaveLength(3); // one each: no retry of a refused proof, a 401 without the nonce error, or a stream
  });

  it("a device clock far off: the refused proof's answer gives the server's time, and the next proof is on it", async () => {
    const ahead = 600; // the server's clock is ten minutes ahead of this device's
    script = ({ headers }) => {
      const now = Math.floor(Date.now() / 1000) + ahead;
      const date = new Date(now * 1000).toUTCString();
      const claims = JSON.parse(Buffer.from(String(headers.dpop).split('.')[1] ?? '', 'base64url').toString()) as { iat: number; nonce?: string };
      // As the server checks: iat first (±60 s of its own time), then the nonce.
      if (Math.abs(claims.iat - now) > 60) return { status: 400, headers: { date }, body: { error: 'invalid_dpop_proof' } };
      if (claims.nonce !== 'n-4') return { status: 400, headers: { date, 'dpop-nonce': 'n-4' }, body: { error: 'use_dpop_nonce' } };
      return { status: 200, headers: { date }, body: { ok: true } };
    };
    const dpop = createDpop();
    const login = await dpop.fetch(`${app.url}/auth/login`, { method: 'POST', body: '{}' });
    expect(login.status).toBe(200);
    expect(seen).toHaveLength(3); // one retry for the clock, one for the nonce
    const iats = await Promise.all(seen.map(async (s) => (await verified(s.headers.dpop)).payload.iat!));
    expect(iats[1]! - iats[0]!).toBeGreaterThanOrEqual(ahead - 2);
    // From now on the proofs are on the server's time at once.
    expect((await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' })).status).toBe(200);
    expect(seen).toHaveLength(4);
    // A refusal that the clock does not explain is not retried.
    script = () => ({ status: 400, headers: { date: new Date(Date.now() + ahead * 1000).toUTCString() }, body: { error: 'invalid_dpop_proof' } });
    expect((await dpop.fetch(`${app.url}/auth/refresh`, { method: 'POST' })).status).toBe(400);
    expect(seen).toHaveLength(5);
  });
});

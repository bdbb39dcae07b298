// Every adapter's guards with a remote verifier in place of a Tessera, over real sockets: Express, Fastify,
// Hono (on @hono/node-server), NestJS (Express and Fastify platforms) and Next.js route handlers (behind a
// node:http bridge). The issuer is a local Tessera whose JWKS a tiny static server publishes. Each app answers
// a good token with its subject, and refuses a missing, forged or scope-lacking token, and a token whose
// JWKS copy is past maxStale (503 jwks_unavailable), with the same bodies the local guards write.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { serve } from '@hono/node-server';
import { Req } from '@nestjs/common';
import { listen, listenFastify, send, type RunningApp } from '@tessera/test-kit';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tessera as expressTessera } from '../../src/adapters/express.js';
import { tessera as fastifyTessera } from '../../src/adapters/fastify.js';
import { tessera as honoTessera } from '../../src/adapters/hono.js';
import { Auth, Authenticated, TesseraModule } from '../../src/adapters/nest/index.js';
import { tessera as nextTessera } from '../../src/adapters/next/index.js';
import type { Identity } from '../../src/adapters/adapter-kit.js';
import { createKeyRing, createTessera, generateKey, generateRefreshKey, type Tessera } from '../../src/index.js';
import { createRemoteVerifier, TesseraError, type RemoteVerifier } from '../../src/remote/index.js';
import { controller, nestModule, startNest } from '../conformance/apps-nest.js';
import { serveJwks, type JwksServer } from './static-jwks.js';

const ISSUER = 'https://auth.example';
const AUDIENCE = 'https://api.example';

let issuer: Tessera;
let jwks: JwksServer;
let verifier: RemoteVerifier;
let offset = 0;
const apps: { name: string; app: RunningApp }[] = [];

function hono(auth: RemoteVerifier): Promise<RunningApp> {
  const t = honoTessera(auth);
  const app = new Hono();
  app.get('/me', t.required(), (c) => c.json({ sub: c.var.auth?.sub }));
  app.get('/admin', t.required({ scope: 'admin' }), (c) => c.json({ sub: c.var.auth?.sub }));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
      resolve({ url: `http://127.0.0.1:${info.port}`, port: info.port, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

function expressApp(auth: RemoteVerifier): Promise<RunningApp> {
  const t = expressTessera(auth);
  const app = express();
  app.get('/me', t.required(), (req, res) => void res.json({ sub: t.identity(req).sub }));
  app.get('/admin', t.required({ scope: 'admin' }), (req, res) => void res.json({ sub: t.identity(req).sub }));
  return listen(createServer(app));
}

async function fastifyApp(auth: RemoteVerifier): Promise<RunningApp> {
  const app = Fastify();
  await app.register(fastifyTessera, { auth });
  app.get('/me', { preHandler: app.tessera.required() }, async (request) => ({ sub: app.tessera.identity(request).sub }));
  app.get('/admin', { preHandler: app.tessera.required({ scope: 'admin' }) }, async (request) => ({ sub: app.tessera.identity(request).sub }));
  return listenFastify(app);
}

function nestApp(auth: RemoteVerifier, platform: 'express' | 'fastify'): Promise<RunningApp> {
  const routes = controller([
    { method: 'get', path: '/me', decorators: [Authenticated()], params: [Auth()], run: (identity: Identity<never>) => ({ sub: identity.sub }) },
    { method: 'get', path: '/admin', decorators: [Authenticated({ scope: 'admin' })], params: [Req()], run: () => ({ ok: true }) },
  ]);
  return startNest(platform, nestModule({ imports: [TesseraModule.forRoot({ auth })], controllers: [routes] }));
}

/** Next.js route handlers behind the part of `next start` they need: a Web Request in, the Response written out. */
async function nextApp(auth: RemoteVerifier): Promise<RunningApp> {
  const t = nextTessera(auth);
  const routes: Record<string, (request: Request, context: { params: Promise<object> }) => Promise<Response>> = {
    '/me': t.required(async (_request, { auth: identity }) => Response.json({ sub: identity.sub })),
    '/admin': t.required(async (_request, { auth: identity }) => Response.json({ sub: identity.sub }), { scope: 'admin' }),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes[url.pathname];
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '');
    void (async () => {
      const response =
        route === undefined
          ? new Response(null, { status: 404 })
          : await route(new Request(url, { method: req.method ?? 'GET', headers }), { params: Promise.resolve({}) });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body === null) res.end();
      else Readable.fromWeb(response.body as WebReadableStream).pipe(res);
    })();
  });
  return listen(server);
}

beforeAll(async () => {
  issuer = createTessera({
    keys: createKeyRing({ signing: await generateKey('ES256') }),
    refreshKey: await generateRefreshKey(),
    issuer: ISSUER,
    audience: AUDIENCE,
  });
  jwks = await serveJwks(issuer.jwks());
  verifier = createRemoteVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: jwks.url,
    clock: { now: () => Date.now() + offset },
    log: false,
    maxTokenLife: '4h',
  });
  apps.push(
    { name: 'express', app: await expressApp(verifier) },
    { name: 'fastify', app: await fastifyApp(verifier) },
    { name: 'hono', app: await hono(verifier) },
    { name: 'nest-express', app: await nestApp(verifier, 'express') },
    { name: 'nest-fastify', app: await nestApp(verifier, 'fastify') },
    { name: 'next', app: await nextApp(verifier) },
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(apps.map(({ app }) => app.close()));
  await jwks?.close();
});

describe.each(['express', 'fastify', 'hono', 'nest-express', 'nest-fastify', 'next'])('%s guards with a remote verifier', (name) => {
  const url = () => apps.find((a) => a.name === name)?.app.url ?? '';
  it('accepts a good token, refuses missing, forged and scope-lacking ones with the stable codes', async () => {
    const token = issuer.createTokenPair({ sub: 'ada' }).access.token;
    const ok = await send(url(), '/me', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ sub: 'ada' });
    const missing = await send(url(), '/me');
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: 'token_missing' });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'root' })).toString('base64url')}.${s}`;
    const bad = await send(url(), '/me', { headers: { authorization: `Bearer ${forged}` } });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: 'token_invalid' });
    expect(bad.header('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    const scoped = await send(url(), '/admin', { headers: { authorization: `Bearer ${token}` } });
    expect(scoped.status).toBe(403);
    expect(scoped.body).toMatchObject({ error: 'insufficient_scope' });
  });
});

describe('verify-only sources', () => {
  it('get no login, refresh or logout handlers: a type error, and a TypeError when declared anyway', () => {
    const t = expressTessera(verifier);
    // @ts-expect-error a remote verifier has no login handler
    expect(() => t.login(() => null)).toThrow(/need a full Tessera/);
    const h = honoTessera(verifier);
    // @ts-expect-error nor a refresh-token guard
    expect(() => h.refreshRequired()).toThrow(/need a full Tessera/);
    expect(() => expressTessera(verifier, { implicitRefresh: { within: '5m' } })).toThrow(/needs a full Tessera/);
  });

  it('past maxStale with the JWKS down, every adapter answers 503 jwks_unavailable, never 401 and never 200', async () => {
    const token = issuer.createTokenPair({ sub: 'ada' }).access.token;
    jwks.set({ down: true });
    offset += 2 * 3600_000;
    for (const { name, app } of apps) {
      const answer = await send(app.url, '/me', { headers: { authorization: `Bearer ${token}` } });
      expect([name, answer.status]).toEqual([name, 503]);
      expect(answer.body).toMatchObject({ error: 'jwks_unavailable' });
    }
  });
});

describe('the transport rules of a remote verifier are the core’s (authenticate with plain values)', () => {
  it('a cookie on a state-changing request needs the Origin and CSRF checks; a missing token and two Authorization lines are typed refusals', async () => {
    const fresh = createRemoteVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwks.url, log: false });
    jwks.set({ down: false });
    const pair = issuer.createTokenPair({ sub: 'ada', csrf: true });
    const cookie = `__Host-tessera-access=${pair.access.token}`;
    const base = { method: 'POST', protocol: 'http' } as const;
    const ok = await fresh.authenticate({ ...base, headers: ['host', 'api.example', 'cookie', cookie, 'x-csrf-token', pair.csrf ?? ''] });
    expect(ok.sub).toBe('ada');
    expect(ok.location).toBe('cookie');
    await expect(fresh.authenticate({ ...base, headers: ['host', 'api.example', 'cookie', cookie] })).rejects.toMatchObject({ code: 'csrf_failed' });
    await expect(
      fresh.authenticate({
        ...base,
        headers: ['host', 'api.example', 'cookie', cookie, 'sec-fetch-site', 'cross-site', 'x-csrf-token', pair.csrf ?? ''],
      }),
    ).rejects.toMatchObject({ code: 'origin_refused' });
    expect(await fresh.authenticate({ method: 'GET', headers: [] }, { optional: true })).toBeNull();
    await expect(fresh.authenticate({ method: 'GET', headers: [] })).rejects.toMatchObject({ code: 'token_missing' });
    await expect(
      fresh.authenticate({ method: 'GET', headers: ['authorization', `Bearer ${pair.access.token}`, 'authorization', 'Bearer x'] }),
    ).rejects.toBeInstanceOf(TesseraError);
  });
});

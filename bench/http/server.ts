// One benchmark server (child process of bench/http/index.ts): a framework with six routes answering the same small
// JSON — bare, bare behind a middleware that does nothing, bare with one floor verify in the handler, the Tessera guard
// with the verified-token cache on and off (on Hono as one handler, plus the middleware form on two more routes), and
// the framework's usual JWT peer — all but the bare ones checking the same access token. Stateless Tessera (no session
// store): token-only, like the peers.
// Usage: node --import tsx bench/http/server.ts <express|fastify|hono> <HS256|EdDSA>
import { serve } from '@hono/node-server';
import fastifyJwt from '@fastify/jwt';
import { createTessera, generateKey, generateRefreshKey, type Algorithm, type Key, type Tessera } from '@tessera/auth';
import { tessera as expressTessera } from '@tessera/auth/express';
import { tessera as fastifyTessera } from '@tessera/auth/fastify';
import { tessera as honoTessera } from '@tessera/auth/hono';
import express, { type Request } from 'express';
import { expressjwt } from 'express-jwt';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { jwt as honoJwt } from 'hono/jwt';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { floorVerifier } from '../verify/floor.js';

export const SUB = 'user-1042';
/** One hour: the one token every request carries stays valid for the whole run. */
const TTL_SECONDS = 3600;

/** What the child tells the parent once it listens. */
export interface ServerInfo {
  readonly ready: true;
  readonly port: number;
  readonly token: string;
  /** Routes served; a missing peer is named with the reason. */
  readonly routes: Record<string, string>;
  readonly missing: Record<string, string>;
}

type Framework = 'express' | 'fastify' | 'hono';

/** A framework's app: how to listen, the peer it lacks (and why), and any routes beside the shared ones. */
interface App {
  listen: () => Promise<number>;
  missing: Record<string, string>;
  routes?: Record<string, string>;
}

interface Setup {
  readonly alg: Algorithm;
  /** The floor of bench/verify: one node:crypto check and the claim checks, nothing else. */
  readonly floor: (headers: IncomingHttpHeaders) => string;
  readonly key: Key;
  readonly cached: Tessera;
  readonly uncached: Tessera;
  readonly token: string;
  readonly issuer: string;
  readonly audience: string;
}

async function setup(alg: Algorithm): Promise<Setup> {
  const key = await generateKey(alg);
  const refreshKey = await generateRefreshKey();
  const cached = createTessera({ keys: key, refreshKey, accessTtl: TTL_SECONDS });
  const uncached = createTessera({ keys: key, refreshKey, accessTtl: TTL_SECONDS, verifiedCacheSize: 0 });
  const { token } = cached.createAccessToken({ sub: SUB });
  const { issuer, audience } = cached.config;
  const verify = floorVerifier({ alg, kid: key.kid, issuer, audience, signingKey: key.verifyingKey, verifyingKey: key.verifyingKey });
  // The least a route can do to trust a Bearer token: take what follows the scheme and verify it.
  const floor = (headers: IncomingHttpHeaders): string => {
    const value = headers.authorization;
    if (value === undefined || !value.startsWith('Bearer ')) throw new Error('no Bearer token');
    return verify(value.slice(7)).sub as string;
  };
  return { alg, key, floor, cached, uncached, token, issuer, audience };
}

/** The peers get the key in the form each is fastest with: raw bytes or PEM for node:crypto ones, a CryptoKey for Hono (WebCrypto). */
function pem(s: Setup): string {
  return s.key.verifyingKey.export({ type: 'spki', format: 'pem' }).toString();
}

async function cryptoKey(s: Setup): Promise<webcrypto.CryptoKey> {
  if (s.alg === 'HS256') return webcrypto.subtle.importKey('raw', s.key.verifyingKey.export(), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return webcrypto.subtle.importKey('spki', s.key.verifyingKey.export({ type: 'spki', format: 'der' }), { name: 'Ed25519' }, false, ['verify']);
}

async function expressApp(s: Setup): Promise<App> {
  const app = express();
  // As the adapters' own tests do: no X-Powered-By, no ETag (hashing every body would tax every route alike).
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/bare', (_req, res) => {
    res.json({ sub: SUB });
  });
  app.get(
    '/bare-mw',
    (_req, _res, next) => next(),
    (_req, res) => {
      res.json({ sub: SUB });
    },
  );
  app.get('/floor', (req, res) => {
    res.json({ sub: s.floor(req.headers) });
  });
  const cached = expressTessera(s.cached);
  const uncached = expressTessera(s.uncached);
  app.get('/tessera', cached.required(), (req, res) => {
    res.json({ sub: cached.identity(req).sub });
  });
  app.get('/tessera-nocache', uncached.required(), (req, res) => {
    res.json({ sub: uncached.identity(req).sub });
  });
  const missing: Record<string, string> = {};
  if (s.alg === 'HS256') {
    app.get(
      '/peer',
      expressjwt({ secret: s.key.verifyingKey.export(), algorithms: ['HS256'], issuer: s.issuer, audience: s.audience, requestProperty: 'peer' }),
      (req: Request & { peer?: { sub?: string } }, res) => {
        res.json({ sub: req.peer?.sub });
      },
    );
  } else missing.peer = 'express-jwt 8 verifies with jsonwebtoken 9, which has no EdDSA.';
  return {
    missing,
    listen: () =>
      new Promise((resolve) => {
        const server: Server = app.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      }),
  };
}

async function fastifyApp(s: Setup): Promise<App> {
  const app = Fastify({ logger: false });
  app.get('/bare', async () => ({ sub: SUB }));
  app.get('/floor', async (request) => ({ sub: s.floor(request.headers) }));
  app.get('/bare-mw', { preHandler: async () => undefined }, async () => ({ sub: SUB }));
  // Two Tessera instances: each plugin registration in a scope of its own (it decorates the instance it is given).
  for (const [path, auth] of [
    ['/tessera', s.cached],
    ['/tessera-nocache', s.uncached],
  ] as const) {
    await app.register(async (scope) => {
      await scope.register(fastifyTessera, { auth });
      scope.get(path, { preHandler: scope.tessera.required() }, async (request) => ({ sub: scope.tessera.identity(request).sub }));
    });
  }
  await app.register(async (scope) => {
    const secret = s.alg === 'HS256' ? s.key.verifyingKey.export() : { public: pem(s) };
    await scope.register(fastifyJwt, { secret, verify: { algorithms: [s.alg], allowedIss: s.issuer, allowedAud: s.audience } });
    scope.get('/peer', { onRequest: (request) => request.jwtVerify() }, async (request) => ({ sub: (request.user as { sub: string }).sub }));
  });
  return {
    missing: {},
    listen: async () => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      return (app.server.address() as AddressInfo).port;
    },
  };
}

async function honoApp(s: Setup): Promise<App> {
  const app = new Hono();
  app.get('/bare', (c) => c.json({ sub: SUB }));
  app.get('/floor', (c) => c.json({ sub: s.floor(nodeHeaders(c.env)) }));
  app.get(
    '/bare-mw',
    (_c, next) => next(),
    (c) => c.json({ sub: SUB }),
  );
  const cached = honoTessera(s.cached);
  const uncached = honoTessera(s.uncached);
  // One handler (the guard inside it), like the bare and floor routes: Hono keeps its synchronous dispatch for all three.
  // c.get, not c.var: Hono builds c.var as a new object on every read, which the other routes do not pay.
  app.get(
    '/tessera',
    cached.guarded((c) => c.json({ sub: c.get('auth').sub })),
  );
  app.get(
    '/tessera-nocache',
    uncached.guarded((c) => c.json({ sub: c.get('auth').sub })),
  );
  // The middleware form, beside it: a second handler puts the route on Hono's async compose path.
  app.get('/tessera-mw', cached.required(), (c) => c.json({ sub: cached.identity(c).sub }));
  app.get('/tessera-nocache-mw', uncached.required(), (c) => c.json({ sub: uncached.identity(c).sub }));
  const secret = await cryptoKey(s);
  app.get('/peer', honoJwt({ secret, alg: s.alg, verification: { iss: s.issuer, aud: s.audience, typ: 'at+jwt' } }), (c) =>
    c.json({ sub: (c.get('jwtPayload') as { sub: string }).sub }),
  );
  return {
    missing: {},
    routes: { 'Tessera · cache on · middleware': '/tessera-mw', 'Tessera · cache off · middleware': '/tessera-nocache-mw' },
    listen: () =>
      new Promise((resolve) => {
        serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
      }),
  };
}

/** The Node request's parsed headers, as `@hono/node-server` hands them over (`c.env.incoming`). */
function nodeHeaders(env: unknown): IncomingHttpHeaders {
  return (env as { incoming: { headers: IncomingHttpHeaders } }).incoming.headers;
}

async function main(): Promise<void> {
  const [framework, alg] = process.argv.slice(2) as [Framework, Algorithm];
  const s = await setup(alg);
  const app = framework === 'express' ? await expressApp(s) : framework === 'fastify' ? await fastifyApp(s) : await honoApp(s);
  const port = await app.listen();
  const routes: Record<string, string> = {
    bare: '/bare',
    'bare + floor verify': '/floor',
    // What the framework charges for any middleware (Hono: its async compose path), beside what the guard adds.
    'bare + no-op middleware': '/bare-mw',
    'Tessera · cache on': '/tessera',
    'Tessera · cache off': '/tessera-nocache',
    ...app.routes,
    ...(app.missing.peer === undefined ? { peer: '/peer' } : {}),
  };
  const info: ServerInfo = { ready: true, port, token: s.token, routes, missing: app.missing };
  process.send?.(info);
  // The parent ends us with SIGTERM; exit cleanly so that a --cpu-prof profile is written.
  process.once('SIGTERM', () => process.exit(0));
}

await main();

// The adapter conformance suite on all three frameworks, then the same requests compared byte for
// byte across them (docs/architecture.md "Conventions"). Each app mounts the routes listed in test/conformance/adapter.ts
// with its own adapter, writing its own answers as the HttpResult the suite names.
import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express, { type ErrorRequestHandler, type Response as ExpressResponse } from 'express';
import Fastify, { type FastifyReply } from 'fastify';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { tessera as expressTessera } from '../../src/adapters/express.js';
import { tessera as fastifyTessera } from '../../src/adapters/fastify.js';
import { tessera as honoTessera } from '../../src/adapters/hono.js';
import type { AdapterOptions } from '../../src/adapters/adapter-kit.js';
import { jsonResult, type HttpResult, type Tessera } from '../../src/index.js';
import {
  ADMIN_CLAIMS,
  BODY_LIMIT,
  bodyErrorResult,
  checkCredentials,
  describeAdapter,
  describeAdapterEquivalence,
  listen,
  meBody,
  subBody,
  TRANSPORTS,
  type RunningApp,
  type User,
} from '../conformance/adapter.js';

// --- Express 5 -------------------------------------------------------------------------------

function writeExpress(res: ExpressResponse, result: HttpResult): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, typeof value === 'string' ? value : [...value]);
  res.end(result.body);
}

async function makeExpress(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: BODY_LIMIT }));
  const t = expressTessera<User>(auth, options);
  const answer = (body: (req: express.Request) => Record<string, unknown>) => (req: express.Request, res: ExpressResponse) =>
    writeExpress(res, jsonResult(200, body(req)));
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get(
    '/me',
    t.required(),
    answer((req) => meBody(t.identity(req))),
  );
  app.post(
    '/me',
    t.required(),
    answer((req) => meBody(t.identity(req))),
  );
  app.get(
    '/optional',
    t.optional(),
    answer((req) => subBody(req.auth === null ? null : t.identity(req))),
  );
  app.post(
    '/fresh',
    t.fresh(),
    answer((req) => subBody(t.identity(req))),
  );
  app.get(
    '/admin',
    t.required({ claims: ADMIN_CLAIMS }),
    answer((req) => subBody(t.identity(req))),
  );
  app.post(
    '/refresh-only',
    t.refreshRequired(),
    answer((req) => subBody(t.identity(req))),
  );
  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
    if (type === 'entity.too.large') return writeExpress(res, bodyErrorResult('too_large', options));
    if (type === 'entity.parse.failed') return writeExpress(res, bodyErrorResult('invalid_json', options));
    next(err);
  };
  app.use(onError);
  return listen(createServer(app));
}

// --- Fastify 5 -------------------------------------------------------------------------------

function writeFastify(reply: FastifyReply, result: HttpResult): FastifyReply {
  reply.code(result.status);
  for (const [name, value] of Object.entries(result.headers)) reply.header(name, typeof value === 'string' ? value : [...value]);
  return reply.send(result.body);
}

/** Fastify's own body refusals, by code; anything else is a defect and stays a 500 that fails the suite. */
const FASTIFY_BODY_ERRORS: Readonly<Record<string, 'invalid_json' | 'too_large' | 'unsupported_type'>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_type',
};

async function makeFastify(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const app = Fastify({ bodyLimit: BODY_LIMIT });
  // A cross-site form can post text/plain without a preflight: take JSON only (docs/architecture.md "Platform notes").
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err: { code?: string }, _request, reply) => {
    const kind = err.code === undefined ? undefined : FASTIFY_BODY_ERRORS[err.code];
    if (kind !== undefined) return writeFastify(reply, bodyErrorResult(kind, options));
    return reply.code(500).send({ error: 'internal', message: 'unexpected error' });
  });
  await app.register(fastifyTessera, { auth, ...options });
  const t = app.tessera;
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get('/me', { preHandler: t.required() }, async (request, reply) => writeFastify(reply, jsonResult(200, meBody(t.identity(request)))));
  app.post('/me', { preHandler: t.required() }, async (request, reply) => writeFastify(reply, jsonResult(200, meBody(t.identity(request)))));
  app.get('/optional', { preHandler: t.optional() }, async (request, reply) =>
    writeFastify(reply, jsonResult(200, subBody(request.auth === null ? null : t.identity(request)))),
  );
  app.post('/fresh', { preHandler: t.fresh() }, async (request, reply) => writeFastify(reply, jsonResult(200, subBody(t.identity(request)))));
  app.get('/admin', { preHandler: t.required({ claims: ADMIN_CLAIMS }) }, async (request, reply) =>
    writeFastify(reply, jsonResult(200, subBody(t.identity(request)))),
  );
  app.post('/refresh-only', { preHandler: t.refreshRequired() }, async (request, reply) =>
    writeFastify(reply, jsonResult(200, subBody(t.identity(request)))),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('Fastify is not listening on a TCP port');
  return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

// --- Hono 4 on @hono/node-server -------------------------------------------------------------

function toResponse(result: HttpResult): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else for (const item of value) headers.append(name, item);
  }
  return new Response(result.body ?? null, { status: result.status, headers });
}

async function makeHono(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const app = new Hono();
  // Hono has no body parser of its own: the adapter parses JSON (and answers invalid_request); the size limit is the app's.
  app.use(bodyLimit({ maxSize: BODY_LIMIT, onError: () => toResponse(bodyErrorResult('too_large', options)) }));
  const t = honoTessera<User>(auth, options);
  const answer = (body: (c: Context) => Record<string, unknown>) => (c: Context) => toResponse(jsonResult(200, body(c)));
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get(
    '/me',
    t.required(),
    answer((c) => meBody(t.identity(c))),
  );
  app.post(
    '/me',
    t.required(),
    answer((c) => meBody(t.identity(c))),
  );
  app.get(
    '/optional',
    t.optional(),
    answer((c) => subBody(c.get('auth') === null ? null : t.identity(c))),
  );
  app.post(
    '/fresh',
    t.fresh(),
    answer((c) => subBody(t.identity(c))),
  );
  app.get(
    '/admin',
    t.required({ claims: ADMIN_CLAIMS }),
    answer((c) => subBody(t.identity(c))),
  );
  app.post(
    '/refresh-only',
    t.refreshRequired(),
    answer((c) => subBody(t.identity(c))),
  );
  // On Node, createAdaptorServer makes a plain http.Server (its type also covers the HTTP/2 servers it can make).
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
}

const ADAPTERS = [
  { name: 'express', make: makeExpress },
  { name: 'fastify', make: makeFastify },
  { name: 'hono', make: makeHono },
];

for (const adapter of ADAPTERS) describeAdapter(adapter.name, adapter.make);
describeAdapterEquivalence(ADAPTERS);

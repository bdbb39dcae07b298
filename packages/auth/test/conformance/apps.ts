// The apps the adapter conformance suite (./adapter.ts) drives, one per framework: each mounts the routes
// listed at the top of adapter.ts with its own adapter, writing its own answers as the HttpResult the
// suite names, and listens through the test kit.
import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { listen, listenFastify, type RunningApp } from '@tessera/test-kit';
import express, { type ErrorRequestHandler, type Response as ExpressResponse } from 'express';
import Fastify, { type FastifyReply } from 'fastify';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { tessera as expressTessera, TesseraHttpError } from '../../src/adapters/express.js';
import { tessera as fastifyTessera } from '../../src/adapters/fastify.js';
import { tessera as honoTessera, TesseraHTTPException } from '../../src/adapters/hono.js';
import { toWebResponse as toResponse } from '../../src/adapters/web.js';
import type { AdapterOptions, GuardOptions, Identity } from '../../src/adapters/adapter-kit.js';
import { jsonResult, type HttpResult, type Tessera } from '../../src/index.js';
import { makeNestExpress, makeNestFastify } from './apps-nest.js';
import {
  ADMIN_CLAIMS,
  BODY_LIMIT,
  bodyErrorResult,
  checkCredentials,
  HANDLED_BY,
  meBody,
  SCOPED,
  subBody,
  TRANSPORTS,
  type AdapterUnderTest,
  type User,
} from './adapter.js';
import { makeNext } from './apps-next.js';

/**
 * A guarded route of the suite: method, path, its guard, and the body it answers for the identity the guard set;
 * `required` holds the options of a `required()` guard, for the adapters that can also guard as one handler.
 */
type GuardedRoute<G> = { readonly method: 'get' | 'post'; readonly path: string; readonly guard: G; readonly required?: GuardOptions } & (
  | { readonly optional: false; body(identity: Identity<unknown>): Record<string, unknown> }
  | { readonly optional: true; body(identity: Identity<unknown> | null): Record<string, unknown> }
);

/** The guarded routes listed at the top of adapter.ts, with the guards of one adapter (an optional guard may be typed apart). */
function guardedRoutes<G, O = G>(t: { required(options?: GuardOptions): G; optional(): O; fresh(): G; refreshRequired(): G }): GuardedRoute<G | O>[] {
  return [
    { method: 'get', path: '/me', guard: t.required(), required: {}, optional: false, body: meBody },
    { method: 'post', path: '/me', guard: t.required(), required: {}, optional: false, body: meBody },
    { method: 'get', path: '/optional', guard: t.optional(), optional: true, body: subBody },
    { method: 'post', path: '/fresh', guard: t.fresh(), optional: false, body: subBody },
    {
      method: 'get',
      path: '/admin',
      guard: t.required({ claims: ADMIN_CLAIMS }),
      required: { claims: ADMIN_CLAIMS },
      optional: false,
      body: subBody,
    },
    { method: 'get', path: '/scoped', guard: t.required({ scope: SCOPED }), required: { scope: SCOPED }, optional: false, body: subBody },
    { method: 'post', path: '/refresh-only', guard: t.refreshRequired(), optional: false, body: subBody },
  ];
}

/** What a guarded route answers: its body for the request's identity (none, on an optional route without a token). */
function answerOf<G>(route: GuardedRoute<G>, auth: unknown, identity: () => Identity<unknown>): HttpResult {
  return jsonResult(200, route.optional ? route.body(auth === null ? null : identity()) : route.body(identity()));
}

// --- Express 5 -------------------------------------------------------------------------------

/** Writes an HttpResult as it is (as the adapter does), so the app's own answers match the adapter's bytes. */
function writeExpress(res: ExpressResponse, result: HttpResult): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, typeof value === 'string' ? value : [...value]);
  res.end(result.body);
}

export async function makeExpress(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const app = express();
  // Framework extras the other adapters do not add.
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: BODY_LIMIT }));
  const t = expressTessera<User>(auth, options);
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  for (const route of guardedRoutes(t))
    app[route.method](route.path, route.guard, (req, res) =>
      writeExpress(
        res,
        answerOf(route, req.auth, () => t.identity(req)),
      ),
    );
  // body-parser's refusals carry `type`; anything else is a defect and must surface as a failing 500.
  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    // With errors: 'throw', Tessera's refusals arrive here: the app writes them itself, marked as its own.
    if (err instanceof TesseraHttpError) {
      res.setHeader(HANDLED_BY, `app:${err.code}:${err.statusCode}`);
      return writeExpress(res, { status: err.status, headers: err.headers, body: err.body });
    }
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

export async function makeFastify(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const app = Fastify({ bodyLimit: BODY_LIMIT });
  // A cross-site form can post text/plain without a preflight: take JSON only (docs/architecture.md "Platform notes").
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err: { code?: string }, _request, reply) => {
    // With errors: 'throw', Tessera's refusals arrive here: the app writes them itself, marked as its own.
    if (err instanceof TesseraHttpError) {
      reply.header(HANDLED_BY, `app:${err.code}:${err.statusCode}`);
      return writeFastify(reply, { status: err.statusCode, headers: err.headers, body: err.body });
    }
    const kind = err.code === undefined ? undefined : FASTIFY_BODY_ERRORS[err.code];
    if (kind !== undefined) return writeFastify(reply, bodyErrorResult(kind, options));
    return reply.code(500).send({ error: 'internal', message: 'unexpected error' });
  });
  await app.register(fastifyTessera, { auth, ...options });
  const t = app.tessera;
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  for (const route of guardedRoutes(t))
    app[route.method](route.path, { preHandler: route.guard }, async (request, reply) =>
      writeFastify(
        reply,
        answerOf(route, request.auth, () => t.identity(request)),
      ),
    );
  return listenFastify(app);
}

// --- Hono 4 on @hono/node-server -------------------------------------------------------------

export function makeHono(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  return honoApp(auth, options, 'middleware');
}

/** The same app with every `required()` route guarded as one handler (`t.guarded`), Hono's synchronous dispatch. */
export function makeHonoOneHandler(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  return honoApp(auth, options, 'one handler');
}

async function honoApp(auth: Tessera, options: AdapterOptions<User>, form: 'middleware' | 'one handler'): Promise<RunningApp> {
  const app = new Hono();
  // Hono has no body parser of its own: the adapter parses JSON (and answers invalid_request); the size limit is the app's.
  app.use(bodyLimit({ maxSize: BODY_LIMIT, onError: () => toResponse(bodyErrorResult('too_large', options)) }));
  const t = honoTessera<User>(auth, options);
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  for (const route of guardedRoutes(t)) {
    if (form === 'one handler' && route.required !== undefined)
      app[route.method](
        route.path,
        t.guarded(route.required, (c) => toResponse(answerOf(route, c.var.auth, () => t.identity(c)))),
      );
    else app[route.method](route.path, route.guard as MiddlewareHandler, (c) => toResponse(answerOf(route, c.get('auth'), () => t.identity(c))));
  }
  // With errors: 'throw', Tessera's refusals arrive here as an HTTPException whose response is Tessera's answer.
  app.onError((err, c) => {
    if (!(err instanceof TesseraHTTPException)) return c.text('Internal Server Error', 500);
    const response = err.getResponse();
    response.headers.set(HANDLED_BY, `app:${err.code}:${err.status}`);
    return response;
  });
  // On Node, createAdaptorServer makes a plain http.Server (its type also covers the HTTP/2 servers it can make).
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
}

/** Every adapter, in the order the suites run them. */
export const ADAPTERS: readonly AdapterUnderTest[] = [
  { name: 'express', make: makeExpress },
  { name: 'fastify', make: makeFastify },
  { name: 'hono', make: makeHono },
  { name: 'hono-one-handler', make: makeHonoOneHandler },
  { name: 'next', make: makeNext, webHeaders: true },
  { name: 'nest-express', make: makeNestExpress },
  { name: 'nest-fastify', make: makeNestFastify },
];

// JWKS, health, readiness, metrics, the OpenAPI document and the pages.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Runtime } from '../runtime.js';
import { demoRoutes } from '../demo/serve.js';
import { interactiveDocs } from '../docs/interactive.js';
import { metricsTokenRefused, send } from '../http-errors.js';
import { docsPage, type OpenApiDocument } from '../pages.js';
import { schemas } from './schemas.js';

/** Pages get a strict CSP (scripts only from this origin, never inline; no framing), nosniff and a referrer policy (docs/architecture.md). */
export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

function page(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .code(200)
    .headers({ ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
    .send(html);
}

export function operationRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { auth } = runtime;

  // Verifiers may cache for TESSERA_JWKS_MAX_AGE, at most half the publish delay: a rotation publishes
  // the next key that long before it signs, so every cached copy has it by then (docs/architecture.md "Keys").
  const jwksCache = `public, max-age=${runtime.config.jwksMaxAge}`;
  app.get('/.well-known/jwks.json', { schema: schemas.jwks }, async (_request, reply) =>
    reply.header('cache-control', jwksCache).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(auth.jwks())),
  );

  app.get('/healthz', { schema: schemas.health }, async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', { schema: schemas.ready }, async (_request, reply) => {
    // Degraded (Redis down) is still ready: SQL answers session checks and the memory throttle counts.
    const { ready, checks, degraded } = await runtime.readiness();
    // A draining instance (SIGTERM) is unready whatever its stores say, so a load balancer stops sending to it.
    if (runtime.draining)
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .send({ status: 'unavailable', detail: 'draining: the server is shutting down', checks });
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ready' : 'unavailable', checks, ...(degraded === undefined ? {} : { degraded }) });
  });

  const token = runtime.config.metricsToken;
  if (token !== undefined) {
    const expected = Buffer.from(`Bearer ${token}`);
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return send(reply, metricsTokenRefused());
      }
      return reply.header('content-type', runtime.metrics.registry.contentType).send(await runtime.metrics.registry.metrics());
    });
  }

  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(app.swagger())),
  );
  if (runtime.config.docs === 'interactive') app.register(interactiveDocs, { pageHeaders: PAGE_HEADERS });
  else app.get('/docs', { schema: { hide: true } }, async (_request, reply) => page(reply, docsPage(app.swagger() as OpenApiDocument)));
  demoRoutes(app, PAGE_HEADERS);
}

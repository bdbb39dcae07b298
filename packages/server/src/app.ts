// The Fastify app, built by a function that never listens: tests use it in-process and over a
// socket; `tessera serve` listens. It composes the library; no token logic lives here.
import swagger from '@fastify/swagger';
import { CSRF_HEADER } from '@tessera/auth/protocol';
import { tessera } from '@tessera/auth/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { openApiOptions } from './docs/openapi.js';
import { handleClientError, handleConnect, handleError, handleNotFound, hostRefusal } from './http-errors.js';
import { oauthRoutes } from './oauth/routes.js';
import { accountRoutes } from './routes/account.js';
import { exchangeRoutes } from './routes/exchange.js';
import { operationRoutes } from './routes/operations.js';
import { lazyChildLogger } from './request-logger.js';
import { revocationRoutes } from './routes/revocations.js';
import { sessionRoutes } from './routes/sessions.js';
import type { Runtime } from './runtime.js';
import { traceTessera } from './telemetry/routes.js';

/** Bodies on auth routes are small; anything larger is refused with 413 before it is buffered. */
const BODY_LIMIT = 16 * 1024;

export async function buildApp(runtime: Runtime): Promise<FastifyInstance> {
  const { config, users, auth } = runtime;
  const app = Fastify({
    loggerInstance: runtime.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Fastify's own request lines log the URL with its query string, where a careless client may put
    // a token: the onResponse hook below logs one line per request without it.
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's logger (bound to its reqId) is made at its first line: most requests write none below info.
    childLoggerFactory: lazyChildLogger,
    clientErrorHandler: handleClientError,
    // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; the first onRequest hook refuses it
    // in the JSON contract instead (RFC 9112 §3.2).
    http: { requireHostHeader: false },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  // JSON, and form bodies for bearer logins (as simplejwt and FastAPI take them); never text/plain,
  // which a cross-site form could send without a preflight.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // CONNECT never reaches Fastify: Node emits it on the server, and drops the socket when nobody listens.
  app.server.on('connect', handleConnect);
  app.addHook('onRequest', (request, _reply, done) => {
    done(hostRefusal(request.raw));
  });
  // Callback hooks, not async ones: they run on every request, and a promise each is measurable.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unknown';
    runtime.metrics.latency.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (runtime.log.isLevelEnabled('info')) {
      const path = request.url.split('?', 1)[0];
      request.log.info({ method: request.method, path, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    }
    done();
  });
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !allowed.has(origin)) return;
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-allow-credentials', 'true');
      // A single-page app on another origin reads the DPoP nonce challenge (RFC 9449 §8) and the Basic/DPoP challenges.
      reply.header('access-control-expose-headers', 'dpop-nonce, www-authenticate');
      if (request.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, DELETE')
          .header('access-control-allow-headers', `authorization, content-type, dpop, ${CSRF_HEADER}`)
          .header('access-control-max-age', '600')
          .send();
      }
    });
  }

  // The document's frame (info, servers, tags, security schemes with this server's cookie names); the operations come from the route schemas.
  await app.register(swagger, openApiOptions(auth.config));
  await app.register(tessera, {
    auth,
    // Every guarded request and refresh checks its user (from a read at most a second old): a disabled user is refused.
    lookupUser: async (claims) => {
      const user = await users.recentById(claims.sub, runtime.clock.now());
      // Undefined, not a throw: the adapter then refuses with user_invalid, after any session check.
      return user === undefined || user.disabledAt !== null ? undefined : user;
    },
  });
  // Spans for login, refresh, logout and every guard (a no-op without an OpenTelemetry SDK): before the routes use the verbs.
  traceTessera(app.tessera);

  accountRoutes(app, runtime);
  sessionRoutes(app, runtime);
  exchangeRoutes(app, runtime);
  operationRoutes(app, runtime);
  // The revocation feed for resource servers, outside /auth and the token guard; only with TESSERA_REVOCATIONS_TOKEN.
  revocationRoutes(app, runtime);
  // Only while TESSERA_ISSUER turns OAuth on (oauth/issuer.ts).
  oauthRoutes(app, runtime);
  return app;
}

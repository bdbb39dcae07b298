// Fastify 5 adapter: request → plain values → core → reply. Nothing else happens here.
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
} from 'fastify';
import fp from 'fastify-plugin';
import {
  AdapterKit,
  frameworkTessera,
  NO_GUARD,
  TesseraHttpError,
  isAuthenticator,
  type AdapterOptions,
  type Authenticator,
  type FrameworkTessera,
  type Identity,
} from './adapter-kit.js';
import { AdapterRequest, requestPath, type AuthRequest, type RequestFacts } from '../core/transport/request.js';
import type { HttpResult } from '../core/transport/error-response.js';
import type { Tessera } from '../core/tessera.js';

export { TesseraHttpError };

/**
 * Types your app registers, as with `@fastify/jwt`: `user` is what `lookupUser` returns and `identity()`
 * carries; `claims` the custom claims of your tokens.
 * @example
 * declare module '@tessera/auth/fastify' {
 *   interface FastifyTesseraTypes { user: User; claims: { roles: string[] } }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the app's module augmentation.
export interface FastifyTesseraTypes {}

/** The user type registered in `FastifyTesseraTypes`, or `unknown` when none is. */
export type FastifyTesseraUser = FastifyTesseraTypes extends { user: infer User } ? User : unknown;

/** The claims type registered in `FastifyTesseraTypes`, or `object` when none is. */
export type FastifyTesseraClaims = FastifyTesseraTypes extends { claims: infer Claims extends object } ? Claims : object;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a Tessera guard: the verified caller, or null on an optional route without a token (and on unguarded routes). */
    auth: Identity<FastifyTesseraUser, FastifyTesseraClaims> | null;
  }
  interface FastifyInstance {
    /** The guards and handlers registered by the `@tessera/auth` plugin. */
    tessera: FastifyTessera<FastifyTesseraUser, FastifyTesseraClaims>;
  }
}

/**
 * Options of the plugin: the `Tessera` instance (or, for guards only, a remote verifier of
 * `@tessera/auth/remote`, whose `login`, `refresh`, `logout` and `refreshRequired` throw when declared) and the adapter options.
 */
export type FastifyTesseraOptions = { auth: Tessera | Authenticator } & AdapterOptions<FastifyTesseraUser, FastifyTesseraClaims>;

/** A route handler behind a required guard, as `authed()` takes it: `request.auth` is set. */
export type AuthedRouteHandler<User, Claims extends object, RouteGeneric extends RouteGenericInterface = RouteGenericInterface> = (
  this: FastifyInstance,
  request: FastifyRequest<RouteGeneric> & { auth: Identity<User, Claims> },
  reply: FastifyReply<RouteGeneric>,
) => unknown;

/** The guards (preHandler hooks) and route handlers of one `Tessera` for Fastify, as `fastify.tessera`. */
export type FastifyTessera<User, Claims extends object = object> = FrameworkTessera<
  preHandlerAsyncHookHandler,
  RouteHandlerMethod,
  FastifyRequest,
  User,
  Claims
> & {
  /**
   * A handler whose `request.auth` is typed as set (user and claims): use it on a route whose
   * preHandler is `required()`, `fresh()` or `refreshRequired()`; without one it throws.
   * @example app.get('/me', { preHandler: app.tessera.required() }, app.tessera.authed(async (request) => ({ sub: request.auth.sub })));
   */
  authed<RouteGeneric extends RouteGenericInterface = RouteGenericInterface>(
    handler: AuthedRouteHandler<User, Claims, RouteGeneric>,
  ): RouteHandlerMethod<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, RouteGeneric>;
};

/**
 * Tessera for Fastify 5: decorates `request.auth` and `fastify.tessera`.
 * @example
 * await app.register(tessera, { auth });
 * app.get('/me', { preHandler: app.tessera.required() }, async (request) => ({ sub: app.tessera.identity(request).sub }));
 */
export const tessera = fp(
  async function tesseraPlugin(fastify: FastifyInstance, options: FastifyTesseraOptions): Promise<void> {
    const { auth, ...adapterOptions } = options;
    if (!isAuthenticator(auth))
      throw new TypeError('Register @tessera/auth with { auth }, where auth comes from createTessera() (or createRemoteVerifier() for guards only).');
    fastify.decorateRequest('auth', null);
    const kit = new AdapterKit<FastifyTesseraUser, FastifyTesseraClaims>(
      auth as Tessera<FastifyTesseraClaims> | Authenticator<FastifyTesseraClaims>,
      adapterOptions,
    );
    fastify.decorate('tessera', handlers(kit));
  },
  { fastify: '5.x', name: '@tessera/auth' },
);

function handlers<User, Claims extends object>(kit: AdapterKit<User, Claims>): FastifyTessera<User, Claims> {
  const base = frameworkTessera<preHandlerAsyncHookHandler, RouteHandlerMethod, FastifyRequest, User, Claims>(kit, {
    guard: (kind, guardOptions) => {
      const check = kit.guard(kind, guardOptions);
      return async function tesseraGuard(request, reply) {
        const pending = check(toRequest(request));
        // Awaited only when it is a promise: a stateless check answers at once.
        const outcome = pending instanceof Promise ? await pending : pending;
        if (!outcome.ok) return answer(kit, reply, outcome.result);
        request.auth = outcome.identity as FastifyRequest['auth'];
        if (outcome.setCookie.length > 0) reply.header('set-cookie', [...outcome.setCookie]);
        return undefined;
      };
    },
    handler: (run) => async (request, reply) => answer(kit, reply, await run(toRequest(request))),
    stored: (request) => request.auth,
  });
  return {
    ...base,
    authed: <RouteGeneric extends RouteGenericInterface>(handler: AuthedRouteHandler<User, Claims, RouteGeneric>) =>
      function authedHandler(this: FastifyInstance, request: FastifyRequest<RouteGeneric>, reply: FastifyReply<RouteGeneric>) {
        if (request.auth === null) throw new TypeError(NO_GUARD);
        return handler.call(this, request as FastifyRequest<RouteGeneric> & { auth: Identity<User, Claims> }, reply);
      } as RouteHandlerMethod<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, RouteGeneric>,
  };
}

/** Writes the answer, or throws a refusal to Fastify's error handler (`errors: 'throw'`). */
function answer<User, Claims extends object>(kit: AdapterKit<User, Claims>, reply: FastifyReply, result: HttpResult): FastifyReply {
  const error = kit.thrown(result);
  if (error !== undefined) throw error;
  return write(reply, result);
}

const FACTS: RequestFacts<FastifyRequest> = {
  protocol: (request) => request.protocol,
  ip: (request) => request.ip,
  path: (request) => requestPath(request.raw.url),
};

function toRequest(request: FastifyRequest): AuthRequest {
  // rawHeaders, not request.headers: Node keeps only the first of two Authorization lines there.
  return new AdapterRequest(request.method, request.raw.rawHeaders, request.body, request, FACTS);
}

function write(reply: FastifyReply, result: HttpResult): FastifyReply {
  reply.code(result.status);
  for (const [name, value] of Object.entries(result.headers)) reply.header(name, typeof value === 'string' ? value : [...value]);
  // A string body with a JSON content-type is sent as it is: no serializer, no added headers.
  return reply.send(result.body);
}

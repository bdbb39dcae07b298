// Fastify 5 adapter: request → plain values → core → reply. Nothing else happens here.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import { AdapterKit, frameworkTessera, type AdapterOptions, type FrameworkTessera, type Identity } from './adapter-kit.js';
import { AdapterRequest, type AuthRequest, type RequestFacts } from '../core/transport/request.js';
import type { HttpResult } from '../core/transport/error-response.js';
import { Tessera } from '../core/tessera.js';

/**
 * Types your app registers, as with `@fastify/jwt`: `user` is what `lookupUser` returns and `identity()` carries.
 * @example
 * declare module '@tessera/auth/fastify' {
 *   interface FastifyTesseraTypes { user: User }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the app's module augmentation.
export interface FastifyTesseraTypes {}

/** The user type registered in `FastifyTesseraTypes`, or `unknown` when none is. */
export type FastifyTesseraUser = FastifyTesseraTypes extends { user: infer User } ? User : unknown;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a Tessera guard: the verified caller, or null on an optional route without a token (and on unguarded routes). */
    auth: Identity<unknown> | null;
  }
  interface FastifyInstance {
    /** The guards and handlers registered by the `@tessera/auth` plugin. */
    tessera: FastifyTessera<FastifyTesseraUser>;
  }
}

/** Options of the plugin: the `Tessera` instance and the adapter options. */
export type FastifyTesseraOptions = { auth: Tessera } & AdapterOptions<FastifyTesseraUser>;

/** The guards (preHandler hooks) and route handlers of one `Tessera` for Fastify, as `fastify.tessera`. */
export type FastifyTessera<User> = FrameworkTessera<preHandlerAsyncHookHandler, RouteHandlerMethod, FastifyRequest, User>;

/**
 * Tessera for Fastify 5: decorates `request.auth` and `fastify.tessera`.
 * @example
 * await app.register(tessera, { auth });
 * app.get('/me', { preHandler: app.tessera.required() }, async (request) => ({ sub: app.tessera.identity(request).sub }));
 */
export const tessera = fp(
  async function tesseraPlugin(fastify: FastifyInstance, options: FastifyTesseraOptions): Promise<void> {
    const { auth, ...adapterOptions } = options;
    if (!(auth instanceof Tessera)) throw new TypeError('Register @tessera/auth with { auth }, where auth comes from createTessera().');
    fastify.decorateRequest('auth', null);
    fastify.decorate('tessera', handlers(new AdapterKit<FastifyTesseraUser>(auth, adapterOptions)));
  },
  { fastify: '5.x', name: '@tessera/auth' },
);

function handlers<User>(kit: AdapterKit<User>): FastifyTessera<User> {
  return frameworkTessera<preHandlerAsyncHookHandler, RouteHandlerMethod, FastifyRequest, User>(kit, {
    guard: (kind, guardOptions) => {
      const check = kit.guard(kind, guardOptions);
      return async function tesseraGuard(request, reply) {
        const outcome = await check(toRequest(request));
        if (!outcome.ok) return write(reply, outcome.result);
        request.auth = outcome.identity;
        if (outcome.setCookie.length > 0) reply.header('set-cookie', [...outcome.setCookie]);
        return undefined;
      };
    },
    handler: (run) => async (request, reply) => write(reply, await run(toRequest(request))),
    stored: (request) => request.auth,
  });
}

const FACTS: RequestFacts<FastifyRequest> = { protocol: (request) => request.protocol, ip: (request) => request.ip };

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

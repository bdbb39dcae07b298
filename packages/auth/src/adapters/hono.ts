// Hono 4 adapter: request → plain values → core → Response. Nothing else happens here.
import type { Context, Handler, Input, MiddlewareHandler, Next } from 'hono';
import type { BlankInput, HandlerResponse } from 'hono/types';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  AdapterKit,
  frameworkTessera,
  type AdapterOptions,
  type Authenticator,
  type VerifyOnlyAuthenticator,
  type FrameworkTessera,
  type GuardOptions,
  type GuardOutcome,
  type Identity,
  type VerifyOnly,
} from './adapter-kit.js';
import { InvalidRequestError } from '../core/errors.js';
import { AdapterRequest, type AuthRequest, type RequestFacts } from '../core/transport/request.js';
import type { HttpResult } from '../core/transport/error-response.js';
import { isJsonMediaType } from '../core/transport/body.js';
import { parseJsonText, toWebResponse } from './web.js';
import type { Tessera } from '../core/tessera.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by a Tessera guard: the verified caller, or null on an optional route without a token. */
    auth: Identity<unknown> | null;
  }
}

/**
 * The variables a Tessera guard sets, for `new Hono<{ Variables: TesseraVariables<User, Claims> }>()`:
 * `auth` is the verified caller, or null on an optional route without a token.
 */
export type TesseraVariables<User = never, Claims extends object = object> = { auth: Identity<User, Claims> | null };

/** What a required guard adds to the context: `c.var.auth` is set, with the user and claims typed. */
export type AuthedEnv<User = never, Claims extends object = object> = { Variables: { auth: Identity<User, Claims> } };

/** What an optional guard adds to the context: `c.var.auth` may be null. */
export type OptionalAuthEnv<User = never, Claims extends object = object> = { Variables: TesseraVariables<User, Claims> };

/**
 * A refusal thrown to Hono's `onError` (adapter option `errors: 'throw'`): `getResponse()` is the answer
 * Tessera would have written; `code` is its stable code and `cause` the `TesseraError`.
 */
export class TesseraHTTPException extends HTTPException {
  /** The stable code, e.g. `'token_expired'`. */
  readonly code: string;

  constructor(result: HttpResult, code: string, message: string, cause: unknown) {
    super(result.status as ContentfulStatusCode, { res: toWebResponse(result), message, cause });
    this.name = 'TesseraHTTPException';
    this.code = code;
  }
}

/** The guards (middleware) and handlers of one `Tessera` for Hono; a required guard types `c.var.auth` as set. */
export type HonoTessera<User, Claims extends object = object> = FrameworkTessera<
  MiddlewareHandler<AuthedEnv<User, Claims>>,
  Handler,
  Context,
  User,
  Claims,
  MiddlewareHandler<OptionalAuthEnv<User, Claims>>
> & {
  /**
   * The `required()` guard and your handler as one route handler: the same checks, refusals and `c.var.auth`.
   * One handler keeps Hono on its synchronous dispatch, where a middleware in front takes its async compose path.
   * @example
   * app.get('/me', t.guarded((c) => c.json({ sub: c.var.auth.sub })));
   * app.get('/admin', t.guarded({ claims: { role: 'admin' } }, (c) => c.json({ sub: c.var.auth.sub })));
   */
  guarded: GuardedHandler<User, Claims>;
};

/** `guarded(handler)` or `guarded(options, handler)`, with `options` as `required()` takes them. */
export interface GuardedHandler<User, Claims extends object = object> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's own default for a handler's response type
  <P extends string = string, I extends Input = BlankInput, R extends HandlerResponse<any> = any>(
    handler: Handler<AuthedEnv<User, Claims>, P, I, R>,
  ): Handler<AuthedEnv<User, Claims>, P, I, R>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's own default for a handler's response type
  <P extends string = string, I extends Input = BlankInput, R extends HandlerResponse<any> = any>(
    options: GuardOptions<Claims>,
    handler: Handler<AuthedEnv<User, Claims>, P, I, R>,
  ): Handler<AuthedEnv<User, Claims>, P, I, R>;
}

/**
 * Tessera for Hono 4 (on any runtime; on `@hono/node-server` duplicate headers stay visible).
 * `User` is inferred from `lookupUser`, the claims type from `auth` (`createTessera<Claims>`).
 * @example
 * const t = tessera(auth);
 * app.get('/me', t.required(), (c) => c.json({ sub: c.var.auth.sub }));
 * // A resource server: the guards only, over a remote verifier (@tessera/auth/remote).
 * const api = tessera(createRemoteVerifier({ issuer, audience, jwksUrl }));
 */
export function tessera<User = never, Claims extends object = object>(
  auth: VerifyOnlyAuthenticator<Claims>,
  options?: AdapterOptions<User, Claims>,
): VerifyOnly<HonoTessera<User, Claims>>;
export function tessera<User = never, Claims extends object = object>(
  auth: Tessera<Claims>,
  options?: AdapterOptions<User, Claims>,
): HonoTessera<User, Claims>;
export function tessera<User = never, Claims extends object = object>(
  auth: Tessera<Claims> | Authenticator<Claims>,
  options: AdapterOptions<User, Claims> = {},
): HonoTessera<User, Claims> {
  const kit = new AdapterKit<User, Claims>(auth, options);
  /** Tessera's answer, or with `errors: 'throw'` an exception for `onError`. */
  const answer = (result: HttpResult): Response => {
    const error = kit.thrown(result);
    if (error !== undefined) throw new TesseraHTTPException(result, error.code, error.message, error.cause);
    return toWebResponse(result);
  };
  const surface = frameworkTessera<
    MiddlewareHandler<AuthedEnv<User, Claims>>,
    Handler,
    Context,
    User,
    Claims,
    MiddlewareHandler<OptionalAuthEnv<User, Claims>>
  >(kit, {
    guard: (kind, guardOptions) => {
      const check = kit.guard(kind, guardOptions);
      return async (c, next) => {
        const pending = toRequest(c);
        const request = pending instanceof Promise ? await pending : pending;
        if (request instanceof InvalidRequestError) return answer(kit.error(request));
        const checked = check(request);
        const outcome = checked instanceof Promise ? await checked : checked;
        if (!outcome.ok) return answer(outcome.result);
        c.set('auth', outcome.identity as Identity<User, Claims>);
        if (outcome.setCookie.length === 0) return next();
        await next();
        cookiesFirst(c, outcome.setCookie);
        return undefined;
      };
    },
    handler: (run) => async (c) => {
      const request = await toRequest(c);
      return answer(request instanceof InvalidRequestError ? kit.error(request) : await run(request));
    },
    stored: (c) => c.get('auth'),
  });
  const guarded = ((first: GuardOptions<Claims> | Handler, second?: Handler): Handler => {
    // Options after the handler would be dropped rules (a role check gone): refuse the route instead.
    if (typeof first === 'function' && second !== undefined)
      throw new TypeError('guarded(options, handler) takes its options first: guarded({ claims }, handler).');
    const [guardOptions, handler] = typeof first === 'function' ? [{}, first] : [first, second];
    if (typeof handler !== 'function') throw new TypeError('guarded(options, handler) needs a handler function.');
    const check = kit.guard({ token: 'access' }, guardOptions);
    /** After the guard: store the caller, run the handler, and put the guard's cookies ahead of the handler's. */
    const proceed = (c: Context, next: Next, outcome: GuardOutcome<User, Claims>): Handled => {
      if (!outcome.ok) return answer(outcome.result);
      c.set('auth', outcome.identity as Identity<User, Claims>);
      if (outcome.setCookie.length === 0) return handler(c, next);
      return withCookies(c, handler(c, next), outcome.setCookie);
    };
    // Synchronous whenever the request and the guard are: that is what keeps Hono off its async path.
    return (c, next) => {
      const pending = toRequest(c);
      if (pending instanceof Promise) return pending.then((request) => afterRequest(c, next, request));
      return afterRequest(c, next, pending);
    };
    function afterRequest(c: Context, next: Next, request: AuthRequest | InvalidRequestError): Handled {
      if (request instanceof InvalidRequestError) return answer(kit.error(request));
      const checked = check(request);
      return checked instanceof Promise ? checked.then((outcome) => proceed(c, next, outcome)) : proceed(c, next, checked);
    }
  }) as GuardedHandler<User, Claims>;
  return { ...surface, guarded };
}

/** What a handler gives Hono: a response (or nothing, once the context is finalized), now or later. */
type Handled = Awaited<HandlerResponse<unknown>> | Promise<Awaited<HandlerResponse<unknown>>>;

/** The handler's response with the guard's cookies ahead of its own, as the middleware form writes them. */
async function withCookies(c: Context, handled: Handled, setCookie: readonly string[]): Promise<Response> {
  const response = await handled;
  if (response instanceof Response) c.res = response;
  cookiesFirst(c, setCookie);
  return c.res;
}

/** The guard's cookies ahead of the handler's own, as the other adapters write them: a later cookie of the same name wins. */
function cookiesFirst(c: Context, setCookie: readonly string[]): void {
  const later = c.res.headers.getSetCookie();
  c.header('set-cookie', undefined);
  for (const cookie of [...setCookie, ...later]) c.header('set-cookie', cookie, { append: true });
}

/** The part of Node's IncomingMessage that `@hono/node-server` hands over as `c.env.incoming`. */
interface NodeIncoming {
  rawHeaders: string[];
  socket?: { remoteAddress?: string | undefined };
}

/** The request as plain values; a promise only when a body must be read (never for GET or HEAD). */
function toRequest(c: Context): AuthRequest | InvalidRequestError | Promise<AuthRequest | InvalidRequestError> {
  const method = c.req.method;
  if (method === 'GET' || method === 'HEAD') return plain(c, undefined);
  return jsonBody(c).then((body) => (body instanceof InvalidRequestError ? body : plain(c, body)));
}

const FACTS: RequestFacts<Context> = {
  protocol: (c) => new URL(c.req.url).protocol.replace(/:$/, ''),
  ip: (c) => nodeIncoming(c.env)?.socket?.remoteAddress,
  path: (c) => new URL(c.req.url).pathname,
};

function plain(c: Context, body: unknown): AuthRequest {
  // On Node the raw list keeps duplicate headers, which the core refuses; Headers would join them as "a, b".
  const headers = nodeIncoming(c.env)?.rawHeaders ?? [...c.req.raw.headers].flat();
  return new AdapterRequest(c.req.method, headers, body, c, FACTS);
}

function nodeIncoming(env: unknown): NodeIncoming | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('rawHeaders' in incoming) || !Array.isArray(incoming.rawHeaders)) return undefined;
  return incoming as NodeIncoming;
}

/** The JSON body (what `express.json()` and Fastify give the other adapters); other types and an empty body give undefined. */
async function jsonBody(c: Context): Promise<unknown> {
  return isJsonMediaType(c.req.header('content-type')) ? parseJsonText(await c.req.text()) : undefined;
}

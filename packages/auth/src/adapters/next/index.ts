// Next.js App Router adapter: Web Request → plain values → core → Web Response, for route handlers,
// server components, server actions and proxy.ts. Nothing else happens here.
import {
  AdapterKit,
  TesseraHttpError,
  type AdapterOptions,
  type Authenticator,
  type VerifyOnlyAuthenticator,
  type GuardKind,
  type GuardOptions,
  type Identity,
  type VerifyOnly,
} from '../adapter-kit.js';
import type { CredentialCheck, LoginOptions } from '../../core/flows.js';
import type { AuthRequest } from '../../core/transport/request.js';
import type { HttpResult } from '../../core/transport/error-response.js';
import type { Tessera } from '../../core/tessera.js';
import type { Transport } from '../../protocol/protocol.js';
import { sessionReader, type SessionOptions, type RequireSessionOptions } from './server-context.js';
import { toWebResponse } from '../web.js';
import { asRead, toAuthRequest, withCookies } from './web.js';

/** Options of the Next.js adapter: those of every adapter, and the largest JSON body it reads. */
export interface NextTesseraOptions<User = never, Claims extends object = object> extends AdapterOptions<User, Claims> {
  /**
   * Largest JSON body the login, refresh and logout handlers read, in bytes (and a guard whose token may be in
   * the body, as `refreshRequired()`'s); a larger one is 413 `payload_too_large`. Default 16 KiB. Access
   * guards never read the body: a route's own body is its handler's.
   */
  bodyLimit?: number;
}

/** A route handler as Next.js calls it: `export const GET = …` in `route.ts`. */
export type RouteHandler<Context = unknown, Req extends Request = Request> = (request: Req, context: Context) => Promise<Response>;

/** The route handler a guard returns: Next.js's context, without the `auth` the guard adds. */
export type GuardedRoute<Context, Req extends Request> = RouteHandler<Omit<Context, 'auth'>, Req>;

/** The handler behind a guard: Next.js's own context (`params`) and the verified caller as `auth`. */
export type GuardedHandler<Auth, Context = unknown, Req extends Request = Request> = (
  request: Req,
  context: Context & { readonly auth: Auth },
) => Response | Promise<Response>;

/** What `proxy()` returns: `proxy.ts`'s function; undefined lets the request through. */
export type ProxyGate = (request: Request) => Promise<Response | undefined>;

/** Options of `proxy()`: the route rules, and where a refused page request is sent. */
export type ProxyOptions<Claims extends object = object> = GuardOptions<Claims> & {
  /** Redirect a refused request (307) here, e.g. `'/login'`; without it the refusal is answered as JSON (401, 403). */
  redirectTo?: string;
};

/** The handlers, guards and helpers of one `Tessera` for the Next.js App Router. */
export interface NextTessera<User, Claims extends object = object> {
  /** Wraps a route handler: an access token is required; the handler gets the caller as `context.auth`. */
  required<C = unknown, R extends Request = Request>(
    handler: GuardedHandler<Identity<User, Claims>, C, R>,
    options?: GuardOptions<Claims>,
  ): GuardedRoute<C, R>;
  /** Wraps a route handler: no token is fine (`context.auth` is null); a bad token is still refused. */
  optional<C = unknown, R extends Request = Request>(
    handler: GuardedHandler<Identity<User, Claims> | null, C, R>,
    options?: GuardOptions<Claims>,
  ): GuardedRoute<C, R>;
  /** Wraps a route handler: a fresh access token (straight from a login) is required. */
  fresh<C = unknown, R extends Request = Request>(
    handler: GuardedHandler<Identity<User, Claims>, C, R>,
    options?: GuardOptions<Claims>,
  ): GuardedRoute<C, R>;
  /** Wraps a route handler: a refresh token is required. */
  refreshRequired<C = unknown, R extends Request = Request>(
    handler: GuardedHandler<Identity<User, Claims>, C, R>,
    options?: GuardOptions<Claims>,
  ): GuardedRoute<C, R>;
  /** The login route handler: your credential check, Tessera's session and tokens; transports default to `['cookie']`. */
  login(check: CredentialCheck, options?: Omit<LoginOptions, 'errorFormat'>): RouteHandler;
  /** The refresh route handler (rotation, grace window, reuse detection). */
  refresh(): RouteHandler;
  /** The logout route handler: revokes the session and clears the cookies. */
  logout(): RouteHandler;
  /** The caller a guard verified for this request; throws if no guard ran on it. */
  identity(request: Request): Identity<User, Claims>;
  /**
   * In a server component or server action: the caller of the access cookie, or null when there is none or it is
   * refused. It reads the request as a GET (no CSRF check): in a route handler, use a guard such as `required()`.
   */
  session(options?: SessionOptions<Claims>): Promise<Identity<User, Claims> | null>;
  /** Like `session()`, but a refusal redirects to `redirectTo`, or without it throws its `TesseraError`. */
  requireSession(options?: RequireSessionOptions<Claims>): Promise<Identity<User, Claims>>;
  /**
   * A gate for `proxy.ts`: refuses, or redirects, a request without a valid access token. It reads every request
   * as a GET: the route handler or server action behind it applies CSRF. With `errors: 'throw'` and no
   * `redirectTo`, a refusal is thrown, as from the guards.
   */
  proxy(options?: ProxyOptions<Claims>): ProxyGate;
}

/** Next.js apps run in browsers: cookies, with CSRF checked on every state-changing request. */
const COOKIE_ONLY: readonly Transport[] = ['cookie'];

/**
 * Tessera for the Next.js App Router (Next.js ≥ 15.5, Node.js runtime). `auth` may be a function that
 * makes the `Tessera` on the first request, so that `next build`, which loads every route, needs no keys.
 * @example
 * export const t = tessera(() => createTessera({ keys, refreshKey }));
 * // app/api/auth/login/route.ts
 * export const POST = t.login(checkPassword);
 * // app/api/me/route.ts
 * export const GET = t.required(async (request, { auth }) => Response.json({ sub: auth.sub }));
 */
/** Guards only, over a remote verifier of `@tessera/auth/remote` (a resource server): no login, refresh or logout handlers. */
export function tessera<User = never, Claims extends object = object>(
  auth: VerifyOnlyAuthenticator<Claims> | (() => VerifyOnlyAuthenticator<Claims>),
  options?: NextTesseraOptions<User, Claims>,
): VerifyOnly<NextTessera<User, Claims>>;
export function tessera<User = never, Claims extends object = object>(
  auth: Tessera<Claims> | (() => Tessera<Claims>),
  options?: NextTesseraOptions<User, Claims>,
): NextTessera<User, Claims>;
export function tessera<User = never, Claims extends object = object>(
  auth: Tessera<Claims> | Authenticator<Claims> | (() => Tessera<Claims> | Authenticator<Claims>),
  options: NextTesseraOptions<User, Claims> = {},
): NextTessera<User, Claims> {
  const { bodyLimit = 16 * 1024, ...kitOptions } = options;
  let made: AdapterKit<User, Claims> | undefined;
  const kitOf = (): AdapterKit<User, Claims> => (made ??= new AdapterKit<User, Claims>(typeof auth === 'function' ? auth() : auth, kitOptions));
  // An instance is checked at once, so a configuration mistake stops the server at start.
  if (typeof auth !== 'function') kitOf();
  const verified = new WeakMap<Request, Identity<User, Claims> | null>();

  /** Tessera's answer, or with `errors: 'throw'` the refusal thrown as a `TesseraHttpError` for the app to catch. */
  const answer = (result: HttpResult): Response => {
    const error = kitOf().thrown(result);
    if (error !== undefined) throw error;
    return toWebResponse(result);
  };

  const handler =
    (run: (kit: AdapterKit<User, Claims>, request: AuthRequest) => Promise<HttpResult>): RouteHandler =>
    async (request) => {
      const translated = await toAuthRequest(request, bodyLimit);
      return answer(translated instanceof Error ? kitOf().error(translated) : await run(kitOf(), translated));
    };

  function guard<A, C, R extends Request>(
    kind: GuardKind,
    route: GuardedHandler<A, C, R>,
    guardOptions: GuardOptions<Claims> = {},
  ): GuardedRoute<C, R> {
    let check: ReturnType<AdapterKit<User, Claims>['guard']> | undefined;
    let readsBody = false;
    return async (request, context) => {
      if (check === undefined) {
        const kit = kitOf();
        check = kit.guard(kind, guardOptions);
        // Only where the token may be (refresh_token): a route's own JSON body, of any size or shape, is its handler's.
        readsBody = (guardOptions.locations ?? kit.authenticator.config.locations[kind.token]).includes('body');
      }
      const translated = await toAuthRequest(request, bodyLimit, readsBody);
      if (translated instanceof Error) return answer(kitOf().error(translated));
      const outcome = await check(translated);
      if (!outcome.ok) return answer(outcome.result);
      verified.set(request, outcome.identity);
      const response = await route(request, { ...(context as object), auth: outcome.identity as A } as C & { readonly auth: A });
      return withCookies(response, outcome.setCookie);
    };
  }

  const { session, requireSession } = sessionReader<User, Claims>(() => kitOf().auth, kitOptions.lookupUser);
  return {
    required: (route, guardOptions) => guard({ token: 'access' }, route, guardOptions),
    optional: (route, guardOptions) => guard({ token: 'access', optional: true }, route, guardOptions),
    fresh: (route, guardOptions) => guard({ token: 'access', fresh: true }, route, guardOptions),
    refreshRequired: (route, guardOptions) => guard({ token: 'refresh' }, route, guardOptions),
    login: (check, loginOptions = {}) => handler((kit, request) => kit.login(request, check, { transports: COOKIE_ONLY, ...loginOptions })),
    refresh: () => handler((kit, request) => kit.refresh(request)),
    logout: () => handler((kit, request) => kit.logout(request)),
    identity(request) {
      const identity = verified.get(request);
      if (identity === undefined || identity === null)
        throw new TypeError('No Tessera guard verified this request: wrap the handler in required(), fresh() or refreshRequired().');
      return identity;
    },
    session,
    requireSession,
    proxy(proxyOptions = {}) {
      const { redirectTo, ...rules } = proxyOptions;
      let check: ReturnType<AdapterKit<User, Claims>['guard']> | undefined;
      return async (request) => {
        // The gate decides who may reach a path, not whether a request may change state: it reads the request
        // as a GET, and the route handler or server action behind it applies CSRF (docs/library.md "Next.js").
        check ??= kitOf().guard({ token: 'access' }, rules);
        const outcome = await check(asRead(request.headers));
        if (!outcome.ok) return redirectTo === undefined ? answer(outcome.result) : Response.redirect(new URL(redirectTo, request.url), 307);
        if (outcome.setCookie.length === 0) return undefined;
        // Only NextResponse.next() lets the request go on with cookies added to its answer.
        const { NextResponse } = await import('next/server.js');
        const next = NextResponse.next();
        for (const cookie of outcome.setCookie) next.headers.append('set-cookie', cookie);
        return next;
      };
    },
  };
}

export { TesseraHttpError };
export type { Identity, GuardOptions, SessionOptions, RequireSessionOptions };

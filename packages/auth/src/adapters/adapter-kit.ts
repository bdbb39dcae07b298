import type { TokenKind } from '../core/types.js';
import { accessCookie, serializeCookie } from '../core/transport/cookies.js';
import { isBareNumber, millisecondsMistake, parseDuration, type Duration } from '../core/config/duration.js';
import { ConfigError, TesseraError, UserInvalidError } from '../core/errors.js';
import { handleLogin, handleLogout, handleRefresh, type CredentialCheck, type LoginOptions } from '../core/flows.js';
import type { AuthenticateOptions, AuthResult, ClaimsOf } from '../core/transport/guard.js';
import { unreadBody } from '../core/transport/body.js';
import type { AuthRequest } from '../core/transport/request.js';
import { errorResult, refusalOf, type ErrorFormat, type HttpResult } from '../core/transport/error-response.js';
import { TesseraHttpError } from './http-error.js';
import { Tessera } from '../core/tessera.js';
import { AUTHENTICATE_NOW, type Authenticator, type VerifyOnlyAuthenticator } from '../core/transport/authenticator.js';
import type { TokenClaims } from '../core/tokens/claims.js';

export { TesseraHttpError };
export type { Authenticator, VerifyOnlyAuthenticator };

/**
 * An adapter's surface over a verify-only authenticator (a remote verifier): the access-token guards
 * and `identity`, without the login, refresh and logout handlers or the refresh-token guard, which
 * need a full `Tessera`.
 */
export type VerifyOnly<Surface> = Omit<Surface, 'login' | 'refresh' | 'logout' | 'refreshRequired'>;

/** Whether `value` can serve the guards: a `Tessera`, or an object with `authenticate` and token locations (a remote verifier). */
export function isAuthenticator(value: unknown): value is Authenticator<object> {
  if (value instanceof Tessera) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { authenticate?: unknown; config?: { locations?: unknown } };
  return typeof candidate.authenticate === 'function' && typeof candidate.config?.locations === 'object';
}

/** The sentence for a login, refresh or logout handler asked of a verify-only guard source (a remote verifier). */
export const NEEDS_TESSERA =
  'Login, refresh and logout handlers need a full Tessera (createTessera): a remote verifier only verifies access tokens for guards.';

/** Shared by every outcome that sets no cookie. */
const NO_COOKIES: readonly string[] = Object.freeze([]);

/** An optional guard's answer to a request without a token. */
const ANONYMOUS: { readonly ok: true; readonly identity: null; readonly setCookie: readonly string[] } = Object.freeze({
  ok: true,
  identity: null,
  setCookie: NO_COOKIES,
});

/** The identity a guard lets through, spelled out: V8 copies `{ ...result, user }` on a slow path, ~2 µs a request. */
function allowed<User, Claims extends object>(
  result: AuthResult<Claims>,
  user: User | undefined,
  setCookie: readonly string[],
): GuardOutcome<User, Claims> {
  const identity: Identity<User, Claims> = {
    kind: result.kind,
    token: result.token,
    claims: result.claims,
    sub: result.sub,
    sid: result.sid,
    location: result.location,
    user,
  };
  return { ok: true, identity, setCookie };
}

/**
 * Where a refusal goes: `'respond'` (default) writes Tessera's answer (RFC 6750) at once; `'throw'`
 * hands it to the framework's own error handling (Express `next(err)`, Fastify `setErrorHandler`,
 * Hono `onError`), carrying the status, code, headers and body Tessera would have written.
 */
export type ErrorHandling = 'respond' | 'throw';

/** What every adapter accepts, beside the `Tessera` instance. */
export interface AdapterOptions<User = never, Claims extends object = object> {
  /** `'tessera'` (`{error, message}`, default) or `'flask'` (`{msg}`, as flask-jwt-extended answers). */
  errorFormat?: ErrorFormat;
  /** `'respond'` (default) or `'throw'`: see `ErrorHandling`. */
  errors?: ErrorHandling;
  /** Loads the user of a verified token on every guarded request; null or undefined refuses with 401 `user_invalid`. */
  lookupUser?: (claims: ClaimsOf<Claims>) => Promise<User | null | undefined> | User | null | undefined;
  /** Re-issue an access cookie that has less than `within` left (cookie transport only, needs a session store); off by default. */
  implicitRefresh?: { within: Duration };
}

/** The verified caller that a guard puts on the request: the token's result (claims typed by `Claims`) and the looked-up user. */
export interface Identity<User = never, Claims extends object = object> extends AuthResult<Claims> {
  /** The user from `lookupUser`; undefined when no lookup is configured. */
  readonly user: User | undefined;
}

/** Route rules of a guard: `claims` (a role, any claim, or a predicate over the typed claims), `scope`, `locations`. */
export type GuardOptions<Claims extends object = object> = Omit<AuthenticateOptions<Claims>, 'token' | 'optional' | 'fresh'>;

/** What a guard decided: go on (with cookies to add to the response), or answer now. */
export type GuardOutcome<User, Claims extends object = object> =
  | { readonly ok: true; readonly identity: Identity<User, Claims> | null; readonly setCookie: readonly string[] }
  | { readonly ok: false; readonly result: HttpResult; readonly error: TesseraError };

/** What an adapter tells the kit about its framework. */
export interface FrameworkFacts {
  /** How the app parses JSON bodies, named in the sentence for a body left unparsed (e.g. `'express.json()'`). */
  readonly jsonParser?: string;
}

/** The guard flavours every adapter offers. */
export interface GuardKind {
  token: TokenKind;
  optional?: boolean;
  fresh?: boolean;
}

/**
 * Everything an adapter needs, framework-free: the guard and the login, refresh and logout
 * handlers, each taking an `AuthRequest` and answering plain values. Adapters only translate.
 */
export class AdapterKit<User = never, Claims extends object = object> {
  /** What the guards ask: a `Tessera`, or a verify-only `Authenticator` such as a remote verifier. */
  readonly #guardAuth: Authenticator<Claims>;
  /** The full `Tessera` the handlers need; undefined for a verify-only authenticator. */
  readonly #auth: Tessera<Claims> | undefined;
  readonly #options: AdapterOptions<User, Claims>;
  readonly #implicitWithin: number | undefined;
  readonly #facts: FrameworkFacts;

  constructor(auth: Tessera<Claims> | Authenticator<Claims>, options: AdapterOptions<User, Claims> = {}, facts: FrameworkFacts = {}) {
    this.#guardAuth = auth;
    this.#auth = auth instanceof Tessera ? auth : undefined;
    this.#options = options;
    this.#facts = facts;
    const within = options.implicitRefresh === undefined ? undefined : parseDuration(options.implicitRefresh.within);
    const problems: string[] = [];
    if (options.errors !== undefined && options.errors !== 'respond' && options.errors !== 'throw')
      problems.push(`errors must be 'respond' or 'throw' (got ${JSON.stringify(options.errors)}).`);
    if (options.implicitRefresh !== undefined && !(auth instanceof Tessera))
      problems.push('implicitRefresh re-issues access cookies, which needs a full Tessera (createTessera), not a remote verifier.');
    else if (options.implicitRefresh !== undefined && auth instanceof Tessera) {
      if (within === undefined || within <= 0) problems.push("implicitRefresh.within must be a positive duration such as '5m'.");
      // Longer than an access token lives, a bare number was meant in milliseconds (300000 for 5 minutes).
      else if (isBareNumber(options.implicitRefresh.within) && within >= 1000 && within > auth.config.accessTtl)
        problems.push(millisecondsMistake('implicitRefresh.within', within, { allowed: false }));
      // The session's absolute end is what caps a re-issued token; without a store an active cookie would renew forever.
      if (!auth.stateful)
        problems.push(
          'implicitRefresh needs a session store to bound how long an access cookie can be renewed: pass sessions: { store: memoryStore() } (or a SQL store) to createTessera, or drop implicitRefresh.',
        );
    }
    if (problems.length > 0) throw new ConfigError(problems);
    this.#implicitWithin = within;
  }

  /** The full `Tessera`; throws for a verify-only authenticator (a remote verifier), which has no handlers. */
  get auth(): Tessera<Claims> {
    if (this.#auth === undefined) throw new TypeError(NEEDS_TESSERA);
    return this.#auth;
  }

  /** What the guards verify with: the `Tessera`, or the remote verifier. */
  get authenticator(): Authenticator<Claims> {
    return this.#guardAuth;
  }

  /**
   * With `errors: 'throw'`, the error to hand to the framework for a refusal; undefined when the
   * answer is to be written as it is (the default, or an answer that is no refusal).
   */
  thrown(result: HttpResult): TesseraHttpError | undefined {
    if (this.#options.errors !== 'throw') return undefined;
    const refusal = refusalOf(result);
    return refusal === undefined ? undefined : new TesseraHttpError(result, refusal);
  }

  /**
   * A route's guard, prepared once when the route is declared: its options are merged and the
   * hooks it will not need are left out here, so a request pays only for the checks themselves.
   */
  guard(
    kind: GuardKind,
    options: GuardOptions<Claims> = {},
  ): (request: AuthRequest) => GuardOutcome<User, Claims> | Promise<GuardOutcome<User, Claims>> {
    const auth = this.#guardAuth;
    const format = this.#options.errorFormat;
    const lookupUser = this.#options.lookupUser;
    const rules: AuthenticateOptions<Claims> = { ...options, token: kind.token, optional: kind.optional === true, fresh: kind.fresh === true };
    const implicit = this.#implicitWithin !== undefined && kind.token === 'access';
    // A stateless Tessera answers without a promise; a store, a remote verifier, a user lookup or an implicit refresh make it async.
    const authenticate =
      auth instanceof Tessera
        ? (request: AuthRequest) => auth[AUTHENTICATE_NOW](request, rules)
        : (request: AuthRequest) => auth.authenticate(request, rules);
    const refused = (err: unknown): GuardOutcome<User, Claims> => {
      if (err instanceof TesseraError) return { ok: false, result: errorResult(err, format), error: err };
      throw err;
    };
    const complete = async (result: AuthResult<Claims>): Promise<GuardOutcome<User, Claims>> => {
      try {
        let user: User | undefined;
        if (lookupUser !== undefined) {
          const found = await lookupUser(result.claims);
          if (found === null || found === undefined) throw new UserInvalidError();
          user = found;
        }
        const setCookie = implicit ? await this.#implicitRefresh(result) : NO_COOKIES;
        return allowed(result, user, setCookie);
      } catch (err) {
        return refused(err);
      }
    };
    const settle = (result: AuthResult<Claims> | null): GuardOutcome<User, Claims> | Promise<GuardOutcome<User, Claims>> => {
      if (result === null) return ANONYMOUS;
      return lookupUser === undefined && !implicit ? allowed<User, Claims>(result, undefined, NO_COOKIES) : complete(result);
    };
    return (request) => {
      let found: AuthResult<Claims> | null | Promise<AuthResult<Claims> | null>;
      try {
        found = authenticate(request);
      } catch (err) {
        return refused(err);
      }
      return found instanceof Promise ? found.then(settle, refused) : settle(found);
    };
  }

  async login(request: AuthRequest, check: CredentialCheck, options: Omit<LoginOptions, 'errorFormat'> = {}): Promise<HttpResult> {
    // Credentials live in the body: one the app never parsed is named as such, not "invalid credentials".
    const unread = unreadBody(request, this.#facts.jsonParser);
    if (unread !== undefined) return this.error(unread);
    return handleLogin(this.auth, request, check, { ...options, ...this.#format() });
  }

  async refresh(request: AuthRequest): Promise<HttpResult> {
    const lookupUser = this.#options.lookupUser as ((claims: TokenClaims) => unknown) | undefined;
    const result = await handleRefresh(this.auth, request, { ...this.#format(), ...(lookupUser === undefined ? {} : { lookupUser }) });
    return this.#explainMissing(request, result);
  }

  async logout(request: AuthRequest): Promise<HttpResult> {
    return this.#explainMissing(request, await handleLogout(this.auth, request, this.#format()));
  }

  /** A `token_missing` answer to a request whose body the app never parsed says why instead (the token may be in it). */
  #explainMissing(request: AuthRequest, result: HttpResult): HttpResult {
    if (refusalOf(result)?.code !== 'token_missing') return result;
    const unread = unreadBody(request, this.#facts.jsonParser);
    return unread === undefined ? result : this.error(unread);
  }

  /** The answer for a refusal raised outside the guard (e.g. a malformed body). */
  error(err: TesseraError): HttpResult {
    return errorResult(err, this.#options.errorFormat);
  }

  #format(): { errorFormat?: ErrorFormat } {
    return this.#options.errorFormat === undefined ? {} : { errorFormat: this.#options.errorFormat };
  }

  async #implicitRefresh(result: AuthResult): Promise<readonly string[]> {
    const within = this.#implicitWithin;
    if (within === undefined || result.location !== 'cookie') return NO_COOKIES;
    const auth = this.auth;
    const left = result.claims.exp - auth.config.clock.now() / 1000;
    if (left > within) return NO_COOKIES;
    const access = await auth.reissueAccessToken(result);
    return [serializeCookie(accessCookie(auth.config, access))];
  }
}

/**
 * What every framework adapter offers, in its framework's types: `Guard` is a middleware that sets a
 * verified identity, `OptionalGuard` one that may set null, `Handler` a route handler, `Req` what a
 * handler receives. `User` comes from `lookupUser`, `Claims` from the `Tessera` instance.
 */
export interface FrameworkTessera<Guard, Handler, Req, User, Claims extends object = object, OptionalGuard = Guard> {
  /** An access token is required; `options` may require claims or scopes (403 `insufficient_scope`). */
  required(options?: GuardOptions<Claims>): Guard;
  /** No token is fine (the identity is null); a bad token is still refused. */
  optional(options?: GuardOptions<Claims>): OptionalGuard;
  /** A fresh access token (straight from a login) is required. */
  fresh(options?: GuardOptions<Claims>): Guard;
  /** A refresh token is required. */
  refreshRequired(options?: GuardOptions<Claims>): Guard;
  /** The login handler: your credential check, Tessera's session and token response. */
  login(check: CredentialCheck, options?: Omit<LoginOptions, 'errorFormat'>): Handler;
  /** The refresh handler (rotation, grace window, reuse detection). */
  refresh(): Handler;
  /** The logout handler: revokes the session and clears the cookies. */
  logout(): Handler;
  /** The caller a guard verified, typed; throws if no guard ran on this request. */
  identity(request: Req): Identity<User, Claims>;
}

/** The three framework-specific pieces an adapter writes; `frameworkTessera` assembles the rest. */
export interface FrameworkBindings<Guard, Handler, Req, Claims extends object = object> {
  guard(kind: GuardKind, options: GuardOptions<Claims>): Guard;
  handler(run: (request: AuthRequest) => Promise<HttpResult>): Handler;
  /** The identity a guard stored on the request, if any. */
  stored(request: Req): Identity<unknown, object> | null | undefined;
}

/** The sentence for a handler that reads an identity no guard set. */
export const NO_GUARD = 'No Tessera guard verified this request: add a required(), fresh() or refreshRequired() guard before the handler.';

/** Builds an adapter's public surface from its bindings, so every framework offers the same verbs. */
export function frameworkTessera<Guard, Handler, Req, User, Claims extends object = object, OptionalGuard = Guard>(
  kit: AdapterKit<User, Claims>,
  bind: FrameworkBindings<Guard, Handler, Req, Claims>,
): FrameworkTessera<Guard, Handler, Req, User, Claims, OptionalGuard> {
  return {
    required: (options = {}) => bind.guard({ token: 'access' }, options),
    // The same middleware at run time; only its type says the identity may be null.
    optional: (options = {}) => bind.guard({ token: 'access', optional: true }, options) as unknown as OptionalGuard,
    fresh: (options = {}) => bind.guard({ token: 'access', fresh: true }, options),
    // These need a full Tessera: asking a verify-only kit fails here, when the route is declared, not at a request.
    refreshRequired: (options = {}) => (kit.auth, bind.guard({ token: 'refresh' }, options)),
    login: (check, options = {}) => (kit.auth, bind.handler((request) => kit.login(request, check, options))),
    refresh: () => (kit.auth, bind.handler((request) => kit.refresh(request))),
    logout: () => (kit.auth, bind.handler((request) => kit.logout(request))),
    identity(request) {
      const identity = bind.stored(request);
      if (identity === undefined || identity === null) throw new TypeError(NO_GUARD);
      return identity as Identity<User, Claims>;
    },
  };
}

import type { TokenKind } from '../core/types.js';
import { accessCookie, serializeCookie } from '../core/transport/cookies.js';
import { parseDuration, type Duration } from '../core/config/duration.js';
import { ConfigError, TesseraError, UserInvalidError } from '../core/errors.js';
import { handleLogin, handleLogout, handleRefresh, type CredentialCheck, type LoginOptions } from '../core/flows.js';
import type { AuthenticateOptions, AuthResult } from '../core/transport/guard.js';
import type { AuthRequest } from '../core/transport/request.js';
import { errorResult, type ErrorFormat, type HttpResult } from '../core/transport/error-response.js';
import type { Tessera } from '../core/tessera.js';
import type { TokenClaims } from '../core/tokens/claims.js';

/** Shared by every outcome that sets no cookie. */
const NO_COOKIES: readonly string[] = Object.freeze([]);

/** What every adapter accepts, beside the `Tessera` instance. */
export interface AdapterOptions<User = never> {
  /** `'tessera'` (`{error, message}`, default) or `'flask'` (`{msg}`, as flask-jwt-extended answers). */
  errorFormat?: ErrorFormat;
  /** Loads the user of a verified token on every guarded request; null or undefined refuses with 401 `user_invalid`. */
  lookupUser?: (claims: TokenClaims) => Promise<User | null | undefined> | User | null | undefined;
  /** Re-issue an access cookie that has less than `within` left (cookie transport only, needs a session store); off by default. */
  implicitRefresh?: { within: Duration };
}

/** The verified caller that a guard puts on the request: the token's result and the looked-up user. */
export interface Identity<User = never> extends AuthResult {
  /** The user from `lookupUser`; undefined when no lookup is configured. */
  readonly user: User | undefined;
}

/** Route rules of a guard. */
export type GuardOptions = Omit<AuthenticateOptions, 'token' | 'optional' | 'fresh'>;

/** What a guard decided: go on (with cookies to add to the response), or answer now. */
export type GuardOutcome<User> =
  | { readonly ok: true; readonly identity: Identity<User> | null; readonly setCookie: readonly string[] }
  | { readonly ok: false; readonly result: HttpResult };

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
export class AdapterKit<User = never> {
  readonly #auth: Tessera;
  readonly #options: AdapterOptions<User>;
  readonly #implicitWithin: number | undefined;

  constructor(auth: Tessera, options: AdapterOptions<User> = {}) {
    this.#auth = auth;
    this.#options = options;
    const within = options.implicitRefresh === undefined ? undefined : parseDuration(options.implicitRefresh.within);
    const problems: string[] = [];
    if (options.implicitRefresh !== undefined) {
      if (within === undefined || within <= 0) problems.push("implicitRefresh.within must be a positive duration such as '5m'.");
      // The session's absolute end is what caps a re-issued token; without a store an active cookie would renew forever.
      if (!auth.stateful)
        problems.push(
          'implicitRefresh needs a session store to bound how long an access cookie can be renewed: pass sessions: { store: memoryStore() } (or a SQL store) to createTessera, or drop implicitRefresh.',
        );
    }
    if (problems.length > 0) throw new ConfigError(problems);
    this.#implicitWithin = within;
  }

  get auth(): Tessera {
    return this.#auth;
  }

  /**
   * A route's guard, prepared once when the route is declared: its options are merged and the
   * hooks it will not need are left out here, so a request pays only for the checks themselves.
   */
  guard(kind: GuardKind, options: GuardOptions = {}): (request: AuthRequest) => Promise<GuardOutcome<User>> {
    const auth = this.#auth;
    const format = this.#options.errorFormat;
    const lookupUser = this.#options.lookupUser;
    const rules: AuthenticateOptions = { ...options, token: kind.token, optional: kind.optional === true, fresh: kind.fresh === true };
    const implicit = this.#implicitWithin !== undefined && kind.token === 'access';
    return async (request) => {
      try {
        const result = await auth.authenticate(request, rules);
        if (result === null) return { ok: true, identity: null, setCookie: NO_COOKIES };
        let user: User | undefined;
        if (lookupUser !== undefined) {
          const found = await lookupUser(result.claims);
          if (found === null || found === undefined) throw new UserInvalidError();
          user = found;
        }
        const setCookie = implicit ? await this.#implicitRefresh(result) : NO_COOKIES;
        // Spelled out: V8 copies `{ ...result, user }` on a slow path, ~2 µs a request.
        const identity: Identity<User> = {
          kind: result.kind,
          token: result.token,
          claims: result.claims,
          sub: result.sub,
          sid: result.sid,
          location: result.location,
          user,
        };
        return { ok: true, identity, setCookie };
      } catch (err) {
        if (err instanceof TesseraError) return { ok: false, result: errorResult(err, format) };
        throw err;
      }
    };
  }

  login(request: AuthRequest, check: CredentialCheck, options: Omit<LoginOptions, 'errorFormat'> = {}): Promise<HttpResult> {
    return handleLogin(this.#auth, request, check, { ...options, ...this.#format() });
  }

  refresh(request: AuthRequest): Promise<HttpResult> {
    const lookupUser = this.#options.lookupUser;
    return handleRefresh(this.#auth, request, { ...this.#format(), ...(lookupUser === undefined ? {} : { lookupUser }) });
  }

  logout(request: AuthRequest): Promise<HttpResult> {
    return handleLogout(this.#auth, request, this.#format());
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
    const left = result.claims.exp - this.#auth.config.clock.now() / 1000;
    if (left > within) return NO_COOKIES;
    const access = await this.#auth.reissueAccessToken(result);
    return [serializeCookie(accessCookie(this.#auth.config, access))];
  }
}

/**
 * What every framework adapter offers, in its framework's types: `Guard` is a middleware, `Handler`
 * a route handler, `Req` what a handler receives.
 */
export interface FrameworkTessera<Guard, Handler, Req, User> {
  /** An access token is required. */
  required(options?: GuardOptions): Guard;
  /** No token is fine (the identity is null); a bad token is still refused. */
  optional(options?: GuardOptions): Guard;
  /** A fresh access token (straight from a login) is required. */
  fresh(options?: GuardOptions): Guard;
  /** A refresh token is required. */
  refreshRequired(options?: GuardOptions): Guard;
  /** The login handler: your credential check, Tessera's session and token response. */
  login(check: CredentialCheck, options?: Omit<LoginOptions, 'errorFormat'>): Handler;
  /** The refresh handler (rotation, grace window, reuse detection). */
  refresh(): Handler;
  /** The logout handler: revokes the session and clears the cookies. */
  logout(): Handler;
  /** The caller a guard verified, typed; throws if no guard ran on this request. */
  identity(request: Req): Identity<User>;
}

/** The three framework-specific pieces an adapter writes; `frameworkTessera` assembles the rest. */
export interface FrameworkBindings<Guard, Handler, Req> {
  guard(kind: GuardKind, options: GuardOptions): Guard;
  handler(run: (request: AuthRequest) => Promise<HttpResult>): Handler;
  /** The identity a guard stored on the request, if any. */
  stored(request: Req): Identity<unknown> | null | undefined;
}

/** Builds an adapter's public surface from its bindings, so every framework offers the same verbs. */
export function frameworkTessera<Guard, Handler, Req, User>(
  kit: AdapterKit<User>,
  bind: FrameworkBindings<Guard, Handler, Req>,
): FrameworkTessera<Guard, Handler, Req, User> {
  return {
    required: (options = {}) => bind.guard({ token: 'access' }, options),
    optional: (options = {}) => bind.guard({ token: 'access', optional: true }, options),
    fresh: (options = {}) => bind.guard({ token: 'access', fresh: true }, options),
    refreshRequired: (options = {}) => bind.guard({ token: 'refresh' }, options),
    login: (check, options = {}) => bind.handler((request) => kit.login(request, check, options)),
    refresh: () => bind.handler((request) => kit.refresh(request)),
    logout: () => bind.handler((request) => kit.logout(request)),
    identity(request) {
      const identity = bind.stored(request);
      if (identity === undefined || identity === null)
        throw new TypeError('No Tessera guard verified this request: add a required(), fresh() or refreshRequired() guard before the handler.');
      return identity as Identity<User>;
    },
  };
}

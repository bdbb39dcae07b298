import { resolveConfig, type ResolvedConfig, type TesseraOptions } from './config/config.js';
import { ConfigError, TesseraError, TokenInvalidError, TokenMissingError, TokenTypeError } from './errors.js';
import {
  assertPresenter,
  cookieTransport,
  SessionManager,
  type OpenSessionInput,
  type SessionTokens,
  type TokenPresenter,
} from './sessions/sessions.js';
import type { PurgeOptions, RevokeReason, SessionRecord } from './sessions/store.js';
import { clearedCookies, serializeCookie, tokenCookies } from './transport/cookies.js';
import { authenticateRequest, type AuthenticateOptions, type AuthResult, type ClaimsOf } from './transport/guard.js';
import type { Jwks } from './keys/key-ring.js';
import type { AuthRequest } from './transport/request.js';
import { AUTHENTICATE_NOW } from './transport/authenticator.js';
import { clientIdOf, customClaims, jktOf, type TokenClaims } from './tokens/claims.js';
import { DpopChecker } from './dpop/checker.js';
import type { DpopProof } from './dpop/proof.js';
import { FIRST_PARTY_CLIENT } from '../protocol/protocol.js';
import type { Transport } from './types.js';
import { TokenIssuer, type AccessTokenInput, type IssuedToken, type TokenInput, type TokenPair, type TokenPairInput } from './tokens/issue.js';
import { TokenVerifier } from './tokens/verify.js';

/** Logout names the session of an expired token too: its signature says it is ours. */
const ALLOW_EXPIRED = { expired: 'allow' } as const;

/**
 * Tokens, verification, sessions and the request guard over one validated configuration.
 * Token functions are synchronous (pure `node:crypto`, no I/O); `authenticate` and the session
 * verbs are async, since a session store takes part.
 */
export class Tessera<Claims extends object = object> {
  /** The resolved, frozen configuration. */
  readonly config: ResolvedConfig;
  readonly #issuer: TokenIssuer;
  readonly #verifier: TokenVerifier;
  readonly #sessions: SessionManager | undefined;
  /** The one DPoP checker of this instance (its replay memory is per process, RFC 9449 §11.1). */
  readonly #dpop: DpopChecker;

  constructor(options: TesseraOptions) {
    this.config = resolveConfig(options);
    this.#issuer = new TokenIssuer(this.config);
    this.#verifier = new TokenVerifier(this.config);
    this.#sessions = this.config.sessions === undefined ? undefined : new SessionManager(this.config, this.#issuer);
    this.#dpop = new DpopChecker(this.config);
  }

  /** Whether a session store is configured (otherwise tokens cannot be revoked before `exp`). */
  get stateful(): boolean {
    return this.#sessions !== undefined;
  }

  /**
   * After a successful login: opens a session (device metadata recorded) and returns its fresh
   * access token and first refresh token. Stateless, it only mints the pair.
   * @example const { access, refresh } = await auth.openSession({ sub: user.id, userAgent, ip });
   */
  async openSession(input: OpenSessionInput): Promise<SessionTokens> {
    if (this.#sessions !== undefined) return this.#sessions.open(input);
    const transport = cookieTransport(input.transport);
    const pair = this.#issuer.pair({
      sub: input.sub,
      fresh: input.fresh ?? true,
      csrf: transport !== undefined,
      transport,
      ...(input.claims === undefined ? {} : { claims: input.claims }),
      ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
      ...(input.jkt === undefined ? {} : { jkt: input.jkt }),
    });
    return { ...pair, session: undefined };
  }

  /**
   * Exchanges a refresh token for a new pair. With a store it rotates: the previous token inside
   * the grace window gets the current one back, and any older one revokes the session
   * (`refresh_token_reused`). Stateless, it returns a new access token and the same refresh token.
   *
   * `clientId` (default `'tessera-web'`) is the client presenting the token and `jkt` the thumbprint
   * of its verified DPoP proof, if any. Before anything rotates, so that nothing is revoked, a token
   * of another client is refused (`token_invalid`) and a DPoP-bound token without a proof by its key
   * is refused (`invalid_dpop_proof`, 400); the grace path checks the same. A session keeps the
   * client and key it was opened with: an unbound session never becomes bound.
   * @example const pair = await auth.refresh(body.refresh_token);
   */
  async refresh(refreshToken: string, options: TokenPresenter = {}): Promise<SessionTokens> {
    return this.#exchange(refreshToken, this.#verifier.verify(refreshToken, 'refresh').claims, options);
  }

  /** The exchange itself, for a refresh token already verified (each is verified once per request). */
  async #exchange(refreshToken: string, claims: TokenClaims, presenter: TokenPresenter): Promise<SessionTokens> {
    if (this.#sessions !== undefined) return this.#sessions.refresh(claims, presenter);
    assertPresenter(claims, presenter);
    const jkt = jktOf(claims);
    const base = {
      sub: claims.sub,
      sid: claims.sid,
      clientId: clientIdOf(claims),
      ...(jkt === undefined ? {} : { jkt }),
      ...(claims.csrf === undefined ? {} : { csrf: claims.csrf }),
    };
    const access = this.#issuer.access({ ...base, fresh: false }, { inherited: customClaims(claims) });
    const now = Math.floor(this.config.clock.now() / 1000);
    return {
      access,
      refresh: { token: refreshToken, claims, expiresIn: Math.max(0, claims.exp - now) },
      sid: claims.sid,
      csrf: claims.csrf,
      session: undefined,
    };
  }

  /**
   * Revokes one session (logout, device revoke): its refresh token stops rotating and its access
   * tokens are refused at once here and on other instances within a second.
   * @example await auth.revokeSession(caller.sid);
   */
  async revokeSession(sid: string, reason: RevokeReason = 'logout'): Promise<boolean> {
    return this.#needSessions('revokeSession').revoke(sid, reason);
  }

  /**
   * Revokes every session of a user (logout-all, password change, user disabled), except `except`.
   * @example await auth.revokeUserSessions(user.id, 'password_change', { except: newSession.sid });
   */
  async revokeUserSessions(sub: string, reason: RevokeReason = 'logout_all', options: { except?: string } = {}): Promise<string[]> {
    return this.#needSessions('revokeUserSessions').revokeUser(sub, reason, options.except);
  }

  /**
   * One session as the store has it, revoked or not (its client, its DPoP key, its times), or
   * undefined; a store that does not answer is 503 `store_unavailable`.
   * @example const session = await auth.getSession(claims.sid);
   */
  async getSession(sid: string): Promise<SessionRecord | undefined> {
    return this.#needSessions('getSession').get(sid);
  }

  /**
   * The verified DPoP proof of a token request (RFC 9449 §4.3), or undefined when none was sent
   * and none is required: the `/auth/login`, `/auth/refresh` and `/oauth/token` endpoints pass its
   * `jkt` on to `openSession` and `refresh`. A bad proof is 400 `invalid_dpop_proof`; a missing or
   * stale nonce is 400 `use_dpop_nonce` with the nonce to send.
   * @example const proof = await auth.dpopProof(request); await auth.refresh(token, { jkt: proof?.jkt });
   */
  async dpopProof(request: AuthRequest): Promise<DpopProof | undefined> {
    return this.#dpop.forTokenRequest(request);
  }

  /**
   * The user's live sessions, newest first (for a "your devices" page).
   * @example const sessions = await auth.listSessions(caller.sub);
   */
  async listSessions(sub: string): Promise<SessionRecord[]> {
    return this.#needSessions('listSessions').list(sub);
  }

  /**
   * Deletes ended sessions (schedule it, or run it from a CLI); answers how many went. SQL stores
   * delete in short batches, yielding between them; `options.signal` stops it between two.
   * @example setInterval(() => void auth.purgeSessions(), 3_600_000).unref();
   */
  async purgeSessions(options?: PurgeOptions): Promise<number> {
    return this.#needSessions('purgeSessions').purge(options);
  }

  /** Closes the session store and bus. */
  async close(): Promise<void> {
    await this.#sessions?.close();
  }

  #needSessions(verb: string): SessionManager {
    if (this.#sessions === undefined) {
      throw new ConfigError([
        `${verb} needs a session store: stateless tokens cannot be revoked before they expire. Pass sessions: { store: memoryStore() } (or a SQL store) to createTessera.`,
      ]);
    }
    return this.#sessions;
  }

  /**
   * Mints an access token (`typ: at+jwt`) with the ring's signing key.
   * @example const { token, expiresIn } = auth.createAccessToken({ sub: user.id, fresh: true });
   */
  createAccessToken(input: AccessTokenInput): IssuedToken {
    return this.#issuer.access(input);
  }

  /**
   * Mints a refresh token (`typ: rt+jwt`) with the server-private refresh key.
   * @example const { token } = auth.createRefreshToken({ sub: user.id, sid });
   */
  createRefreshToken(input: TokenInput): IssuedToken {
    return this.#issuer.refresh(input);
  }

  /**
   * Mints an access and a refresh token for one session (a new `sid` unless given).
   * @example const pair = auth.createTokenPair({ sub: user.id, fresh: true });
   */
  createTokenPair(input: TokenPairInput): TokenPair {
    return this.#issuer.pair(input);
  }

  /**
   * Verifies an access token and returns its claims, or throws a `TesseraError`.
   * @example const claims = auth.verifyAccessToken(token);
   */
  verifyAccessToken(token: string): ClaimsOf<Claims> {
    return this.#verifier.verify(token, 'access').claims as ClaimsOf<Claims>;
  }

  /**
   * Verifies a refresh token and returns its claims, or throws a `TesseraError`.
   * @example const claims = auth.verifyRefreshToken(token);
   */
  verifyRefreshToken(token: string): TokenClaims {
    return this.#verifier.verify(token, 'refresh').claims;
  }

  /**
   * Finds, verifies and checks the request's token; with `optional`, resolves to null when no
   * token was sent (a bad token is still refused).
   * @example const { sub } = await auth.authenticate({ method: 'GET', headers: req.rawHeaders });
   */
  authenticate(request: AuthRequest, options: AuthenticateOptions<Claims> & { optional: true }): Promise<AuthResult<Claims> | null>;
  authenticate(request: AuthRequest, options?: AuthenticateOptions<Claims>): Promise<AuthResult<Claims>>;
  async authenticate(request: AuthRequest, options: AuthenticateOptions<Claims> = {}): Promise<AuthResult<Claims> | null> {
    const result = this.#checkRequest(request, options);
    // Revocation is by session: one liveness check covers logout, reuse, password change and the rest.
    if (result !== null && this.#sessions !== undefined) await this.#sessions.assertLive(result.sid);
    return result;
  }

  /**
   * `authenticate` for the adapters' guards: the same checks, answered at once when no session store
   * takes part (a refusal is then thrown, not rejected), a promise otherwise.
   */
  [AUTHENTICATE_NOW](request: AuthRequest, options: AuthenticateOptions<Claims>): AuthResult<Claims> | null | Promise<AuthResult<Claims> | null> {
    if (this.#sessions !== undefined) return this.authenticate(request, options);
    return this.#checkRequest(request, options);
  }

  /** The request's token and transport rules, without the session check (synchronous; a refusal is thrown). */
  #checkRequest(request: AuthRequest, options: AuthenticateOptions<Claims>): AuthResult<Claims> | null {
    // `Claims` is the app's own statement of what its tokens carry (as `createTessera<Claims>` says).
    return authenticateRequest(
      request,
      options as AuthenticateOptions,
      this.config,
      this.#verifier,
      undefined,
      this.#dpop,
    ) as AuthResult<Claims> | null;
  }

  /**
   * Finds and verifies the request's token with the transport rules (CSRF, Origin) but WITHOUT
   * the session check: for logout and refresh, which consult the store themselves. Use
   * `authenticate` for access control.
   * @example const { sid } = auth.verifyRequest(request, { token: 'refresh' });
   */
  verifyRequest(request: AuthRequest, options: AuthenticateOptions = {}): AuthResult {
    const result = authenticateRequest(request, { ...options, optional: false }, this.config, this.#verifier, undefined, this.#dpop);
    if (result === null) throw new TypeError('unreachable: a required token yields a result or an error');
    return result;
  }

  /**
   * The refresh step of an HTTP request: finds the refresh token (with CSRF and Origin checks when
   * it came in a cookie), rotates it, and says which transport the answer must use — the one the
   * session was opened with, so a cookie-held refresh token never comes back in a body.
   * @example const { tokens, transport } = await auth.refreshRequest(request);
   */
  async refreshRequest(request: AuthRequest, options: RefreshRequestOptions = {}): Promise<{ tokens: SessionTokens; transport: Transport }> {
    const found = this.verifyRequest(
      request,
      options.locations === undefined ? { token: 'refresh' } : { token: 'refresh', locations: options.locations },
    );
    // Another client's token, or a bound one without its key, is refused before the hook and the rotation.
    const presenter = { clientId: options.clientId, jkt: options.jkt };
    assertPresenter(found.claims, presenter);
    await options.beforeRotate?.(found.claims);
    const tokens = await this.#exchange(found.token, found.claims, presenter);
    return { tokens, transport: found.claims.transport ?? 'bearer' };
  }

  /**
   * The logout step of an HTTP request: finds the session's refresh token, or else its access
   * token (Origin and CSRF checks when it came in a cookie), and revokes that session. An expired
   * token still names its session (its signature says it is ours); one issued more than
   * `sessionMaxAge` ago names a session that has ended on its own, so nothing is done. A token
   * that does not verify is refused (`token_invalid` and the like), no token is `token_missing`:
   * a logout that ends nothing never passes for one. A token issued to another client than
   * `clientId` (default `'tessera-web'`) is `token_invalid` and ends nothing. Stateless, it only verifies.
   * @example const { revoked } = await auth.logoutRequest(request);
   */
  async logoutRequest(request: AuthRequest, options: { clientId?: string } = {}): Promise<LogoutOutcome> {
    let found: AuthResult | undefined;
    let refusal: TesseraError | undefined;
    for (const token of ['refresh', 'access'] as const) {
      try {
        found = authenticateRequest(request, { token }, this.config, this.#verifier, ALLOW_EXPIRED, this.#dpop) ?? undefined;
        break;
      } catch (err) {
        // A 401 is about this token only: the other kind may still name the session. A lone Bearer
        // token is tried as both kinds, so "wrong kind" gives way to what the other attempt found.
        if (!(err instanceof TesseraError) || err.status !== 401) throw err;
        if (!(err instanceof TokenMissingError) && (refusal === undefined || refusal instanceof TokenTypeError)) refusal = err;
      }
    }
    if (found === undefined) throw refusal ?? new TokenMissingError({ message: 'Send the refresh token or the access token of the session to end' });
    const { sid, claims } = found;
    if (clientIdOf(claims) !== (options.clientId ?? FIRST_PARTY_CLIENT))
      throw new TokenInvalidError({ message: 'The token was issued to another client' });
    const ended = this.config.clock.now() - claims.iat * 1000 > this.config.sessionMaxAge * 1000;
    if (ended || this.#sessions === undefined) return { sid, revoked: false };
    return { sid, revoked: await this.#sessions.revoke(sid, 'logout') };
  }

  /**
   * A new access token for the same session and claims (`fresh: false`), never outliving the
   * session: for implicit refresh of a near-expiry access cookie.
   * @example const next = await auth.reissueAccessToken(caller);
   */
  async reissueAccessToken(caller: Pick<AuthResult, 'claims'>): Promise<IssuedToken> {
    const { claims } = caller;
    const notAfter = this.#sessions === undefined ? undefined : await this.#sessions.endOf(claims.sid);
    const jkt = jktOf(claims);
    const input = {
      sub: claims.sub,
      sid: claims.sid,
      fresh: false,
      // The client and the DPoP binding stay with the session's tokens.
      clientId: clientIdOf(claims),
      ...(jkt === undefined ? {} : { jkt }),
      ...(claims.csrf === undefined ? {} : { csrf: claims.csrf }),
    };
    return this.#issuer.access(input, { inherited: customClaims(claims), ...(notAfter === undefined ? {} : { notAfter }) });
  }

  /**
   * `Set-Cookie` values for a pair (cookie transport) or for its refresh token alone (hybrid:
   * pass `{ refresh, csrf }`).
   * @example reply.header('set-cookie', auth.cookiesFor(pair));
   */
  cookiesFor(pair: Pick<TokenPair, 'refresh' | 'csrf'> & { access?: IssuedToken }): string[] {
    return tokenCookies(this.config, pair).map(serializeCookie);
  }

  /**
   * `Set-Cookie` values that delete every Tessera cookie (logout).
   * @example reply.header('set-cookie', auth.clearCookies());
   */
  clearCookies(): string[] {
    return clearedCookies(this.config).map(serializeCookie);
  }

  /**
   * The public JWKS of the access-token keys (asymmetric keys only).
   * @example app.get('/.well-known/jwks.json', () => auth.jwks());
   */
  jwks(): Jwks {
    return this.config.keys.jwks();
  }
}

/** What `logoutRequest` did. */
export interface LogoutOutcome {
  /** The session the token named. */
  readonly sid: string;
  /** Whether this call ended it (false: it had ended already, or there is no store). */
  readonly revoked: boolean;
}

/** Options of `refreshRequest`: where to look, the presenter (client and DPoP key, see `refresh`) and a hook. */
export interface RefreshRequestOptions extends Pick<AuthenticateOptions, 'locations'>, TokenPresenter {
  /** Runs once the refresh token has verified and before anything rotates; throwing refuses the refresh. */
  beforeRotate?: (claims: TokenClaims) => Promise<void> | void;
}

/**
 * Validates the options (every problem in one `ConfigError`) and returns a `Tessera`. `Claims` types the
 * custom claims your tokens carry, once for the instance and every adapter built on it.
 * @example const auth = createTessera<{ roles: string[] }>({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey() });
 */
export function createTessera<Claims extends object = object>(options: TesseraOptions): Tessera<Claims> {
  return new Tessera<Claims>(options);
}

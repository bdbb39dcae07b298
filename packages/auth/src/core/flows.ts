import { InvalidCredentialsError, InvalidRequestError, TesseraError, UserInvalidError } from './errors.js';
import { readHeaders, type AuthRequest } from './transport/request.js';
import { isJsonMediaType } from './transport/body.js';
import { checkOrigin } from './transport/csrf.js';
import { errorResult, type ErrorFormat, type HttpResult } from './transport/error-response.js';
import { clearingCookies, loggedOutResult, tokenResult } from './transport/respond.js';
import type { SessionTokens } from './sessions/sessions.js';
import type { Tessera } from './tessera.js';
import type { TokenClaims } from './tokens/claims.js';
import { isTransport, TRANSPORTS } from '../protocol/protocol.js';
import type { Transport } from './types.js';

/** Who a credential check found: the identity, any claims for its tokens, and a late re-check. */
export interface LoginIdentity {
  sub: string | number;
  claims?: Record<string, unknown>;
  /**
   * Asked once the session is stored and before any token leaves: do the credentials this login
   * was checked against still hold? `false` ends that session at once (through `revokeSession`,
   * reason `logout_all`, so the revocation bus and every listener see it) and refuses the login
   * with 401 `invalid_credentials`; a throw ends it too and is rethrown.
   *
   * It closes the race between a login and a password change (or a disabled account, or a
   * logout-all) that lands while the login runs. Keep a per-user version, read it with the
   * password hash, and bump it in the same statement as every such change, which then revokes the
   * user's sessions. Compare here: if this read still sees the old version, the session was stored
   * before the change and the change's revocation finds it; otherwise this check ends it. Compare
   * versions, never times: instances' clocks differ.
   * It gets the id of the stored session, so a check can tie a record of its own to it (a
   * one-time credential claimed under a unique key, whose loser must end its session).
   * @example
   * const user = await users.byName(name); // the hash and credentialVersion in one read
   * if (user === undefined || !(await verify(user.passwordHash, password))) return null;
   * return { sub: user.id, stillValid: async () => (await users.credentialVersion(user.id)) === user.credentialVersion };
   */
  stillValid?: (session: { readonly sid: string }) => Promise<boolean> | boolean;
  /**
   * Default true: a password entry mints a fresh access token. False for a login that proves no
   * password (a token exchange), whose session must never pass a `fresh()` guard.
   */
  fresh?: boolean;
}

/** The app's own credential check: the identity, or null/undefined when the credentials are wrong. */
export type CredentialCheck = (body: unknown, request: AuthRequest) => Promise<LoginIdentity | null | undefined> | LoginIdentity | null | undefined;

/** Options of the login handler. */
export interface LoginOptions {
  /** Transports a login may ask for with the body field `transport`; the first is the default. Default `['bearer']`. */
  transports?: readonly Transport[];
  errorFormat?: ErrorFormat;
}

/**
 * A login endpoint in one call: the app checks the credentials, Tessera opens the session and
 * answers per transport. Where cookies will carry the tokens, the login must be JSON (no
 * cross-site form can log a browser into someone else's account) and same-origin.
 * @example const result = await handleLogin(auth, request, async (body) => (await users.check(body)) ?? null);
 */
export async function handleLogin(auth: Tessera, request: AuthRequest, check: CredentialCheck, options: LoginOptions = {}): Promise<HttpResult> {
  try {
    const allowed = options.transports ?? ['bearer'];
    const transport = chooseTransport(request.body, allowed);
    if (transport !== 'bearer') {
      const headers = readHeaders(request.headers, auth.config.csrfHeader);
      checkOrigin(headers, request.protocol, auth.config);
      if (!isJson(request.headers)) throw new InvalidRequestError({ message: 'A login that sets cookies must send a JSON body' });
    }
    // The cookie transport keeps the access token in an HttpOnly cookie that no script can send as
    // `Authorization: DPoP` (RFC 9449 §7.1), so a bound one would fail every guarded route: refused
    // outright rather than left silently unbound (hybrid works: its bound refresh cookie needs a proof).
    if (
      transport === 'cookie' &&
      auth.config.dpop.mode !== 'off' &&
      (auth.config.dpop.mode === 'required' || header(request.headers, 'dpop') !== undefined)
    )
      throw new InvalidRequestError({
        message:
          'The cookie transport cannot carry DPoP-bound tokens (no script can send an HttpOnly cookie as DPoP): log in with the hybrid or bearer transport',
      });
    // A DPoP proof (RFC 9449 §5) binds the session to its key for good; checked before the password is.
    const proof = await auth.dpopProof(request);
    const identity = await check(request.body, request);
    if (identity === null || identity === undefined) throw new InvalidCredentialsError();
    const tokens = await auth.openSession({
      sub: identity.sub,
      transport,
      ...(proof === undefined ? {} : { jkt: proof.jkt }),
      ...(identity.fresh === undefined ? {} : { fresh: identity.fresh }),
      userAgent: header(request.headers, 'user-agent'),
      ip: request.ip,
      ...(identity.claims === undefined ? {} : { claims: identity.claims }),
    });
    if (identity.stillValid !== undefined) await confirmLogin(auth, tokens, identity.stillValid);
    return tokenResult(auth.config, tokens, transport);
  } catch (err) {
    if (err instanceof TesseraError) return errorResult(err, options.errorFormat);
    throw err;
  }
}

/** Asks `stillValid` after the session is stored; on false or a throw the session ends and no token leaves. */
async function confirmLogin(auth: Tessera, tokens: SessionTokens, stillValid: NonNullable<LoginIdentity['stillValid']>): Promise<void> {
  let valid: boolean;
  try {
    valid = (await stillValid({ sid: tokens.sid })) === true;
  } catch (err) {
    await endLogin(auth, tokens).catch(() => undefined); // the check's own failure is the one to report
    throw err;
  }
  if (valid) return;
  await endLogin(auth, tokens);
  throw new InvalidCredentialsError();
}

async function endLogin(auth: Tessera, tokens: SessionTokens): Promise<void> {
  // The change that made the credentials stale revoked every session of the user; this one joins them.
  if (tokens.session !== undefined) await auth.revokeSession(tokens.sid, 'logout_all');
}

/**
 * A refresh endpoint: rotates the refresh token (body, Bearer or cookie + CSRF) and answers in
 * the session's transport. A dead refresh cookie is cleared with the refusal.
 * @example const result = await handleRefresh(auth, request);
 */
export async function handleRefresh(auth: Tessera, request: AuthRequest, options: RefreshOptions = {}): Promise<HttpResult> {
  try {
    const lookupUser = options.lookupUser;
    // A bound session rotates, and its grace replay is answered, only with a proof by its key (RFC 9449 §5).
    const proof = await auth.dpopProof(request);
    const { tokens, transport } = await auth.refreshRequest(
      request,
      lookupUser === undefined
        ? { jkt: proof?.jkt }
        : {
            jkt: proof?.jkt,
            // A refresh mints new tokens: the user must still exist and be enabled, as on every guarded route.
            beforeRotate: async (claims) => {
              const user = await lookupUser(claims);
              if (user !== null && user !== undefined) return;
              // An ended session says so first, as on guarded routes (token_revoked before user_invalid);
              // the store is asked only on this refusal path, never on a good refresh.
              await auth.authenticate(request, { token: 'refresh' });
              throw new UserInvalidError();
            },
          },
    );
    return tokenResult(auth.config, tokens, transport);
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    const clear = err.status === 401 && hasTesseraCookie(auth, request) ? clearingCookies(auth.config) : [];
    return errorResult(err, options.errorFormat, clear);
  }
}

/** Options of the refresh handler. */
export interface RefreshOptions {
  errorFormat?: ErrorFormat;
  /** Checked before rotating: null or undefined (an unknown or disabled user) refuses with 401 `user_invalid`. */
  lookupUser?: (claims: TokenClaims) => unknown;
}

/**
 * A logout endpoint: revokes the session named by the refresh token (or else the access token),
 * expired or not, and answers 204. A token that does not verify (forged, garbled, another
 * issuer's) is 401, like no token at all: a logout that ends nothing never answers as if it had.
 * Every 204 and 401 clears the cookies, whatever they held. See `Tessera.logoutRequest`.
 * @example const result = await handleLogout(auth, request);
 */
export async function handleLogout(auth: Tessera, request: AuthRequest, options: { errorFormat?: ErrorFormat } = {}): Promise<HttpResult> {
  try {
    await auth.logoutRequest(request);
    return loggedOutResult(auth.config);
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    // 401: nothing the request holds can end a session, so the cookies are dead weight. Not on
    // 403 (a cross-site request must not sign anyone out) nor 503 (the session is still live).
    const clear = err.status === 401 ? clearingCookies(auth.config) : [];
    return errorResult(err, options.errorFormat, clear);
  }
}

function chooseTransport(body: unknown, allowed: readonly Transport[]): Transport {
  for (const t of allowed) if (!isTransport(t)) throw new TypeError(`Unknown transport ${JSON.stringify(t)}: use ${TRANSPORTS.join(', ')}.`);
  const asked = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).transport : undefined;
  if (asked === undefined || asked === null) return allowed[0] ?? 'bearer';
  if (typeof asked !== 'string' || !allowed.includes(asked as Transport)) {
    throw new InvalidRequestError({ message: `transport must be one of: ${allowed.join(', ')}` });
  }
  return asked as Transport;
}

function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) if ((headers[i] as string).toLowerCase() === name) return headers[i + 1];
  return undefined;
}

function isJson(headers: readonly string[]): boolean {
  return isJsonMediaType(header(headers, 'content-type'));
}

function hasTesseraCookie(auth: Tessera, request: AuthRequest): boolean {
  const names = Object.values(auth.config.cookies.names);
  return readHeaders(request.headers, auth.config.csrfHeader).cookie.some((c) => names.some((n) => c.includes(`${n}=`)));
}

import { ERRORS, type ErrorCode } from '../protocol/protocol.js';

// The error classes of every refusal; the code → status → message table itself is protocol data.
export { ERRORS, type ErrorCode };

/**
 * Base class of every refusal: `code` is the wire code, `status` the HTTP status.
 * @example if (err instanceof TesseraError && err.code === 'token_expired') refresh();
 */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Whether a token was presented; RFC 6750 §3 omits the error attribute when none was. */
  readonly tokenPresented: boolean;
  /** Seconds after which a retry may succeed (sent as `Retry-After`). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, options: { message?: string; cause?: unknown; tokenPresented?: boolean; retryAfter?: number; status?: number } = {}) {
    super(options.message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    // Only DPoP refusals differ by place: 400 at a token endpoint, 401 at a guarded route (RFC 9449 §7.1).
    this.status = options.status ?? ERRORS[code].status;
    this.tokenPresented = options.tokenPresented ?? code !== 'token_missing';
    this.retryAfter = options.retryAfter;
  }
}

type Options = { message?: string; cause?: unknown };

/** No token in any of the places looked. */
export class TokenMissingError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_missing', { ...options, tokenPresented: false });
  }
}
/** Malformed, forged, or signed by an unknown key, or failing an issuer, audience or lifetime rule. */
export class TokenInvalidError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_invalid', options);
  }
}
/** `exp` has passed (beyond the leeway). */
export class TokenExpiredError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_expired', options);
  }
}
/** `nbf` or `iat` lies in the future (beyond the leeway). */
export class TokenNotYetValidError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_not_yet_valid', options);
  }
}
/** A token of another kind (a refresh token where an access token belongs, or the reverse). */
export class TokenTypeError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_type_invalid', options);
  }
}
/** The token's session was revoked. */
export class TokenRevokedError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_revoked', options);
  }
}
/** The route needs a token issued by a login, not by a refresh. */
export class FreshTokenRequiredError extends TesseraError {
  constructor(options: Options = {}) {
    super('fresh_token_required', options);
  }
}
/** A refresh token that was already rotated away was presented again. */
export class RefreshTokenReusedError extends TesseraError {
  constructor(options: Options = {}) {
    super('refresh_token_reused', options);
  }
}
/** A token of the system Tessera replaced, exchanged once already: the session of that first exchange is revoked. */
export class LegacyTokenReusedError extends TesseraError {
  constructor(options: Options = {}) {
    super('legacy_token_reused', options);
  }
}
/** A token of the system Tessera replaced, presented after the cut-over ended (`TESSERA_LEGACY_UNTIL`). */
export class LegacyCutoverEndedError extends TesseraError {
  constructor(options: Options = {}) {
    super('legacy_cutover_ended', options);
  }
}
/** A login whose credentials were refused; the same answer for an unknown user and a wrong password. */
export class InvalidCredentialsError extends TesseraError {
  constructor(options: Options = {}) {
    super('invalid_credentials', { ...options, tokenPresented: false });
  }
}
/** A valid token whose user the lookup hook did not find, or found disabled. */
export class UserInvalidError extends TesseraError {
  constructor(options: Options = {}) {
    super('user_invalid', options);
  }
}
/** The request itself is malformed (e.g. two `Authorization` headers). */
export class InvalidRequestError extends TesseraError {
  constructor(options: Options = {}) {
    super('invalid_request', { ...options, tokenPresented: true });
  }
}
/** Two different tokens of the same kind came in one request. */
export class TokenConflictError extends TesseraError {
  constructor(options: Options = {}) {
    super('token_conflict', options);
  }
}
/** A cookie-borne token on a state-changing request without the matching `X-CSRF-Token`. */
export class CsrfError extends TesseraError {
  constructor(options: Options = {}) {
    super('csrf_failed', options);
  }
}
/** A cookie-borne state-changing request from a foreign origin. */
export class OriginRefusedError extends TesseraError {
  constructor(options: Options = {}) {
    super('origin_refused', options);
  }
}
/** A valid token that lacks a claim or scope the route requires; `scope` lists the scopes required (RFC 6750 §3). */
export class InsufficientScopeError extends TesseraError {
  readonly scope: string | undefined;

  constructor(options: Options & { scope?: string } = {}) {
    const { scope, ...rest } = options;
    super('insufficient_scope', rest);
    this.scope = scope;
  }
}
/** The session store did not answer; never treated as an accept. */
export class StoreUnavailableError extends TesseraError {
  constructor(options: Options = {}) {
    super('store_unavailable', options);
  }
}

/** A well-formed body that fails validation (422); the message names the field. */
export class ValidationError extends TesseraError {
  constructor(options: Options = {}) {
    super('validation_failed', { ...options, tokenPresented: false });
  }
}
/** A username that is already registered (409). */
export class UsernameTakenError extends TesseraError {
  constructor(options: Options = {}) {
    super('username_taken', { ...options, tokenPresented: false });
  }
}
/** Nothing here, or nothing of the caller's (another user's session answers the same, 404). */
export class NotFoundError extends TesseraError {
  constructor(options: Options = {}) {
    super('not_found', { ...options, tokenPresented: false });
  }
}
/** A body over the size limit (413). */
export class PayloadTooLargeError extends TesseraError {
  constructor(options: Options = {}) {
    super('payload_too_large', { ...options, tokenPresented: false });
  }
}
/** Request headers over the size limit (431), refused by the HTTP parser. */
export class HeadersTooLargeError extends TesseraError {
  constructor(options: Options = {}) {
    super('headers_too_large', { ...options, tokenPresented: false });
  }
}
/** A body in a media type the route does not take (415). */
export class UnsupportedMediaTypeError extends TesseraError {
  constructor(options: Options = {}) {
    super('unsupported_media_type', { ...options, tokenPresented: false });
  }
}
/** Throttled (429); `retryAfter` says when to try again. */
export class RateLimitedError extends TesseraError {
  constructor(options: Options & { retryAfter?: number } = {}) {
    super('rate_limited', { ...options, tokenPresented: false });
  }
}
/** Work queues are full (503); `retryAfter` says when to try again. */
export class ServerBusyError extends TesseraError {
  constructor(options: Options & { retryAfter?: number } = {}) {
    super('server_busy', { ...options, tokenPresented: false });
  }
}

/**
 * A programmer or configuration mistake, thrown at construction and never at a request.
 * `problems` lists every bad value found, each as one sentence.
 */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? (problems[0] ?? '') : `Invalid configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

/** OAuth `invalid_grant` (RFC 6749 §5.2): a code or refresh token that is bad, expired, reused or another client's. */
export class InvalidGrantError extends TesseraError {
  constructor(options: Options = {}) {
    super('invalid_grant', options);
  }
}
/** OAuth `invalid_client`: client authentication failed; `basic` says it was tried with HTTP Basic (answer with a Basic challenge). */
export class InvalidClientError extends TesseraError {
  readonly basic: boolean;

  constructor(options: Options & { basic?: boolean } = {}) {
    const { basic, ...rest } = options;
    super('invalid_client', { ...rest, tokenPresented: false });
    this.basic = basic === true;
  }
}
/** OAuth `unauthorized_client`: this client may not use the grant or parameter asked for. */
export class UnauthorizedClientError extends TesseraError {
  constructor(options: Options = {}) {
    super('unauthorized_client', options);
  }
}
/** OAuth `unsupported_grant_type`. */
export class UnsupportedGrantTypeError extends TesseraError {
  constructor(options: Options = {}) {
    super('unsupported_grant_type', options);
  }
}
/** OAuth `invalid_scope`. */
export class InvalidScopeError extends TesseraError {
  constructor(options: Options = {}) {
    super('invalid_scope', options);
  }
}
/** A DPoP proof that is missing where required, malformed or does not match the request or token (RFC 9449 §4.3). */
export class InvalidDpopProofError extends TesseraError {
  /** The algorithms accepted, space-separated, for the `algs` of a guarded route's `DPoP` challenge (RFC 9449 §7.1). */
  readonly algs: string | undefined;

  constructor(options: Options & { status?: 400 | 401; algs?: string } = {}) {
    const { algs, ...rest } = options;
    super('invalid_dpop_proof', rest);
    this.algs = algs;
  }
}
/** The proof lacks the current server nonce; `nonce` goes out in the `DPoP-Nonce` header (RFC 9449 §8). */
export class UseDpopNonceError extends TesseraError {
  readonly nonce: string;
  /** As for `InvalidDpopProofError`: the algorithms of the `DPoP` challenge. */
  readonly algs: string | undefined;

  constructor(options: Options & { nonce?: string; status?: 400 | 401; algs?: string } = {}) {
    const { nonce, algs, ...rest } = options;
    super('use_dpop_nonce', rest);
    this.nonce = nonce ?? '';
    this.algs = algs;
  }
}
/** A remote verifier whose revocation feed has been down past its bound (it fails closed: 503, never 401). */
export class RevocationsUnavailableError extends TesseraError {
  constructor(options: Options & { retryAfter?: number } = {}) {
    super('revocations_unavailable', options);
  }
}
/** A remote verifier whose copy of the issuer's JWKS is older than `maxStale` and cannot be refreshed: 503, never 401. */
export class JwksUnavailableError extends TesseraError {
  constructor(options: Options & { retryAfter?: number } = {}) {
    super('jwks_unavailable', options);
  }
}

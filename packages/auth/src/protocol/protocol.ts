// The wire protocol as plain data: what the core, the server and the client must agree on
// (docs/architecture.md "The HTTP contract"). Browser-safe: no Node module, no dependency, so the
// client can import it while the lint rules keep it away from the core's Node-only modules.

/** How tokens travel (docs/architecture.md "Transports"). */
export const TRANSPORTS = ['bearer', 'cookie', 'hybrid'] as const;
/** How tokens travel: `bearer` (both in bodies), `cookie` (both in HttpOnly cookies), `hybrid` (access in the body, refresh in a cookie). */
export type Transport = (typeof TRANSPORTS)[number];
/** The transports that keep the refresh token in an HttpOnly cookie. */
export type CookieTransport = Exclude<Transport, 'bearer'>;

/** Whether `value` names a transport. */
export function isTransport(value: unknown): value is Transport {
  return typeof value === 'string' && (TRANSPORTS as readonly string[]).includes(value);
}

/** The auth API of the server contract, relative to the server's base URL. */
export const AUTH_PATHS = {
  register: '/auth/register',
  login: '/auth/login',
  refresh: '/auth/refresh',
  logout: '/auth/logout',
  logoutAll: '/auth/logout-all',
  me: '/auth/me',
  password: '/auth/password',
  sessions: '/auth/sessions',
} as const;

/**
 * The built-in public first-party OAuth client (`client_id`) of the `/auth/*` API, the demo page and
 * the client library. Every session records the client it was issued to; a token minted before
 * sessions recorded one (no `client_id` claim) counts as this client (docs/oauth.md "Access tokens").
 */
export const FIRST_PARTY_CLIENT = 'tessera-web';

/** The cookies Tessera writes, before their prefix. */
export const COOKIE_NAMES = { access: 'tessera-access', refresh: 'tessera-refresh', csrf: 'tessera-csrf' } as const;

/**
 * The prefix of each cookie when cookies are `Secure` (RFC 6265bis §4.1.3): `__Host-` pins the
 * access and CSRF cookies to the origin and `Path=/`; the refresh cookie keeps its narrower path.
 */
export const SECURE_COOKIE_PREFIX = { access: '__Host-', refresh: '__Secure-', csrf: '__Host-' } as const;

/** The header that echoes the session's CSRF value on state-changing cookie requests (lower case). */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Every refusal as one table: the stable wire code, the HTTP status and the default human
 * message. The core's error classes, the server and the client all read it, so a code means the
 * same thing everywhere. Messages never contain a token or a secret.
 */
export const ERRORS = {
  token_missing: { status: 401, message: 'No token was sent' },
  token_invalid: { status: 401, message: 'Token is invalid' },
  token_expired: { status: 401, message: 'Token has expired' },
  token_not_yet_valid: { status: 401, message: 'Token is not valid yet' },
  token_type_invalid: { status: 401, message: 'Token is of the wrong type' },
  token_revoked: { status: 401, message: 'Token has been revoked' },
  fresh_token_required: { status: 401, message: 'A fresh token is required' },
  refresh_token_reused: { status: 401, message: 'Refresh token was already used' },
  legacy_token_reused: { status: 401, message: 'This token of the previous system was already exchanged' },
  legacy_cutover_ended: { status: 401, message: 'Tokens of the previous system are no longer accepted; sign in' },
  invalid_credentials: { status: 401, message: 'Invalid username or password' },
  user_invalid: { status: 401, message: 'The user of this token is unknown or disabled' },
  invalid_request: { status: 400, message: 'The request is malformed' },
  token_conflict: { status: 400, message: 'Two different tokens of the same kind were sent' },
  csrf_failed: { status: 403, message: 'CSRF token is missing or does not match' },
  origin_refused: { status: 403, message: 'Request origin is not allowed' },
  insufficient_scope: { status: 403, message: 'Token lacks the required claims' },
  store_unavailable: { status: 503, message: 'The session store cannot be reached' },
  validation_failed: { status: 422, message: 'The request body is not valid' },
  username_taken: { status: 409, message: 'That username is taken' },
  not_found: { status: 404, message: 'Not found' },
  payload_too_large: { status: 413, message: 'The request body is too large' },
  headers_too_large: { status: 431, message: 'The request headers are too large' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json' },
  rate_limited: { status: 429, message: 'Too many attempts; try again later' },
  server_busy: { status: 503, message: 'The server is busy; try again shortly' },
  // OAuth 2 (RFC 6749 §5.2, RFC 7009, RFC 7662) and DPoP (RFC 9449 §7.1, §8): the codes OAuth clients switch on.
  invalid_grant: { status: 400, message: 'The grant is invalid, expired, revoked or was issued to another client' },
  invalid_client: { status: 401, message: 'Client authentication failed' },
  unauthorized_client: { status: 400, message: 'The client is not allowed to use this grant' },
  unsupported_grant_type: { status: 400, message: 'The grant type is not supported' },
  invalid_scope: { status: 400, message: 'The requested scope is invalid' },
  invalid_dpop_proof: { status: 400, message: 'The DPoP proof is invalid' },
  use_dpop_nonce: { status: 400, message: 'Retry with the DPoP nonce the server sent' },
  // A resource server that has lost the revocation feed past its bound: 503, never 401, so clients do not all refresh at once.
  revocations_unavailable: { status: 503, message: 'Revocations cannot be checked right now; try again shortly' },
  // A resource server whose copy of the issuer's JWKS is older than its bound (maxStale): 503, never 401, for the same reason.
  jwks_unavailable: { status: 503, message: 'The signing keys cannot be fetched right now; try again shortly' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code, e.g. `'token_expired'`. */
export type ErrorCode = keyof typeof ERRORS;

import type { ErrorCode, TesseraError } from '../errors.js';

/** What an adapter writes for a refusal: status, headers and a JSON body. */
export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The RFC 6750 §3 `WWW-Authenticate` value for a refusal, or undefined where none belongs.
 * No error attribute when no token was sent (§3.1); `invalid_token` for a bad token,
 * `invalid_request` for a malformed request, `insufficient_scope` for missing claims.
 */
export function wwwAuthenticate(error: TesseraError): string | undefined {
  const rfcError = RFC6750_ERROR[error.code];
  if (rfcError === undefined && error.status !== 401) return undefined;
  if (!error.tokenPresented) return 'Bearer';
  if (rfcError === undefined) return undefined;
  // quoted-string content (RFC 9110 §5.6.4): printable ASCII without quote or backslash.
  const description = error.message.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
  return `Bearer error="${rfcError}", error_description="${description}"`;
}

/** The RFC 6750 §3.1 error of each refusal about the bearer credential; other refusals get no challenge (except a bare one on 401). */
const RFC6750_ERROR: Partial<Record<ErrorCode, string>> = {
  token_missing: 'invalid_token',
  token_invalid: 'invalid_token',
  token_expired: 'invalid_token',
  token_not_yet_valid: 'invalid_token',
  token_type_invalid: 'invalid_token',
  token_revoked: 'invalid_token',
  fresh_token_required: 'invalid_token',
  refresh_token_reused: 'invalid_token',
  user_invalid: 'invalid_token',
  invalid_request: 'invalid_request',
  token_conflict: 'invalid_request',
  insufficient_scope: 'insufficient_scope',
};

/**
 * The response for a `TesseraError`: `{"error": code, "message": sentence}`, `no-store`, and
 * `WWW-Authenticate` where RFC 6750 puts it. Every adapter writes exactly this.
 */
export function errorResponse(error: TesseraError): ErrorResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const challenge = wwwAuthenticate(error);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  if (error.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter)));
  return { status: error.status, headers, body: JSON.stringify({ error: error.code, message: error.message }) };
}

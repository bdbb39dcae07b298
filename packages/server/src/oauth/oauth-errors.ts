// Refusals of the OAuth endpoints in the OAuth shape (RFC 6749 §5.2): `{error, error_description}`, JSON,
// `no-store` and `Pragma: no-cache`. The codes and statuses come from the library's one table (`ERRORS`):
// a library refusal is mapped onto the OAuth code a client switches on, never given a second table.
import { ERRORS, InvalidClientError, UseDpopNonceError, type ErrorCode, type HttpResult } from '@tessera/auth';
import { asRefusal } from '../http-errors.js';

/** The headers of every OAuth answer, success or refusal (RFC 6749 §5.1: `no-store` and `Pragma: no-cache`). */
export const OAUTH_JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
} as const;

/**
 * The library's refusals of a presented token: at an OAuth endpoint the grant is what is bad, so each
 * becomes `invalid_grant` (RFC 6749 §5.2: "invalid, expired, revoked, … or was issued to another client").
 */
const GRANT_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'token_missing',
  'token_invalid',
  'token_expired',
  'token_not_yet_valid',
  'token_type_invalid',
  'token_revoked',
  'fresh_token_required',
  'refresh_token_reused',
  'user_invalid',
  'token_conflict',
]);

/** Refusals of the request's form itself: `invalid_request`, 400 (RFC 6749 §5.2), a body over the bound included. */
const REQUEST_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'invalid_request',
  'validation_failed',
  'unsupported_media_type',
  'payload_too_large',
  'csrf_failed',
  'origin_refused',
  'not_found',
]);

/** Sentences for refusals whose table message speaks of JSON: the OAuth endpoints take forms. */
const FORM_MESSAGES: Partial<Record<ErrorCode, string>> = {
  unsupported_media_type: 'Send the parameters as application/x-www-form-urlencoded',
  payload_too_large: 'The request body is too large (at most 8 KiB)',
};

/** A refusal as an OAuth error: the code, its status and the sentence, plus what its headers need. */
export interface OAuthRefusal {
  readonly error: string;
  readonly status: number;
  readonly description: string;
  readonly retryAfter?: number | undefined;
  /** `invalid_client` after HTTP Basic: the answer carries a Basic challenge (RFC 6749 §5.2). */
  readonly basic?: boolean;
  /** `use_dpop_nonce`: the nonce to send in `DPoP-Nonce` (RFC 9449 §8). */
  readonly nonce?: string;
}

/** Maps any failure to its OAuth refusal; a real fault is a 500 `internal_error` with no detail. */
export function oauthRefusal(err: unknown): OAuthRefusal {
  const refusal = asRefusal(err);
  if (refusal === undefined) return { error: 'internal_error', status: 500, description: 'Something went wrong on our side' };
  const { code } = refusal;
  const message = FORM_MESSAGES[code] ?? refusal.message;
  if (GRANT_REFUSALS.has(code)) return { error: 'invalid_grant', status: ERRORS.invalid_grant.status, description: message };
  if (REQUEST_REFUSALS.has(code)) {
    return { error: 'invalid_request', status: ERRORS.invalid_request.status, description: message };
  }
  return {
    error: code,
    // DPoP refusals carry their place's status (400 at the token endpoint, RFC 9449 §7.1); others the table's.
    status: refusal.status,
    description: message,
    retryAfter: refusal.retryAfter,
    ...(refusal instanceof InvalidClientError && refusal.basic ? { basic: true } : {}),
    ...(refusal instanceof UseDpopNonceError && refusal.nonce !== '' ? { nonce: refusal.nonce } : {}),
  };
}

/**
 * The answer to a refusal at an OAuth endpoint: `{error, error_description}` with `no-store`; a Basic
 * challenge naming `realm` after a failed Basic authentication (RFC 6749 §5.2 "MUST include the
 * WWW-Authenticate response header"), `DPoP-Nonce` with `use_dpop_nonce`, `Retry-After` when throttled.
 */
export function oauthErrorResult(err: unknown, realm: string): HttpResult {
  const refusal = oauthRefusal(err);
  const headers: Record<string, string> = { ...OAUTH_JSON_HEADERS };
  if (refusal.basic === true) headers['www-authenticate'] = `Basic realm="${realm.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}", charset="UTF-8"`;
  if (refusal.nonce !== undefined) headers['dpop-nonce'] = refusal.nonce;
  if (refusal.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(refusal.retryAfter)));
  return { status: refusal.status, headers, body: JSON.stringify({ error: refusal.error, error_description: refusal.description }) };
}

/** A 200 JSON answer of an OAuth endpoint (`no-store`, `Pragma: no-cache`). */
export function oauthJsonResult(value: unknown): HttpResult {
  return { status: 200, headers: { ...OAUTH_JSON_HEADERS }, body: JSON.stringify(value) };
}

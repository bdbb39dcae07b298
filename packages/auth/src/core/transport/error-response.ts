// The one rendering of a refusal as an HTTP answer (docs/architecture.md "Errors"): status, the JSON body,
// `no-store`, `WWW-Authenticate` and `Retry-After`. The flows, the adapter kit, every adapter and the
// server call `errorResult`; nothing else builds an error body or its headers.
import type { ErrorCode } from '../errors.js';

/** A complete HTTP answer as plain values; adapters write it as it is. */
export interface HttpResult {
  readonly status: number;
  /** Lower-case names; `set-cookie` is a list. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** JSON text, or undefined for an empty body (204). */
  readonly body: string | undefined;
}

/** How the error body looks: Tessera's `{error, message}`, or flask-jwt-extended's `{msg}`. */
export type ErrorFormat = 'tessera' | 'flask';

/** What an adapter writes for a refusal: status, headers and a JSON body. */
export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * What a refusal is rendered from: a `TesseraError`, or the same fields for an answer that has no
 * error class (a server's own 500). `tokenPresented` left out counts as no token sent.
 */
export interface Refusal {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  readonly tokenPresented?: boolean;
  readonly retryAfter?: number | undefined;
  /** The scopes a route requires, for the `scope` attribute of an `insufficient_scope` challenge. */
  readonly scope?: string | undefined;
  /** DPoP refusals: the algorithms accepted, space-separated, for the `algs` of the `DPoP` challenge (RFC 9449 §7.1). */
  readonly algs?: string | undefined;
  /** `use_dpop_nonce`: the nonce to retry with, sent as `DPoP-Nonce` (RFC 9449 §8, §9). */
  readonly nonce?: string | undefined;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The answer to a refusal: its status; `{"error": code, "message": sentence}` (or `{"msg": sentence}`
 * in the flask format); JSON, `no-store`, `WWW-Authenticate` where RFC 6750 puts it, `Retry-After`
 * when the refusal says when to retry, and `extraCookies` (e.g. cleared ones) as `set-cookie`.
 */
export function errorResult(error: Refusal, format: ErrorFormat = 'tessera', extraCookies: readonly string[] = []): HttpResult {
  const headers: Record<string, string | readonly string[]> = { 'content-type': JSON_TYPE, 'cache-control': 'no-store' };
  const challenge = wwwAuthenticate(error);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  if (error.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter)));
  if (error.code === 'use_dpop_nonce' && typeof error.nonce === 'string' && error.nonce !== '') headers['dpop-nonce'] = error.nonce;
  if (extraCookies.length > 0) headers['set-cookie'] = extraCookies;
  const body = format === 'flask' ? JSON.stringify({ msg: error.message }) : JSON.stringify({ error: error.code, message: error.message });
  const result: HttpResult = { status: error.status, headers, body };
  RENDERED.set(result, error);
  return result;
}

/** The refusal behind each answer `errorResult` built, so an adapter can hand it to the framework's error handling. */
const RENDERED = new WeakMap<HttpResult, Refusal>();

/**
 * The refusal an `HttpResult` renders, or undefined for an answer that is not a refusal (tokens, 204),
 * or that `errorResult` did not build.
 * @example const refusal = refusalOf(await handleLogin(auth, request, check));
 */
export function refusalOf(result: HttpResult): Refusal | undefined {
  return RENDERED.get(result);
}

/** `errorResult` in the Tessera format without cookies, typed for callers that want plain strings. */
export function errorResponse(error: Refusal): ErrorResponse {
  const { status, headers, body } = errorResult(error);
  // No cookies were passed, so every header is a single string, and an error always has a body.
  return { status, headers: headers as Readonly<Record<string, string>>, body: body as string };
}

/**
 * The RFC 6750 §3 `WWW-Authenticate` value for a refusal, or undefined where none belongs.
 * No error attribute when no token was sent (§3.1); `invalid_token` for a bad token,
 * `invalid_request` for a malformed request, `insufficient_scope` for missing claims.
 */
export function wwwAuthenticate(error: Refusal): string | undefined {
  // RFC 9449 §7.1: at a guarded route (401) a DPoP refusal is a DPoP challenge naming the algorithms; at a
  // token endpoint (400) there is none (§5, §8).
  if (error.code === 'invalid_dpop_proof' || error.code === 'use_dpop_nonce') {
    if (error.status !== 401) return undefined;
    const algs = error.algs === undefined || error.algs === '' ? '' : `, algs="${quoted(error.algs)}"`;
    return `DPoP error="${error.code}", error_description="${quoted(error.message)}"${algs}`;
  }
  const rfcError = Object.hasOwn(RFC6750_ERROR, error.code) ? RFC6750_ERROR[error.code as ErrorCode] : undefined;
  if (rfcError === undefined && error.status !== 401) return undefined;
  if (error.tokenPresented !== true) return 'Bearer';
  if (rfcError === undefined) return undefined;
  const description = quoted(error.message);
  const scope = rfcError === 'insufficient_scope' && error.scope !== undefined ? `, scope="${quoted(error.scope)}"` : '';
  return `Bearer error="${rfcError}", error_description="${description}"${scope}`;
}

/** The text as quoted-string content (RFC 9110 §5.6.4): printable ASCII without quote or backslash. */
function quoted(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
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
  legacy_token_reused: 'invalid_token',
  legacy_cutover_ended: 'invalid_token',
  user_invalid: 'invalid_token',
  invalid_request: 'invalid_request',
  token_conflict: 'invalid_request',
  insufficient_scope: 'insufficient_scope',
};

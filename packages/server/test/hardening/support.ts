// What the hardening suites add to the test kit (@tessera/test-kit): their settings under every server
// they start (throttling far out of the way, every transport allowed), and a refusal as
// docs/architecture.md words it. Their HTTP client is the kit's `call`: any 5xx fails the test unless
// the request allows a 503 (a store outage), and so does a stack trace.
import type { Answer } from '@tessera/test-kit';
import { serversWith } from '@tessera/test-kit/server';
import { expect } from 'vitest';

/** Quiet, no background purge, throttling far out of the way, every transport allowed. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  TESSERA_LOG_LEVEL: 'silent',
  TESSERA_PURGE_INTERVAL: '0',
  TESSERA_LOGIN_LIMIT: '100000/15m',
  TESSERA_LOGIN_IP_LIMIT: '100000/15m',
  TESSERA_TRANSPORT: 'bearer,cookie,hybrid',
};

export const { startServer, spawnServer, runCli } = serversWith(BASE_ENV);

/** The RFC 6750 §3.1 error each refusal carries in `WWW-Authenticate` (undefined: no error attribute). */
const CHALLENGE: Readonly<Record<string, string>> = {
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
};

/**
 * A refusal as docs/architecture.md words it: the status and stable code, a `{error, message}` JSON body that
 * is never cached, the RFC 6750 challenge on a token refusal, and none of the tokens sent echoed back.
 */
export function expectRefusal(reply: Answer, status: number, code: string, sent: readonly string[] = [], context = ''): void {
  expect({ status: reply.status, code: reply.code }, `${context} ${reply.text}`.trim()).toEqual({ status, code });
  expect(reply.header('content-type')).toMatch(/^application\/json/);
  expect(reply.header('cache-control')).toBe('no-store');
  expect(Object.keys(reply.json).sort()).toEqual(['error', 'message']);
  const challenge = reply.header('www-authenticate');
  const rfc = CHALLENGE[code];
  if (rfc !== undefined) expect(challenge).toMatch(new RegExp(`^Bearer error="${rfc}"`));
  else if (status === 401) expect(challenge).toBe('Bearer');
  for (const token of sent) if (token.length >= 16) expect(reply.text + (challenge ?? '')).not.toContain(token);
}

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

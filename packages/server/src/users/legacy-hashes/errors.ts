// Why a stored hash from another stack cannot be used: each refusal has a stable code, which the
// import reports with the line number. The message names the format and the parameter, never the hash.

export type LegacyHashProblem =
  /** No format this server knows (docs/migration.md "Password hashes" lists them). */
  | 'legacy_hash_unknown_format'
  /** A known prefix, but the rest does not parse (missing fields, bad encoding, wrong lengths). */
  | 'legacy_hash_malformed'
  /** Parameters past the caps (caps.ts): verifying it would cost more than a login may. */
  | 'legacy_hash_cost_too_high';

export class LegacyHashError extends Error {
  readonly code: LegacyHashProblem;

  constructor(code: LegacyHashProblem, message: string) {
    super(message);
    this.name = 'LegacyHashError';
    this.code = code;
  }
}

export function malformed(format: string, what: string): LegacyHashError {
  return new LegacyHashError('legacy_hash_malformed', `${format} hash: ${what}`);
}

export function tooCostly(format: string, what: string): LegacyHashError {
  return new LegacyHashError('legacy_hash_cost_too_high', `${format} hash: ${what}`);
}

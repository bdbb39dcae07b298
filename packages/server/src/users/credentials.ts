// Username and password rules (docs/architecture.md "The HTTP contract", security.md §7): usernames are
// NFKC-normalised and case-folded so look-alikes cannot coexist; passwords are NFKC-normalised and
// 8 to 1024 bytes, refused (never truncated) when longer.

export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 1024;
const USERNAME = /^[\p{L}\p{M}\p{N}._@+-]{3,64}$/u;
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s]/u;

/** The canonical username, or a sentence saying why it is not acceptable. */
export function canonicalUsername(value: unknown): { ok: true; value: string } | { ok: false; problem: string } {
  if (typeof value !== 'string') return { ok: false, problem: 'username must be a string' };
  const folded = value.normalize('NFKC').toLowerCase().normalize('NFKC');
  if (FORBIDDEN.test(folded)) return { ok: false, problem: 'username must not contain spaces, control or invisible characters' };
  if (!USERNAME.test(folded)) return { ok: false, problem: 'username must be 3 to 64 letters, digits or . _ @ + -' };
  return { ok: true, value: folded };
}

/** The normalised password, or a sentence saying why it is not acceptable. */
export function normalisePassword(value: unknown): { ok: true; value: string } | { ok: false; problem: string } {
  if (typeof value !== 'string') return { ok: false, problem: 'password must be a string' };
  const normalised = value.normalize('NFKC');
  const bytes = Buffer.byteLength(normalised, 'utf8');
  if (bytes < PASSWORD_MIN_BYTES) return { ok: false, problem: `password must be at least ${PASSWORD_MIN_BYTES} bytes` };
  if (bytes > PASSWORD_MAX_BYTES) return { ok: false, problem: `password must be at most ${PASSWORD_MAX_BYTES} bytes` };
  return { ok: true, value: normalised };
}

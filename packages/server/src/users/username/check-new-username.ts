// The rules a username must meet when it is chosen (registration, rename, import). Login never
// applies them: it looks up whatever was stored (lookup-keys.ts).
import { forbiddenKind, type ForbiddenKind } from './forbidden-characters.js';
import { mixedScripts } from './mixed-scripts.js';
import { usernameSkeleton } from './skeleton.js';
import { usernameKey } from './username-key.js';

/**
 * An acceptable new username, or why not. A name refused only for mixing scripts still carries its
 * skeleton: where it looks like a taken name, "taken" is the more useful answer.
 */
export type NewUsername = { ok: true; key: string; skeleton: string } | { ok: false; problem: string; lookalikeOf?: string };

// Today's shape rule (credentials.ts), applied to the key: 3 to 64 code points.
const SHAPE = /^[\p{L}\p{M}\p{N}._@+-]{3,64}$/u;
const SHAPE_PROBLEM = 'username must be 3 to 64 letters, digits or . _ @ + -';
// NFKC composes at most 4 code points into one (the longest canonical decomposition), each at most
// 2 UTF-16 units, so a key of 64 comes from at most 512 units: longer input (with room to spare)
// is refused before any normalisation work.
const MAX_INPUT_UNITS = 1024;

const FORBIDDEN_PROBLEMS: Record<ForbiddenKind, string> = {
  invisible: 'username must not contain invisible characters, which would let it pass for another name',
  unassigned: 'username must not contain code points that Unicode has not assigned yet',
  surrogate: 'username must be well-formed text, without lone UTF-16 surrogates',
  control: 'username must not contain spaces, line breaks, control or formatting characters',
};

/** The key and skeleton of an acceptable new username, or one sentence saying why it is not acceptable. */
export function checkNewUsername(value: unknown): NewUsername {
  if (typeof value !== 'string') return { ok: false, problem: 'username must be a string' };
  if (value.length > MAX_INPUT_UNITS) return { ok: false, problem: SHAPE_PROBLEM };
  // Checked before and after keying: NFKC maps some code points to others of the same kinds
  // (U+3164 HANGUL FILLER to U+1160), and must not be what decides.
  const key = usernameKey(value);
  const forbidden = forbiddenKind(value) ?? forbiddenKind(key);
  if (forbidden !== undefined) return { ok: false, problem: FORBIDDEN_PROBLEMS[forbidden] };
  if (!SHAPE.test(key)) return { ok: false, problem: SHAPE_PROBLEM };
  const scripts = mixedScripts(key);
  if (scripts !== undefined) {
    return {
      ok: false,
      problem: `username must not mix ${listed(scripts)} letters, which is how look-alikes of other names are made`,
      lookalikeOf: usernameSkeleton(key),
    };
  }
  return { ok: true, key, skeleton: usernameSkeleton(key) };
}

function listed(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

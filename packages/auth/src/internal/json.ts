import { type Buffer, isUtf8 } from 'node:buffer';

export type JsonObject = Record<string, unknown>;

/**
 * Parses a decoded JOSE segment as a JSON object, or returns undefined.
 * Refuses bytes that are not UTF-8 (RFC 8725 §3.7), anything but an object (fast-jwt
 * CVE-2026-107723: an array payload skipped every claim check), and duplicate member names
 * (RFC 7515 §5.2 lets a parser refuse them; two components could read different values).
 * A `__proto__` member is refused (security.md §9), and a leading BOM too: it is not JSON whitespace, so `JSON.parse` rejects it.
 */
export function parseJsonObject(bytes: Buffer): JsonObject | undefined {
  if (!isUtf8(bytes)) return undefined;
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  // JSON.parse makes `__proto__` an own property that Object.assign would turn into a prototype.
  if (Object.hasOwn(value, '__proto__')) return undefined;
  if (hasDuplicateTopLevelKey(text, value as JsonObject)) return undefined;
  return value as JsonObject;
}

/**
 * Whether the JSON object text names a top-level member twice. JSON.parse keeps the last of
 * duplicates, so the parsed object has fewer keys than the text names: count the names at depth 1
 * in one pass over text that JSON.parse has already accepted (so it is well-formed).
 */
function hasDuplicateTopLevelKey(text: string, parsed: JsonObject): boolean {
  const keys = Object.keys(parsed).length;
  let depth = 0;
  let names = 0;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      if (depth === 1 && expectName) {
        names++;
        expectName = false;
      }
      // Jump to the closing quote: one preceded by an even run of backslashes.
      let end = text.indexOf('"', i + 1);
      while (end > 0 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      i = end < 0 ? text.length : end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectName = true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectName = true;
    }
  }
  return names !== keys;
}

/** Whether the quote at `at` is escaped: an odd number of backslashes stands right before it. */
function isEscaped(text: string, at: number): boolean {
  let slashes = 0;
  for (let j = at - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) slashes++;
  return (slashes & 1) === 1;
}

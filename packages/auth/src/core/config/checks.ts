// The checks of configuration values, written once: `resolveConfig` runs them on options and the server
// runs the same ones on its TESSERA_* variables (docs/architecture.md "Configuration"). Each check answers
// the value, normalised, or a refusal that becomes one sentence: "<name> must be <expected> (got …)."
import { BARE_SECONDS_MAX, isBareNumber, millisecondsMistake, parseDuration } from './duration.js';

/** How a value is written, so that a reader of text (environment variables) knows how to read it. */
export type CheckKind = 'duration' | 'integer' | 'boolean' | 'text' | 'list';

/** A value refused: what it must be, and the one sentence that says so. */
export interface CheckRefusal {
  readonly ok: false;
  /** The end of the sentence "<name> must be …". */
  readonly expected: string;
  /**
   * The sentence naming the setting: `got` is the value as the user wrote it, left out for secrets;
   * a check that can point at the one bad item of a list shows that item instead.
   */
  sentence(name: string, got?: { value: unknown }): string;
}

/** What a check answers. */
export type Checked<T> = { readonly ok: true; readonly value: T } | CheckRefusal;

/** One check of a configuration value. */
export interface Check<T> {
  readonly kind: CheckKind;
  check(value: unknown): Checked<T>;
}

/** A refusal; `why` follows the value, `culprit` replaces it (the bad item of a list). */
export function refuse(expected: string, options: { why?: string; culprit?: unknown } = {}): CheckRefusal {
  return {
    ok: false,
    expected,
    sentence(name, got) {
      const shown = 'culprit' in options ? options.culprit : got?.value;
      const value = got === undefined ? '' : ` (got ${JSON.stringify(shown)})`;
      return `${name} must be ${expected}${value}${options.why === undefined ? '' : `; ${options.why}`}.`;
    },
  };
}

const accept = <T>(value: T): Checked<T> => ({ ok: true, value });
const make = <T>(kind: CheckKind, check: (value: unknown) => Checked<T>): Check<T> => ({ kind, check });

/**
 * A duration (`'15m'`, `'7d'`, seconds) of at least `min` seconds, answered in seconds; `max.seconds`
 * refuses longer ones, saying `why`. A bare number above `max.bare` seconds (default a year) looks like
 * milliseconds and is refused with the units spelled out: write it with a unit to mean it.
 */
export function duration(min: number, max: { seconds?: number; why?: string; bare?: number } = {}): Check<number> {
  const expected = `a duration such as 15m, 7d or a number of seconds${min > 0 ? ` (at least ${min} s)` : ''}`;
  const bare = max.bare ?? BARE_SECONDS_MAX;
  return make('duration', (value) => {
    const seconds = parseDuration(value);
    if (seconds === undefined || seconds < min) return refuse(expected);
    const tooLong = max.seconds !== undefined && seconds > max.seconds;
    if (isBareNumber(value) && seconds >= 1000 && (seconds > bare || tooLong)) {
      return { ok: false, expected, sentence: (name) => millisecondsMistake(name, seconds, { allowed: !tooLong }) };
    }
    if (tooLong) return refuse(`at most ${max.seconds}s`, max.why === undefined ? {} : { why: max.why });
    return accept(seconds);
  });
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number): Check<number> {
  return make('integer', (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? accept(value)
      : refuse(`a whole number from ${min} to ${max}`),
  );
}

/** `true` or `false`. */
export const boolean: Check<boolean> = make('boolean', (value) => (typeof value === 'boolean' ? accept(value) : refuse('true or false')));

/** A non-empty string, of at most `max` characters when given; `pattern` narrows it, `expected` then says how. */
export function text(options: { max?: number; pattern?: RegExp; expected?: string } = {}): Check<string> {
  const { max, pattern } = options;
  const expected = options.expected ?? `a non-empty string${max === undefined ? '' : ` of at most ${max} characters`}`;
  return make('text', (value) =>
    typeof value === 'string' && value.length > 0 && (max === undefined || value.length <= max) && (pattern === undefined || pattern.test(value))
      ? accept(value)
      : refuse(expected),
  );
}

/** One of `items`; `why` says what is wrong with the others. */
export function oneOf<const T extends string>(items: readonly T[], why?: string): Check<T> {
  const expected = `one of ${items.join(', ')}`;
  return make('text', (value) =>
    (items as readonly unknown[]).includes(value) ? accept(value as T) : refuse(expected, why === undefined ? {} : { why }),
  );
}

/** A list of one or more of `items`, in order of preference, without repeats. */
export function someOf<const T extends string>(items: readonly T[]): Check<readonly T[]> {
  const expected = `a list of one or more of ${items.join(', ')}, without repeats`;
  return make('list', (value) =>
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((item) => (items as readonly unknown[]).includes(item)) &&
    new Set(value).size === value.length
      ? accept(Object.freeze([...(value as T[])]))
      : refuse(expected),
  );
}

/** A list of origins (`scheme://host[:port]`), answered normalised; empty allowed. */
export const origins: Check<readonly string[]> = make('list', (value) => {
  if (!Array.isArray(value)) return refuse('a list of origins');
  const normalized = value.map(normalizeOrigin);
  const bad = value.filter((_, i) => normalized[i] === undefined);
  if (bad.length > 0) return refuse('origins written as scheme://host[:port] with no path', { culprit: bad.length === 1 ? bad[0] : bad });
  return accept(Object.freeze(normalized as string[]));
});

/** A rule joining a duration to another option's (`leeway` below `accessTtl`): the sentence when it is broken. */
export interface Relation<O extends string = string> {
  readonly other: O;
  problem(name: string, seconds: number, otherName: string, otherSeconds: number): string | undefined;
}

/** The rule `value says other`, broken when `broken(value, other)`; values that failed their own check are skipped. */
export function relation<const O extends string>(other: O, says: string, broken: (value: number, other: number) => boolean): Relation<O> {
  return {
    other,
    problem: (name, seconds, otherName, otherSeconds) =>
      Number.isFinite(seconds) && Number.isFinite(otherSeconds) && broken(seconds, otherSeconds)
        ? `${name} (${seconds}s) ${says} ${otherName} (${otherSeconds}s).`
        : undefined,
  };
}

/** `scheme://host[:port]` in lower case, or undefined when `value` is not a bare origin. */
export function normalizeOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    // An origin is scheme, host and port only: anything else in the text is a mistake worth reporting.
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || /[?#]|\/\/.*\/./.test(value))
      return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** Every check builder, for settings of their own (the server's port, its log level …). */
export const CHECKS = { boolean, duration, integer, oneOf, origins, refuse, someOf, text } as const;

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/;

/** A duration: a number of seconds, or text such as `'15m'`, `'7d'`, `'10s'`, `'1.5h'`. */
export type Duration = number | string;

/**
 * Parses a duration into whole seconds, or returns undefined for anything else
 * (negative, non-finite, unknown unit, fractions of a second).
 * @example parseDuration('15m') // 900
 */
export function parseDuration(value: unknown): number | undefined {
  let seconds: number | undefined;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string') {
    const match = PATTERN.exec(value.trim());
    if (match) seconds = Number(match[1]) * (UNITS[match[2] ?? 's'] ?? Number.NaN);
  }
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  const rounded = Math.round(seconds * 1000) / 1000;
  return Number.isInteger(rounded) ? rounded : undefined;
}

/** A year: past it, a duration written as a bare number was most likely meant in milliseconds. */
export const BARE_SECONDS_MAX = 365 * 86400;

/** Whether a duration was written without a unit (a number, or digits alone), and so is read as seconds. */
export function isBareNumber(value: unknown): boolean {
  return typeof value === 'number' || (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value));
}

/**
 * The sentence for a bare number of seconds that looks like milliseconds, with the units spelled out.
 * @example millisecondsMistake('accessTtl', 900000) // "accessTtl 900000 is read as seconds (10.4 days), …"
 */
export function millisecondsMistake(name: string, seconds: number, options: { allowed?: boolean } = {}): string {
  const asMs = seconds / 1000;
  const meant =
    Number.isInteger(asMs) && asMs > 0
      ? `for ${spelled(asMs)} write '${compact(asMs)}' or ${asMs}`
      : "write seconds, or text with a unit such as '15m'";
  // Only where so long a value is allowed at all: say how to mean it.
  const really = options.allowed === false ? '' : `; for ${spelled(seconds)} write '${compact(seconds)}'`;
  return `${name} ${seconds} is read as seconds (${spelled(seconds)}), which looks like milliseconds: ${meant}${really}.`;
}

const SPELLED: readonly (readonly [number, string])[] = [
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** `900` → `'15 minutes'`, `900000` → `'10.4 days'`. */
function spelled(seconds: number): string {
  const [size, unit] = SPELLED.find(([s]) => seconds >= s) ?? [1, 'second'];
  const count = Math.round((seconds / size) * 10) / 10;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** The shortest exact text: `900` → `'15m'`, `900000` → `'250h'`. */
function compact(seconds: number): string {
  for (const [size, unit] of [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
  ] as const)
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

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

/** The one source of time: milliseconds since the epoch. Inject a fixed clock in tests. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * A clock that stands still until moved; for tests and for verifying old vectors.
 * @example const clock = fixedClock(Date.UTC(2030, 0, 1)); clock.advance(60_000);
 */
export function fixedClock(at: number | Date): Clock & { set(at: number | Date): void; advance(ms: number): void } {
  let t = typeof at === 'number' ? at : at.getTime();
  return {
    now: () => t,
    set: (next) => {
      t = typeof next === 'number' ? next : next.getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Whole seconds since the epoch, as JWT NumericDate (RFC 7519 §2). */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

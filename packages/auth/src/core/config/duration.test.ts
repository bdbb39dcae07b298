import { describe, expect, it } from 'vitest';
import { isBareNumber, millisecondsMistake, parseDuration } from './duration.js';
import type { duration } from './checks.js';
import { DEFAULTS } from './defaults.js';

describe('parseDuration', () => {
  it.each([
    ['15m', 900],
    ['7d', 604800],
    ['10s', 10],
    ['1.5h', 5400],
    ['2w', 1209600],
    ['1500ms', undefined],
    ['2000ms', 2],
    [' 30 s ', 30],
    [0, 0],
    [60, 60],
    ['0s', 0],
  ])('%j → %j', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([['-1s'], [-5], ['15x'], [''], ['m'], [Number.NaN], [Number.POSITIVE_INFINITY], [null], [undefined], [{}], ['1e3s'], [0.5]])(
    'refuses %j',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );
});

describe('a bare number that looks like milliseconds', () => {
  const sentence = (check: ReturnType<typeof duration>, name: string, value: unknown): string | number => {
    const checked = check.check(value);
    return checked.ok ? checked.value : checked.sentence(name, { value });
  };

  it('refuses an access lifetime of 900000 with the units spelled out, as a number or as text', () => {
    const expected =
      "accessTtl 900000 is read as seconds (10.4 days), which looks like milliseconds: for 15 minutes write '15m' or 900; for 10.4 days write '250h'.";
    expect(sentence(DEFAULTS.accessTtl.check, 'accessTtl', 900000)).toBe(expected);
    expect(sentence(DEFAULTS.accessTtl.check, 'accessTtl', '900000')).toBe(expected);
  });

  it('keeps seconds as the rule: bare numbers up to the limit and any value with a unit pass', () => {
    expect(sentence(DEFAULTS.accessTtl.check, 'accessTtl', 900)).toBe(900);
    expect(sentence(DEFAULTS.accessTtl.check, 'accessTtl', 86400)).toBe(86400);
    expect(sentence(DEFAULTS.accessTtl.check, 'accessTtl', '250h')).toBe(900000);
    expect(sentence(DEFAULTS.refreshTtl.check, 'refreshTtl', 604800)).toBe(604800);
    expect(sentence(DEFAULTS.refreshTtl.check, 'refreshTtl', '7000d')).toBe(604800000);
  });

  it('refuses a year or more of bare seconds elsewhere, and names milliseconds where a maximum refuses', () => {
    expect(sentence(DEFAULTS.refreshTtl.check, 'refreshTtl', 604800000)).toBe(
      "refreshTtl 604800000 is read as seconds (7000 days), which looks like milliseconds: for 7 days write '7d' or 604800; for 7000 days write '7000d'.",
    );
    expect(sentence(DEFAULTS.leeway.check, 'leeway', 5000)).toBe(
      "leeway 5000 is read as seconds (1.4 hours), which looks like milliseconds: for 5 seconds write '5s' or 5.",
    );
    expect(sentence(DEFAULTS.leeway.check, 'leeway', 120)).toBe('leeway must be at most 60s (got 120).');
  });

  it('tells bare numbers from text with a unit', () => {
    expect([900, '900', ' 900 ', '1.5'].map(isBareNumber)).toEqual([true, true, true, true]);
    expect(['15m', '900s', null, undefined].map(isBareNumber)).toEqual([false, false, false, false]);
    expect(millisecondsMistake('x', 1500)).toBe(
      "x 1500 is read as seconds (25 minutes), which looks like milliseconds: write seconds, or text with a unit such as '15m'; for 25 minutes write '25m'.",
    );
  });
});

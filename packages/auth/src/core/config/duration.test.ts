import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

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

// Pure parts of the client: when to refresh, how long to cool down, and which tab messages count.
import { describe, expect, it } from 'vitest';
import { parseTabMessage } from '../../src/client/tabs.js';
import { cooldownAfter, expiryFrom, refreshDueAt, refreshMargin } from '../../src/client/timing.js';

describe('refresh timing', () => {
  it('refreshes when the remaining life is at most min(60 s, 20 % of the lifetime)', () => {
    expect(refreshMargin(3_000)).toBe(600);
    expect(refreshMargin(60_000)).toBe(12_000);
    expect(refreshMargin(300_000)).toBe(60_000);
    expect(refreshMargin(900_000)).toBe(60_000);
    expect(refreshMargin(0)).toBe(0);
  });

  it('times expiry from the moment the answer came (the server rounds expires_in down)', () => {
    expect(expiryFrom(10_000, 900)).toEqual({ expiresAt: 10_000 + 900_000, lifetime: 900_000 });
    expect(expiryFrom(10_000, 3)).toEqual({ expiresAt: 10_000 + 3_000, lifetime: 3_000 });
    expect(expiryFrom(10_000, 0)).toEqual({ expiresAt: 10_000, lifetime: 0 });
  });

  it('spreads tabs over the last quarter of the margin, never earlier than the margin', () => {
    const expiresAt = 1_000_000;
    expect(refreshDueAt(expiresAt, 900_000, 0)).toBe(expiresAt - 60_000);
    expect(refreshDueAt(expiresAt, 900_000, 1)).toBe(expiresAt - 45_000);
    expect(refreshDueAt(expiresAt, 900_000, 5)).toBe(expiresAt - 45_000);
  });

  it('cools down 1 s after a failure, doubling to at most 60 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 100].map(cooldownAfter)).toEqual([0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });
});

describe('tab messages', () => {
  it('reads well-formed news and ignores anything else', () => {
    expect(parseTabMessage({ type: 'refreshed', transport: 'hybrid', accessToken: 'a.b.c', remaining: 1000, lifetime: 3000, junk: 1 })).toEqual({
      type: 'refreshed',
      transport: 'hybrid',
      accessToken: 'a.b.c',
      remaining: 1000,
      lifetime: 3000,
    });
    expect(parseTabMessage({ type: 'signedOut', transport: 'cookie' })).toEqual({ type: 'signedOut', transport: 'cookie' });
    expect(parseTabMessage({ type: 'refreshing' })).toEqual({ type: 'refreshing' });
    expect(parseTabMessage({ type: 'refreshed', transport: 'carrier-pigeon' })).toBeUndefined();
    expect(parseTabMessage({ type: 'refreshed', transport: 'hybrid', remaining: -5, accessToken: 7 })).toEqual({
      type: 'refreshed',
      transport: 'hybrid',
    });
    expect(parseTabMessage('refreshed')).toBeUndefined();
    expect(parseTabMessage(null)).toBeUndefined();
    expect(parseTabMessage({ type: 'logoutEverything' })).toBeUndefined();
  });
});

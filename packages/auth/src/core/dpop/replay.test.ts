import { describe, expect, it } from 'vitest';
import { ReplayCache } from './replay.js';

describe('ReplayCache', () => {
  it('accepts a (jkt, jti) once while it lives, and again once it has expired', () => {
    const seen = new ReplayCache();
    expect(seen.claim('k', 'j1', 2000, 1000)).toBe(true);
    expect(seen.claim('k', 'j1', 2000, 1500)).toBe(false);
    expect(seen.claim('other', 'j1', 2000, 1500)).toBe(true);
    expect(seen.claim('k', 'j1', 4000, 2500)).toBe(true);
  });

  it('stays within its capacity, dropping expired entries first, then the oldest', () => {
    const seen = new ReplayCache(3);
    seen.claim('k', 'a', 100, 0);
    seen.claim('k', 'b', 5000, 0);
    seen.claim('k', 'c', 5000, 0);
    expect(seen.claim('k', 'd', 5000, 200)).toBe(true); // 'a' expired and went first
    expect(seen.size).toBe(3);
    expect(seen.claim('k', 'b', 5000, 300)).toBe(false);
    seen.claim('k', 'e', 5000, 300); // full of live entries: the oldest ('b') goes
    expect(seen.size).toBe(3);
    expect(seen.claim('k', 'c', 5000, 300)).toBe(false);
  });
});

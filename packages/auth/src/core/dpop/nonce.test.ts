import { describe, expect, it } from 'vitest';
import { DpopNonces, NONCE_STEP_SECONDS } from './nonce.js';

const SECRET = new Uint8Array(32).fill(7);
const T = Date.UTC(2030, 0, 1);
const STEP = NONCE_STEP_SECONDS * 1000;

describe('DpopNonces (stateless, RFC 9449 §8)', () => {
  it('accepts its nonce in the current and the next step, not after', () => {
    const nonces = new DpopNonces(SECRET);
    const n = nonces.current(T);
    expect(nonces.accepts(n, T)).toBe(true);
    expect(nonces.accepts(n, T + STEP)).toBe(true);
    expect(nonces.accepts(n, T + 2 * STEP)).toBe(false);
    expect(nonces.accepts(n, T - STEP)).toBe(false);
  });

  it('is the same on every instance that shares the secret, and differs under another secret', () => {
    const a = new DpopNonces(SECRET);
    const b = new DpopNonces(Uint8Array.from(SECRET));
    expect(b.accepts(a.current(T), T)).toBe(true);
    expect(new DpopNonces(new Uint8Array(32).fill(8)).accepts(a.current(T), T)).toBe(false);
  });

  it('refuses anything else, of any length, without throwing', () => {
    const nonces = new DpopNonces(SECRET);
    for (const bad of ['', 'x', nonces.current(T).slice(1), `${nonces.current(T)}x`, 'é'.repeat(50)]) expect(nonces.accepts(bad, T)).toBe(false);
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => new DpopNonces(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});

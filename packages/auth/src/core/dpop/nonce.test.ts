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

  it('refuses a secret shorter than 32 bytes, as bytes, as a string, or as a function answering one', () => {
    expect(() => new DpopNonces(new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => new DpopNonces('x'.repeat(31))).toThrow(/32 bytes/);
    expect(() => new DpopNonces(() => new Uint8Array(31))).toThrow(/32 bytes/);
  });
});

describe('DpopNonces with a secret that changes (a function)', () => {
  const OTHER = new Uint8Array(32).fill(9);

  it('asks the function at each nonce, and makes the same nonces as the bytes it answers', () => {
    let calls = 0;
    const nonces = new DpopNonces(() => (calls++, SECRET));
    const before = calls;
    expect(nonces.current(T)).toBe(new DpopNonces(SECRET).current(T));
    expect(nonces.accepts(new DpopNonces(SECRET).current(T), T)).toBe(true);
    expect(calls - before).toBe(2);
    expect(new DpopNonces(() => 's'.repeat(32)).current(T)).toBe(new DpopNonces('s'.repeat(32)).current(T));
  });

  it('accepts a nonce made before the change through the rest of its window, and not after', () => {
    let secret = SECRET;
    const nonces = new DpopNonces(() => secret);
    const old = nonces.current(T);
    secret = OTHER;
    const fresh = nonces.current(T + 1000);
    expect(fresh).not.toBe(old);
    expect(fresh).toBe(new DpopNonces(OTHER).current(T + 1000));
    expect(nonces.accepts(old, T + 1000)).toBe(true);
    expect(nonces.accepts(old, T + STEP)).toBe(true);
    expect(nonces.accepts(fresh, T + STEP)).toBe(true);
    expect(nonces.accepts(old, T + 2 * STEP)).toBe(false);
    expect(nonces.accepts(fresh, T + 2 * STEP)).toBe(false);
  });

  it('accepts a nonce of an instance that has not seen the change yet, made just after it', () => {
    let secret = SECRET;
    const reloaded = new DpopNonces(() => secret);
    reloaded.current(T);
    secret = OTHER;
    expect(reloaded.accepts(new DpopNonces(SECRET).current(T + 2000), T + 2000)).toBe(true);
  });

  it('refuses after a change a forged nonce, and one made under the old secret whose window had already ended', () => {
    let secret = SECRET;
    const nonces = new DpopNonces(() => secret);
    const tooOld = new DpopNonces(SECRET).current(T - 2 * STEP);
    secret = OTHER;
    expect(nonces.accepts(tooOld, T)).toBe(false);
    expect(nonces.accepts(new DpopNonces(new Uint8Array(32).fill(1)).current(T), T)).toBe(false);
    for (const bad of ['', 'x', `${nonces.current(T)}x`]) expect(nonces.accepts(bad, T)).toBe(false);
  });

  it('keeps the secret when the function answers another copy of the same bytes', () => {
    const nonces = new DpopNonces(() => Uint8Array.from(SECRET));
    const n = nonces.current(T);
    expect(nonces.accepts(n, T)).toBe(true);
    expect(nonces.current(T)).toBe(n);
  });

  it('throws when the function later answers a secret that is too short', () => {
    let secret: Uint8Array = SECRET;
    const nonces = new DpopNonces(() => secret);
    secret = new Uint8Array(8);
    expect(() => nonces.current(T)).toThrow(/dpop\.nonceSecret function must return .* at least 32 bytes/);
  });
});

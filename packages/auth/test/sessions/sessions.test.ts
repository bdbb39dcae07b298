// The refresh-token life cycle of docs/architecture.md "Sessions", on the memory store with a frozen clock.
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { ConfigError, TesseraError } from '../../src/core/errors.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { SessionEvent } from '../../src/core/types.js';
import type { SessionStore } from '../../src/core/sessions/store.js';
import { createTessera } from '../../src/core/tessera.js';
import type { TesseraOptions } from '../../src/core/config/config.js';
import { memoryBus, memoryStore } from '../../src/stores/memory.js';

const T0 = Date.UTC(2030, 0, 1);
let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  keys = await generateKey('EdDSA');
  refreshKey = await generateRefreshKey();
});

function setup(options: Partial<TesseraOptions> & { store?: SessionStore } = {}) {
  const clock = fixedClock(T0);
  const events: SessionEvent[] = [];
  const store = options.store ?? memoryStore();
  const auth = createTessera({ keys, refreshKey, clock, ...options, sessions: { store, onEvent: (e) => events.push(e), ...options.sessions } });
  return { auth, clock, events, store };
}

const bearer = (token: string) => ({ method: 'GET', headers: ['Authorization', `Bearer ${token}`] });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return (err as TesseraError).code;
  }
  return 'accepted';
}

/** Counts store reads, to see when the liveness cache answers instead. */
function counting(store: SessionStore): SessionStore & { gets: number } {
  const wrapped = Object.create(store) as SessionStore & { gets: number };
  wrapped.gets = 0;
  wrapped.get = async (id) => {
    wrapped.gets++;
    return store.get(id);
  };
  return wrapped;
}

describe('sessions', () => {
  it('opens a session whose tokens carry its sid and current jti', async () => {
    const { auth, events } = setup();
    const opened = await auth.openSession({ sub: 7, userAgent: 'UA', ip: '203.0.113.9' });
    expect(opened.session).toMatchObject({
      id: opened.sid,
      userId: '7',
      currentJti: opened.refresh.claims.jti,
      previousJti: null,
      userAgent: 'UA',
      ip: '203.0.113.9',
    });
    expect(opened.access.claims).toMatchObject({ sid: opened.sid, fresh: true });
    expect((await auth.authenticate(bearer(opened.access.token))).sub).toBe('7');
    expect(events.map((e) => e.type)).toEqual(['session_created']);
  });

  it('rotates: a new refresh token, the old one remembered as previous, a non-fresh access token', async () => {
    const { auth, clock, events } = setup();
    const opened = await auth.openSession({ sub: 'u' });
    clock.advance(60_000);
    const next = await auth.refresh(opened.refresh.token);
    expect(next.sid).toBe(opened.sid);
    expect(next.refresh.claims.jti).not.toBe(opened.refresh.claims.jti);
    expect(next.session).toMatchObject({ currentJti: next.refresh.claims.jti, previousJti: opened.refresh.claims.jti, rotatedAt: T0 + 60_000 });
    expect(next.access.claims.fresh).toBe(false);
    expect(next.refresh.expiresIn).toBe(7 * 86400);
    expect(events.map((e) => e.type)).toEqual(['session_created', 'rotated']);
  });

  it('carries login claims and the transport over every rotation, and recomputes hook claims', async () => {
    let version = 1;
    const { auth } = setup({ additionalClaims: () => ({ hookVersion: version }) });
    const opened = await auth.openSession({ sub: 'u', transport: 'hybrid', claims: { roles: ['admin'] } });
    expect(opened.refresh.claims).toMatchObject({ transport: 'hybrid', roles: ['admin'], hookVersion: 1 });
    expect(opened.access.claims).not.toHaveProperty('transport');
    version = 2;
    const next = await auth.refresh(opened.refresh.token);
    expect(next.refresh.claims).toMatchObject({ transport: 'hybrid', csrf: opened.csrf, roles: ['admin'], hookVersion: 2 });
    expect(next.access.claims).toMatchObject({ roles: ['admin'], hookVersion: 2, fresh: false });
  });

  it('lets hook claims win over the claims a rotation carries over, and keeps the carried ones the hook leaves alone', async () => {
    let plan = 'free';
    const { auth } = setup({ additionalClaims: () => ({ plan }) });
    const opened = await auth.openSession({ sub: 'u', claims: { roles: ['admin'] } });
    plan = 'pro';
    const next = await auth.refresh(opened.refresh.token);
    for (const claims of [next.refresh.claims, next.access.claims])
      expect(claims).toMatchObject({ plan: 'pro', roles: ['admin'], sub: 'u', sid: opened.sid });
    expect(next.refresh.claims).not.toHaveProperty('fresh');
  });

  it('answers the previous token inside the grace window with the current one (same jti and claims)', async () => {
    const { auth, clock, events } = setup();
    const opened = await auth.openSession({ sub: 'u', transport: 'cookie' });
    const next = await auth.refresh(opened.refresh.token);
    clock.advance(10_000);
    const replay = await auth.refresh(opened.refresh.token);
    expect(replay.refresh.claims).toEqual(next.refresh.claims);
    expect(replay.csrf).toBe(opened.csrf);
    expect((await auth.authenticate(bearer(replay.access.token))).sid).toBe(opened.sid);
    expect(events.map((e) => e.type)).toEqual(['session_created', 'rotated', 'grace_replay']);
    // The current token still rotates afterwards: both tabs end on one session.
    expect((await auth.refresh(next.refresh.token)).sid).toBe(opened.sid);
  });

  it('treats the previous token after the window as reuse: the session is revoked everywhere it reaches', async () => {
    const { auth, clock, events } = setup();
    const opened = await auth.openSession({ sub: 'u' });
    const next = await auth.refresh(opened.refresh.token);
    clock.advance(10_001);
    expect(await codeOf(auth.refresh(opened.refresh.token))).toBe('refresh_token_reused');
    expect(await codeOf(auth.refresh(next.refresh.token))).toBe('token_revoked');
    expect(await codeOf(auth.authenticate(bearer(next.access.token)))).toBe('token_revoked');
    expect(await codeOf(auth.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
    expect(events.map((e) => e.type)).toEqual(['session_created', 'rotated', 'session_revoked', 'reuse_detected']);
    expect(events[2]).toMatchObject({ reason: 'reuse', sid: opened.sid });
  });

  it('never honours a grandparent, even inside the window', async () => {
    const { auth } = setup();
    const first = await auth.openSession({ sub: 'u' });
    const second = await auth.refresh(first.refresh.token);
    await auth.refresh(second.refresh.token);
    expect(await codeOf(auth.refresh(first.refresh.token))).toBe('refresh_token_reused');
  });

  it('with a grace of 0, the previous token is reuse at once', async () => {
    const { auth } = setup({ reuseGrace: 0 });
    const opened = await auth.openSession({ sub: 'u' });
    await auth.refresh(opened.refresh.token);
    expect(await codeOf(auth.refresh(opened.refresh.token))).toBe('refresh_token_reused');
  });

  it('serves 50 simultaneous refreshes of one token with one rotation and one jti', async () => {
    const { auth, events } = setup();
    const opened = await auth.openSession({ sub: 'u' });
    const results = await Promise.all(Array.from({ length: 50 }, () => auth.refresh(opened.refresh.token)));
    expect(new Set(results.map((r) => r.refresh.claims.jti)).size).toBe(1);
    expect(events.filter((e) => e.type === 'rotated')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'grace_replay')).toHaveLength(49);
  });

  it('logout revokes the session: its access and refresh tokens stop at once', async () => {
    const { auth } = setup();
    const opened = await auth.openSession({ sub: 'u' });
    await auth.authenticate(bearer(opened.access.token)); // cached as live first
    expect(await auth.revokeSession(opened.sid)).toBe(true);
    expect(await auth.revokeSession(opened.sid)).toBe(false);
    expect(await codeOf(auth.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
    expect(await codeOf(auth.refresh(opened.refresh.token))).toBe('token_revoked');
  });

  it('never leaves a usable token when logout and refresh race', async () => {
    const { auth } = setup();
    for (let i = 0; i < 20; i++) {
      const opened = await auth.openSession({ sub: 'u' });
      const [refreshed] = await Promise.allSettled([auth.refresh(opened.refresh.token), auth.revokeSession(opened.sid)]);
      const tokens = refreshed.status === 'fulfilled' ? [refreshed.value.access.token, opened.access.token] : [opened.access.token];
      for (const token of tokens) expect(await codeOf(auth.authenticate(bearer(token)))).toBe('token_revoked');
      if (refreshed.status === 'fulfilled') expect(await codeOf(auth.refresh(refreshed.value.refresh.token))).toBe('token_revoked');
    }
  });

  it('revokes every session of a user but the one kept (password change)', async () => {
    const { auth } = setup();
    const [a, b, keep] = await Promise.all([auth.openSession({ sub: 'u' }), auth.openSession({ sub: 'u' }), auth.openSession({ sub: 'u' })]);
    const other = await auth.openSession({ sub: 'someone else' });
    expect((await auth.revokeUserSessions('u', 'password_change', { except: keep.sid })).sort()).toEqual([a.sid, b.sid].sort());
    expect(await codeOf(auth.authenticate(bearer(a.access.token)))).toBe('token_revoked');
    expect(await codeOf(auth.authenticate(bearer(b.access.token)))).toBe('token_revoked');
    expect((await auth.authenticate(bearer(keep.access.token))).sid).toBe(keep.sid);
    expect((await auth.authenticate(bearer(other.access.token))).sid).toBe(other.sid);
    expect((await auth.listSessions('u')).map((s) => s.id)).toEqual([keep.sid]);
  });

  it('never lets rotation outlive the absolute session lifetime', async () => {
    const { auth, clock } = setup({ sessionMaxAge: '8d' });
    const opened = await auth.openSession({ sub: 'u' });
    clock.advance(6 * 86_400_000);
    const late = await auth.refresh(opened.refresh.token);
    const end = (T0 + 8 * 86_400_000) / 1000;
    expect(late.refresh.claims.exp).toBe(end);
    clock.set(T0 + 8 * 86_400_000 - 60_000);
    const last = await auth.refresh(late.refresh.token);
    expect(last.refresh.claims.exp).toBe(end);
    expect(last.access.claims.exp).toBe(end);
    clock.set(T0 + 8 * 86_400_000);
    expect(await codeOf(auth.refresh(last.refresh.token))).toBe('token_expired');
    expect(await codeOf(auth.authenticate(bearer(last.access.token)))).toBe('token_expired');
  });

  it('caps live sessions per user by revoking the oldest', async () => {
    const { auth, clock } = setup({ sessions: { store: memoryStore(), maxPerUser: 2 } });
    const first = await auth.openSession({ sub: 'u' });
    clock.advance(1);
    const second = await auth.openSession({ sub: 'u' });
    clock.advance(1);
    const third = await auth.openSession({ sub: 'u' });
    expect(await codeOf(auth.authenticate(bearer(first.access.token)))).toBe('token_revoked');
    for (const s of [second, third]) expect((await auth.authenticate(bearer(s.access.token))).sid).toBe(s.sid);
  });

  it('answers store_unavailable (503) when the store fails, never an accept', async () => {
    const healthy = memoryStore();
    const broken: SessionStore = { ...healthy, get: async () => Promise.reject(new Error('connection refused')) };
    const { auth } = setup({ store: broken });
    const opened = await auth.openSession({ sub: 'u' });
    const err = await auth.authenticate(bearer(opened.access.token)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect(err).toMatchObject({ code: 'store_unavailable', status: 503 });
    expect((err as Error).cause).toBeInstanceOf(Error);
    const failingRotate: SessionStore = { ...healthy, rotate: async () => Promise.reject(new Error('timeout')) };
    const second = setup({ store: failingRotate });
    const s = await second.auth.openSession({ sub: 'u' });
    expect(await codeOf(second.auth.refresh(s.refresh.token))).toBe('store_unavailable');
  });

  it('answers from memory within a second, and asks the store again after', async () => {
    const store = counting(memoryStore());
    const { auth, clock } = setup({ store });
    const opened = await auth.openSession({ sub: 'u' });
    for (let i = 0; i < 5; i++) await auth.authenticate(bearer(opened.access.token));
    expect(store.gets).toBe(1);
    clock.advance(1000);
    await auth.authenticate(bearer(opened.access.token));
    expect(store.gets).toBe(2);
  });

  it('sees a revocation made by another instance within one second without a bus', async () => {
    const shared = memoryStore();
    const clock = fixedClock(T0);
    const a = createTessera({ keys, refreshKey, clock, sessions: { store: shared } });
    const b = createTessera({ keys, refreshKey, clock, sessions: { store: shared } });
    const opened = await a.openSession({ sub: 'u' });
    await a.authenticate(bearer(opened.access.token));
    await b.revokeSession(opened.sid);
    clock.advance(1000);
    expect(await codeOf(a.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
  });

  it('with a bus, trusts "live" longer and still sees another instance\'s revocation at once', async () => {
    const shared = memoryStore();
    const bus = memoryBus();
    const clock = fixedClock(T0);
    const storeA = counting(shared);
    const a = createTessera({ keys, refreshKey, clock, sessions: { store: storeA, bus: bus.connect() } });
    const b = createTessera({ keys, refreshKey, clock, sessions: { store: shared, bus: bus.connect() } });
    const opened = await a.openSession({ sub: 'u' });
    await a.authenticate(bearer(opened.access.token));
    clock.advance(30_000);
    await a.authenticate(bearer(opened.access.token));
    expect(storeA.gets).toBe(1);
    await b.revokeSession(opened.sid);
    expect(await codeOf(a.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
    await Promise.all([a.close(), b.close()]);
  });

  it('keeps working without a store, and says what it cannot do', async () => {
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0) });
    expect(auth.stateful).toBe(false);
    const opened = await auth.openSession({ sub: 'u' });
    const refreshed = await auth.refresh(opened.refresh.token);
    expect(refreshed.refresh.token).toBe(opened.refresh.token);
    expect(refreshed.access.claims.fresh).toBe(false);
    await expect(auth.revokeSession(opened.sid)).rejects.toThrow(ConfigError);
    await expect(auth.revokeSession(opened.sid)).rejects.toThrow(/needs a session store/);
  });

  it('refuses a malformed session store at construction', () => {
    expect(() => createTessera({ keys, refreshKey, sessions: { store: {} as SessionStore } })).toThrow(/sessions.store/);
  });
});

describe('liveness while the revocation bus is down', () => {
  it('shortens "live" answers cached while it was up to one second', async () => {
    const shared = memoryStore();
    const clock = fixedClock(T0);
    const buses = memoryBus();
    const busA = buses.connect();
    const storeA = counting(shared);
    const a = createTessera({ keys, refreshKey, clock, sessions: { store: storeA, bus: busA } });
    const b = createTessera({ keys, refreshKey, clock, sessions: { store: shared } });
    const opened = await a.openSession({ sub: 'u' });
    await a.authenticate(bearer(opened.access.token));
    await busA.close(); // the bus goes down: messages may be lost from now on
    await b.revokeSession(opened.sid); // B has no bus: A never hears of it
    clock.advance(1000);
    expect(await codeOf(a.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
    expect(storeA.gets).toBe(2);
  });
});

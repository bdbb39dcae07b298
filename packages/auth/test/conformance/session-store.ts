// One conformance suite for the SessionStore contract, run against every store on real services
// (memory, SQLite files, Postgres). A store passes only if it keeps every promise of the contract,
// the atomic compare-and-set of `rotate` above all.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { TesseraError } from '../../src/core/errors.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { SessionEvent } from '../../src/core/types.js';
import type { SessionRecord, SessionStore } from '../../src/core/sessions/store.js';
import { createTessera } from '../../src/core/tessera.js';

export interface StoreHarness {
  store: SessionStore;
  /** Drops what the harness made (a schema, a file). */
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2030, 0, 1); // epoch ms beyond 2^31 seconds' worth of ms: checks bigint handling
const DAY = 86_400_000;

const id = (): string => randomBytes(16).toString('base64url');

export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: id(),
    userId: `user-${id()}`,
    currentJti: id(),
    previousJti: null,
    rotatedAt: T0,
    expiresAt: T0 + 7 * DAY,
    absoluteExpiresAt: T0 + 30 * DAY,
    revokedAt: null,
    reason: null,
    createdAt: T0,
    lastUsedAt: T0,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) — “test” 🚀',
    ip: '2001:db8::1',
    clientId: 'tessera-web',
    jkt: null,
    ...overrides,
  };
}

export function describeSessionStore(name: string, make: () => Promise<StoreHarness>): void {
  describe(`SessionStore conformance: ${name}`, () => {
    let harness: StoreHarness;
    let store: SessionStore;
    beforeAll(async () => {
      harness = await make();
      store = harness.store;
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('stores and returns a session field for field; an unknown id is undefined', async () => {
      const s = session({ previousJti: id(), userAgent: 'x'.repeat(512) });
      await store.create(s);
      expect(await store.get(s.id)).toEqual(s);
      const bare = session({ userAgent: null, ip: null });
      await store.create(bare);
      expect(await store.get(bare.id)).toEqual(bare);
      expect(await store.get(id())).toBeUndefined();
    });

    it("keeps a session's client and DPoP thumbprint through create, get, rotate, list and revoke", async () => {
      const user = `user-${id()}`;
      const jkt = randomBytes(32).toString('base64url');
      const bound = session({ userId: user, clientId: 'cli-tool', jkt, createdAt: T0 + 1 });
      const plain = session({ userId: user });
      for (const s of [bound, plain]) await store.create(s);
      expect(await store.get(bound.id)).toEqual(bound);
      expect(await store.get(plain.id)).toMatchObject({ clientId: 'tessera-web', jkt: null });
      const result = await store.rotate(bound.id, bound.currentJti, { jti: id(), rotatedAt: T0 + 5, expiresAt: T0 + DAY, now: T0 + 5 });
      expect(result).toMatchObject({ ok: true, session: { clientId: 'cli-tool', jkt } });
      expect((await store.listByUser(user, T0 + 6)).map((s) => [s.id, s.clientId, s.jkt])).toEqual([
        [bound.id, 'cli-tool', jkt],
        [plain.id, 'tessera-web', null],
      ]);
      await store.revoke(bound.id, 'logout', T0 + 7);
      expect(await store.get(bound.id)).toMatchObject({ clientId: 'cli-tool', jkt, revokedAt: T0 + 7 });
    });

    it('refuses a second session with the same id', async () => {
      const s = session();
      await store.create(s);
      await expect(store.create({ ...s, userId: 'other' })).rejects.toThrow();
      expect((await store.get(s.id))?.userId).toBe(s.userId);
    });

    it('rotates by compare-and-set: the current jti moves to previous', async () => {
      const s = session();
      await store.create(s);
      const next = { jti: id(), rotatedAt: T0 + 1000, expiresAt: T0 + 1000 + 7 * DAY, now: T0 + 1000 };
      const result = await store.rotate(s.id, s.currentJti, next);
      expect(result).toEqual({
        ok: true,
        session: {
          ...s,
          currentJti: next.jti,
          previousJti: s.currentJti,
          rotatedAt: next.rotatedAt,
          expiresAt: next.expiresAt,
          lastUsedAt: next.now,
        },
      });
      expect(await store.get(s.id)).toEqual(result.ok ? result.session : undefined);
    });

    it('never moves a refresh expiry past the absolute one', async () => {
      const s = session({ absoluteExpiresAt: T0 + 2 * DAY });
      await store.create(s);
      const result = await store.rotate(s.id, s.currentJti, { jti: id(), rotatedAt: T0 + DAY, expiresAt: T0 + 8 * DAY, now: T0 + DAY });
      expect(result.ok && result.session.expiresAt).toBe(T0 + 2 * DAY);
    });

    it('refuses a rotation and changes nothing when the jti is not the current one', async () => {
      const s = session({ previousJti: id() });
      await store.create(s);
      for (const wrong of [s.previousJti!, id(), '']) {
        const result = await store.rotate(s.id, wrong, { jti: id(), rotatedAt: T0 + 1, expiresAt: T0 + DAY, now: T0 + 1 });
        expect(result).toEqual({ ok: false, reason: 'jti_mismatch', session: s });
      }
      expect(await store.get(s.id)).toEqual(s);
    });

    it('refuses rotation of unknown, revoked and expired sessions with the reason', async () => {
      expect(await store.rotate(id(), id(), { jti: id(), rotatedAt: T0, expiresAt: T0 + DAY, now: T0 })).toEqual({ ok: false, reason: 'not_found' });
      const revoked = session();
      await store.create(revoked);
      await store.revoke(revoked.id, 'logout', T0 + 5);
      const r1 = await store.rotate(revoked.id, revoked.currentJti, { jti: id(), rotatedAt: T0 + 10, expiresAt: T0 + DAY, now: T0 + 10 });
      expect(r1).toMatchObject({ ok: false, reason: 'revoked', session: { id: revoked.id, revokedAt: T0 + 5, reason: 'logout' } });
      const ended = session({ absoluteExpiresAt: T0 + 100 });
      await store.create(ended);
      expect(await store.rotate(ended.id, ended.currentJti, { jti: id(), rotatedAt: T0 + 100, expiresAt: T0 + DAY, now: T0 + 100 })).toMatchObject({
        ok: false,
        reason: 'expired',
      });
      const stale = session({ expiresAt: T0 + 50 });
      await store.create(stale);
      expect(await store.rotate(stale.id, stale.currentJti, { jti: id(), rotatedAt: T0 + 50, expiresAt: T0 + DAY, now: T0 + 50 })).toMatchObject({
        ok: false,
        reason: 'expired',
      });
      expect(await store.get(stale.id)).toEqual(stale);
    });

    it('lets exactly one of 50 simultaneous rotations of one token win', async () => {
      const s = session();
      await store.create(s);
      const attempts = Array.from({ length: 50 }, (_, i) =>
        store.rotate(s.id, s.currentJti, { jti: `next-${i}-${id()}`, rotatedAt: T0 + 1, expiresAt: T0 + DAY, now: T0 + 1 }),
      );
      const results = await Promise.all(attempts);
      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      for (const loser of results.filter((r) => !r.ok))
        expect(loser).toMatchObject({ reason: 'jti_mismatch', session: { currentJti: winner.ok ? winner.session.currentJti : '' } });
      expect((await store.get(s.id))?.previousJti).toBe(s.currentJti);
    });

    describe('under Tessera (the whole refresh path on this store)', () => {
      let keys: Key;
      let refreshKey: Key;
      beforeAll(async () => {
        keys = await generateKey('HS256');
        refreshKey = await generateRefreshKey();
      });
      // No close(): it would close the harness's store.
      const tessera = () => {
        const events: SessionEvent[] = [];
        const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0), sessions: { store, onEvent: (e) => events.push(e) } });
        return { auth, events };
      };
      const bearer = (token: string) => ({ method: 'GET', headers: ['Authorization', `Bearer ${token}`] });
      const refusal = (promise: Promise<unknown>) =>
        promise.then(
          () => 'accepted',
          (err: unknown) => (err instanceof TesseraError ? err.code : `threw ${String(err)}`),
        );

      it('serves 50 simultaneous refreshes of one token with one rotation, every caller on the same jti', async () => {
        const { auth, events } = tessera();
        const opened = await auth.openSession({ sub: `user-${id()}` });
        const results = await Promise.all(Array.from({ length: 50 }, () => auth.refresh(opened.refresh.token)));
        expect(new Set(results.map((r) => r.refresh.claims.jti)).size).toBe(1);
        expect(events.filter((e) => e.type === 'rotated')).toHaveLength(1);
        expect(events.filter((e) => e.type === 'grace_replay')).toHaveLength(49);
        expect((await store.get(opened.sid))?.currentJti).toBe(results[0]!.refresh.claims.jti);
      });

      it("refuses another client's token and a bound token without its key before rotating, and revokes nothing", async () => {
        const { auth, events } = tessera();
        const jkt = randomBytes(32).toString('base64url');
        const opened = await auth.openSession({ sub: `user-${id()}`, clientId: 'cli-tool', jkt });
        expect(await store.get(opened.sid)).toMatchObject({ clientId: 'cli-tool', jkt });
        expect(await refusal(auth.refresh(opened.refresh.token))).toBe('token_invalid');
        expect(await refusal(auth.refresh(opened.refresh.token, { clientId: 'cli-tool' }))).toBe('invalid_dpop_proof');
        expect(await refusal(auth.refresh(opened.refresh.token, { clientId: 'cli-tool', jkt: randomBytes(32).toString('base64url') }))).toBe(
          'invalid_dpop_proof',
        );
        expect(await store.get(opened.sid)).toMatchObject({ currentJti: opened.refresh.claims.jti, revokedAt: null });
        const next = await auth.refresh(opened.refresh.token, { clientId: 'cli-tool', jkt });
        expect(next.refresh.claims).toMatchObject({ client_id: 'cli-tool', cnf: { jkt } });
        expect(events.filter((e) => e.type === 'rotated' || e.type === 'session_revoked')).toHaveLength(1);
      });

      it('never leaves a usable token when logout and refresh race', async () => {
        const { auth } = tessera();
        for (let round = 0; round < 10; round++) {
          const opened = await auth.openSession({ sub: `user-${id()}` });
          const [refreshed] = await Promise.allSettled([auth.refresh(opened.refresh.token), auth.revokeSession(opened.sid)]);
          const left = refreshed.status === 'fulfilled' ? [refreshed.value.access.token, opened.access.token] : [opened.access.token];
          for (const token of left) expect(await refusal(auth.authenticate(bearer(token)))).toBe('token_revoked');
          if (refreshed.status === 'fulfilled') expect(await refusal(auth.refresh(refreshed.value.refresh.token))).toBe('token_revoked');
        }
      });
    });

    it('revokes once: the first call answers true, later ones false, and the first reason stays', async () => {
      const s = session();
      await store.create(s);
      expect(await store.revoke(s.id, 'logout', T0 + 1)).toBe(true);
      expect(await store.revoke(s.id, 'reuse', T0 + 2)).toBe(false);
      expect(await store.get(s.id)).toMatchObject({ revokedAt: T0 + 1, reason: 'logout' });
      expect(await store.revoke(id(), 'logout', T0)).toBe(false);
    });

    it('never leaves a usable session when revocation and rotation race', async () => {
      for (let round = 0; round < 10; round++) {
        const s = session();
        await store.create(s);
        const [rotation, revoked] = await Promise.all([
          store.rotate(s.id, s.currentJti, { jti: id(), rotatedAt: T0 + 1, expiresAt: T0 + DAY, now: T0 + 1 }),
          store.revoke(s.id, 'logout', T0 + 1),
        ]);
        expect(revoked).toBe(true);
        const after = await store.get(s.id);
        expect(after?.revokedAt).toBe(T0 + 1);
        if (rotation.ok) expect(after?.currentJti).toBe(rotation.session.currentJti);
        else expect(rotation).toMatchObject({ reason: 'revoked' });
      }
    });

    it("revokes every live session of one user, except the one named, and no one else's", async () => {
      const user = `user-${id()}`;
      const [a, b, keep] = [session({ userId: user }), session({ userId: user }), session({ userId: user })];
      const already = session({ userId: user, revokedAt: T0, reason: 'logout' });
      const stranger = session();
      for (const s of [a, b, keep, already, stranger]) await store.create(s);
      expect((await store.revokeUser(user, 'password_change', T0 + 9, keep.id)).sort()).toEqual([a.id, b.id].sort());
      expect(await store.get(a.id)).toMatchObject({ revokedAt: T0 + 9, reason: 'password_change' });
      expect(await store.get(already.id)).toMatchObject({ revokedAt: T0, reason: 'logout' });
      expect((await store.get(keep.id))?.revokedAt).toBeNull();
      expect((await store.get(stranger.id))?.revokedAt).toBeNull();
      expect(await store.revokeUser(user, 'logout_all', T0 + 10, keep.id)).toEqual([]);
      expect(await store.revokeUser(user, 'logout_all', T0 + 11)).toEqual([keep.id]);
    });

    it("lists a user's live sessions, newest first", async () => {
      const user = `user-${id()}`;
      const older = session({ userId: user, createdAt: T0 });
      const newer = session({ userId: user, createdAt: T0 + 5 });
      const revoked = session({ userId: user, createdAt: T0 + 6, revokedAt: T0 + 7, reason: 'logout' });
      const ended = session({ userId: user, createdAt: T0 + 8, absoluteExpiresAt: T0 + 9 });
      const stale = session({ userId: user, createdAt: T0 + 8, expiresAt: T0 + 9 });
      for (const s of [older, newer, revoked, ended, stale]) await store.create(s);
      expect((await store.listByUser(user, T0 + 10)).map((s) => s.id)).toEqual([newer.id, older.id]);
      expect(await store.listByUser(`user-${id()}`, T0)).toEqual([]);
    });

    it('purges ended sessions and keeps recent revoked ones for the retention period', async () => {
      const user = `user-${id()}`;
      const now = T0 + 40 * DAY;
      const live = session({ userId: user, absoluteExpiresAt: now + DAY, expiresAt: now + DAY });
      const ended = session({ userId: user, absoluteExpiresAt: now - 1 });
      const oldRevoked = session({ userId: user, absoluteExpiresAt: now + DAY, expiresAt: now + DAY, revokedAt: now - 8 * DAY, reason: 'logout' });
      const newRevoked = session({ userId: user, absoluteExpiresAt: now + DAY, expiresAt: now + DAY, revokedAt: now - DAY, reason: 'logout' });
      const oldStale = session({ userId: user, absoluteExpiresAt: now + DAY, expiresAt: now - 8 * DAY });
      for (const s of [live, ended, oldRevoked, newRevoked, oldStale]) await store.create(s);
      const deleted = await store.purge(now, now - 7 * DAY);
      expect(deleted).toBeGreaterThanOrEqual(3);
      expect(await store.get(live.id)).toBeDefined();
      expect(await store.get(newRevoked.id)).toBeDefined();
      for (const gone of [ended, oldRevoked, oldStale]) expect(await store.get(gone.id)).toBeUndefined();
      expect(await store.purge(now, now - 7 * DAY)).toBe(0);
    });
  });
}

// Sessions while the revocation bus (Redis) is down: the store is the truth (docs/architecture.md "Scaling out"),
// so a failing bus costs store reads, never a refusal, and only a failing store refuses. On a frozen clock.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { TesseraError } from '../../src/core/errors.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { BusMessage, RevocationBus, SessionStore } from '../../src/core/sessions/store.js';
import { createTessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';

const T0 = Date.UTC(2030, 0, 1);
let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  keys = await generateKey('EdDSA');
  refreshKey = await generateRefreshKey();
});

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

/** A bus shared by the instances, like Redis: a set of revoked ids and a channel, cut and restored at will. */
function flakyBuses() {
  const revoked = new Set<string>();
  const handlers = new Set<(message: BusMessage) => void>();
  const published: string[][] = [];
  let down = false;
  /** Publishing fails while delivery works: the command connection comes back after the subscriber. */
  let publishDown = false;
  const fail = (): Promise<never> => Promise.reject(new Error('Redis is not connected.'));
  const connect = (): RevocationBus => ({
    get connected() {
      return !down;
    },
    async publish(ids) {
      if (down || publishDown) return fail();
      for (const id of ids) revoked.add(id);
      published.push([...ids]);
      for (const handler of handlers) handler({ type: 'revoked', sessionIds: ids });
    },
    async subscribe(handler) {
      handlers.add(handler);
    },
    async isRevoked(id) {
      if (down) return fail();
      return revoked.has(id);
    },
    async close() {
      return undefined;
    },
  });
  return {
    connect,
    published,
    cut() {
      down = true;
    },
    /** Delivery is back: every subscriber gets a reset, as a reconnected Redis subscriber sends. */
    restore(options: { publishing?: boolean } = {}) {
      down = false;
      publishDown = options.publishing === false;
      for (const handler of handlers) handler({ type: 'reset' });
    },
    /** The command connection is back too. */
    publishing() {
      publishDown = false;
    },
  };
}

function instances() {
  const clock = fixedClock(T0);
  const shared = memoryStore();
  const buses = flakyBuses();
  const make = (store: SessionStore = shared) => createTessera({ keys, refreshKey, clock, sessions: { store, bus: buses.connect() } });
  return { clock, shared, buses, make };
}

describe('sessions while the revocation bus is down', () => {
  it('answers guarded requests from the store, and sees a revocation made elsewhere within one second', async () => {
    const { clock, buses, make } = instances();
    const [a, b] = [make(), make()];
    const opened = await a.openSession({ sub: 'u' });
    await a.authenticate(bearer(opened.access.token));
    buses.cut();
    clock.advance(1000);
    expect((await a.authenticate(bearer(opened.access.token))).sub).toBe('u');
    // Revoked on B while the bus is down: the store has it, the bus does not.
    expect(await b.revokeSession(opened.sid)).toBe(true);
    expect(await codeOf(b.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
    clock.advance(1000);
    expect(await codeOf(a.authenticate(bearer(opened.access.token)))).toBe('token_revoked');
  });

  it('revokes (logout, logout-all, reuse) without the bus: the store has it, nothing fails', async () => {
    const { buses, make } = instances();
    const a = make();
    const one = await a.openSession({ sub: 'u' });
    const two = await a.openSession({ sub: 'u' });
    const three = await a.openSession({ sub: 'u' });
    buses.cut();
    expect(await a.revokeSession(one.sid)).toBe(true);
    expect(await a.revokeUserSessions('u', 'logout_all', { except: three.sid })).toEqual([two.sid]);
    const next = await a.refresh(three.refresh.token);
    await a.refresh(next.refresh.token);
    expect(await codeOf(a.refresh(three.refresh.token))).toBe('refresh_token_reused');
    expect(buses.published).toEqual([]);
  });

  it('publishes the revocations it could not send once the bus is back, and every instance drops its "live" answers', async () => {
    const { clock, shared, buses, make } = instances();
    const gets = { count: 0 };
    const counted: SessionStore = Object.create(shared) as SessionStore;
    counted.get = async (id) => {
      gets.count++;
      return shared.get(id);
    };
    const a = make(counted);
    const b = make();
    const kept = await a.openSession({ sub: 'u' });
    const ended = await b.openSession({ sub: 'u' });
    await a.authenticate(bearer(kept.access.token));
    buses.cut();
    await b.revokeSession(ended.sid);
    buses.restore();
    expect(buses.published).toEqual([[ended.sid]]);
    // The reset dropped A's cached "live" answer: the next check reads the store again.
    const before = gets.count;
    await a.authenticate(bearer(kept.access.token));
    expect(gets.count).toBe(before + 1);
    clock.advance(30_000);
    expect(await codeOf(a.authenticate(bearer(ended.access.token)))).toBe('token_revoked');
  });

  it('keeps trying to publish while delivery is back but publishing still fails', async () => {
    const { buses, make } = instances();
    const a = make();
    const opened = await a.openSession({ sub: 'u' });
    buses.cut();
    await a.revokeSession(opened.sid);
    buses.restore({ publishing: false });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(buses.published).toEqual([]);
    buses.publishing();
    await vi.waitFor(() => expect(buses.published).toEqual([[opened.sid]]), { timeout: 2000, interval: 50 });
    await a.close();
  });

  it('refuses with store_unavailable only when the store fails too, never accepts', async () => {
    const { buses, shared } = instances();
    const opened = await createTessera({ keys, refreshKey, clock: fixedClock(T0), sessions: { store: shared } }).openSession({ sub: 'u' });
    const broken: SessionStore = { ...shared, get: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) };
    const a = createTessera({ keys, refreshKey, clock: fixedClock(T0), sessions: { store: broken, bus: buses.connect() } });
    buses.cut();
    expect(await codeOf(a.authenticate(bearer(opened.access.token)))).toBe('store_unavailable');
  });
});

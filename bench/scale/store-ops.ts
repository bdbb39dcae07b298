// The store measurements of bench/scale, in this process, through the library's public store API (the build output,
// as users get it) on a built database: each operation's latency, one call at a time, the operations interleaved;
// then the purge's wall time and the worst event-loop stall it caused, with and without ended sessions to delete.
import type { SessionStore } from '@tessera/auth';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { percentile } from '../support/load.js';
import { RETENTION_MS, idOf, kindOf, sampleIndices, userId, type Population } from './population.js';

export const OPERATIONS = ['create', 'get', 'rotate', 'revoke', 'revokeUser', 'listByUser'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface Latency {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface PurgeFigures {
  readonly deleted: number;
  readonly ms: number;
  /** The longest event-loop delay seen while the purge ran (monitorEventLoopDelay, 1 ms resolution). */
  readonly stallMs: number;
}

const DAY = 86_400_000;
const WARMUP = 50;

/** What each operation works on, chosen so that no operation disturbs another's (users split by u mod 4). */
interface Work {
  readonly call: (k: number) => Promise<void>;
  readonly available: number;
}

/** Latency of each store operation: `samples` timed calls each (fewer where the population is too small), after a warm-up. */
export async function measureStoreOps(store: SessionStore, p: Population, samples: number): Promise<Record<Operation, Latency>> {
  const want = samples + WARMUP;
  const ownUser = (i: number): number => i % p.users;
  const liveOfSessionUsers = (i: number): boolean => kindOf(i) === 'live' && ownUser(i) % 4 >= 2;
  const rotating = sampleIndices(p, want, liveOfSessionUsers, 1);
  const taken = new Set(rotating);
  const revoking = sampleIndices(p, want, (i) => liveOfSessionUsers(i) && !taken.has(i), 2);
  for (const i of revoking) taken.add(i);
  const getting = sampleIndices(p, want, (i) => liveOfSessionUsers(i) && !taken.has(i), 3);
  // Users u ≡ 0 (mod 4) lose their sessions to revokeUser; u ≡ 1 are listed; u ≡ 2, 3 own the sessions above.
  const revokedUsers = everyFourth(p, 0, want);
  const listedUsers = everyFourth(p, 1, want);
  const now = (): number => Date.now();

  const work: Record<Operation, Work> = {
    create: {
      available: want,
      call: async (k) => {
        const t = now();
        await store.create({
          id: randomBytes(16).toString('base64url'),
          userId: userId((k * 4 + 2) % p.users),
          currentJti: randomBytes(16).toString('base64url'),
          previousJti: null,
          rotatedAt: t,
          expiresAt: t + 7 * DAY,
          absoluteExpiresAt: t + 30 * DAY,
          revokedAt: null,
          reason: null,
          createdAt: t,
          lastUsedAt: t,
          userAgent: 'bench/scale',
          ip: '203.0.113.9',
          clientId: 'tessera-web',
          jkt: null,
        });
      },
    },
    get: {
      available: getting.length,
      call: async (k) => expect((await store.get(idOf(`s${getting[k]!}`))) !== undefined, 'get found no session'),
    },
    rotate: {
      available: rotating.length,
      call: async (k) => {
        const i = rotating[k]!;
        const t = now();
        const result = await store.rotate(idOf(`s${i}`), idOf(`j${i}`), {
          jti: randomBytes(16).toString('base64url'),
          rotatedAt: t,
          expiresAt: t + 7 * DAY,
          now: t,
        });
        expect(result.ok, `rotate refused: ${result.ok ? '' : result.reason}`);
      },
    },
    revoke: {
      available: revoking.length,
      call: async (k) => expect(await store.revoke(idOf(`s${revoking[k]!}`), 'logout', now()), 'revoke revoked nothing'),
    },
    revokeUser: {
      available: revokedUsers.length,
      call: async (k) => expect((await store.revokeUser(userId(revokedUsers[k]!), 'logout_all', now())).length > 0, 'revokeUser revoked nothing'),
    },
    listByUser: {
      available: listedUsers.length,
      call: async (k) => expect((await store.listByUser(userId(listedUsers[k]!), now())).length > 0, 'listByUser listed nothing'),
    },
  };

  // Warm-up (statement caches, the JIT, pages into the cache), then timed rounds with one call of each operation.
  for (let k = 0; k < WARMUP; k++) for (const op of OPERATIONS) if (k < work[op].available) await work[op].call(k);
  const times: Record<Operation, number[]> = { create: [], get: [], rotate: [], revoke: [], revokeUser: [], listByUser: [] };
  for (let k = WARMUP; k < want; k++) {
    for (const op of OPERATIONS) {
      if (k >= work[op].available) continue;
      const started = performance.now();
      await work[op].call(k);
      times[op].push(performance.now() - started);
    }
  }
  const figures = {} as Record<Operation, Latency>;
  for (const op of OPERATIONS) {
    const sorted = times[op].sort((a, b) => a - b);
    figures[op] = { samples: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  }
  return figures;
}

/** One `store.purge` with the library's default retention, timed, under an event-loop delay monitor. */
export async function timedPurge(store: SessionStore): Promise<PurgeFigures> {
  const monitor = monitorEventLoopDelay({ resolution: 1 });
  monitor.enable();
  // The monitor's first timer tick only starts its clock: a stall before it would go unseen.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  const now = Date.now();
  const deleted = await store.purge(now, now - RETENTION_MS);
  const ms = performance.now() - started;
  // A turn of the loop after the purge, so the monitor records the delay the purge's last part caused.
  await new Promise((resolve) => setTimeout(resolve, 5));
  monitor.disable();
  return { deleted, ms, stallMs: monitor.max / 1e6 };
}

/** Up to `count` filler users u ≡ rest (mod 4), spread over the users. */
function everyFourth(p: Population, rest: number, count: number): number[] {
  const all = Math.floor((p.users - rest + 3) / 4);
  const step = Math.max(1, Math.floor(all / count));
  const picked: number[] = [];
  for (let k = 0; k < all && picked.length < count; k += step) picked.push(k * 4 + rest);
  // The smallest populations have fewer users than samples: each user is used once.
  return picked.filter((u) => u < p.users);
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(`bench/scale: ${message}.`);
}

import {
  REVOCATION_EVENTS_MIN_KEEP_MS,
  rotationRefusal,
  type BusMessage,
  type RevocationBus,
  type RevocationEvent,
  type RevokeReason,
  type RotateResult,
  type SessionRecord,
  type SessionStore,
} from '../core/sessions/store.js';

export { memoryThrottle, type MemoryThrottleOptions, type Throttle, type ThrottleResult, type ThrottleRule } from './throttle.js';

/**
 * Sessions in this process's memory: for tests and single-process apps that accept losing
 * sessions on restart. Each verb runs without an `await` inside, so it is atomic in Node.
 * @example const auth = createTessera({ keys, refreshKey, sessions: { store: memoryStore() } });
 */
export function memoryStore(): SessionStore {
  const sessions = new Map<string, SessionRecord>();
  // The revocation feed: appended in the same synchronous step as the revocation it records.
  const events: RevocationEvent[] = [];
  let lastEventId = 0;
  const record = (ref: string, at: number): void => void events.push({ id: ++lastEventId, kind: 'session', ref, at });
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('The memory session store is closed.');
  };

  return {
    async create(session) {
      open();
      if (sessions.has(session.id)) throw new Error(`Session ${session.id} already exists.`);
      sessions.set(session.id, { ...session });
    },
    async get(id) {
      open();
      const session = sessions.get(id);
      return session === undefined ? undefined : { ...session };
    },
    async rotate(id, expectedJti, next): Promise<RotateResult> {
      open();
      const session = sessions.get(id);
      if (session === undefined) return { ok: false, reason: 'not_found' };
      const refusal = rotationRefusal(session, expectedJti, next.now);
      if (refusal !== undefined) return { ok: false, reason: refusal, session: { ...session } };
      const rotated: SessionRecord = {
        ...session,
        previousJti: session.currentJti,
        currentJti: next.jti,
        rotatedAt: next.rotatedAt,
        expiresAt: Math.min(next.expiresAt, session.absoluteExpiresAt),
        lastUsedAt: next.now,
      };
      sessions.set(id, rotated);
      return { ok: true, session: { ...rotated } };
    },
    async revoke(id, reason, at) {
      open();
      const session = sessions.get(id);
      if (session === undefined || session.revokedAt !== null) return false;
      sessions.set(id, { ...session, revokedAt: at, reason });
      record(id, at);
      return true;
    },
    async revokeUser(userId, reason: RevokeReason, at, except) {
      open();
      const ids: string[] = [];
      for (const session of sessions.values()) {
        if (session.userId !== userId || session.revokedAt !== null || session.id === except) continue;
        sessions.set(session.id, { ...session, revokedAt: at, reason });
        record(session.id, at);
        ids.push(session.id);
      }
      return ids;
    },
    async listByUser(userId, now) {
      open();
      return [...sessions.values()]
        .filter((s) => s.userId === userId && s.revokedAt === null && s.absoluteExpiresAt > now && s.expiresAt > now)
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
        .map((s) => ({ ...s }));
    },
    // One pass in memory, too short to need batches; an already aborted signal stops it before it starts.
    async purge(now, before, options) {
      open();
      let deleted = 0;
      if (options?.signal?.aborted === true) return deleted;
      for (const session of [...sessions.values()]) {
        const ended = session.absoluteExpiresAt <= now || (session.revokedAt ?? Number.POSITIVE_INFINITY) < before || session.expiresAt < before;
        if (ended && sessions.delete(session.id)) deleted++;
      }
      const keepFrom = Math.min(before, now - REVOCATION_EVENTS_MIN_KEEP_MS);
      const kept = events.filter((event) => event.at >= keepFrom);
      events.splice(0, events.length, ...kept);
      return deleted;
    },
    async revocationEvents(afterId, limit) {
      open();
      return events.filter((event) => event.id > afterId).slice(0, limit);
    },
    async revocationSnapshot(since) {
      open();
      return { events: events.filter((event) => event.at >= since), lastId: lastEventId };
    },
    async close() {
      closed = true;
    },
  };
}

/**
 * A revocation bus between the `Tessera` instances of one process (tests, or several apps
 * sharing one process). Across processes use the Redis bus.
 */
export function memoryBus(): { connect(): RevocationBus } {
  const handlers = new Set<(message: BusMessage) => void>();
  return {
    connect() {
      let own: ((message: BusMessage) => void) | undefined;
      let closed = false;
      return {
        get connected() {
          return !closed;
        },
        async publish(sessionIds) {
          const message: BusMessage = { type: 'revoked', sessionIds: [...sessionIds] };
          for (const handler of handlers) handler(message);
        },
        async subscribe(handler) {
          own = handler;
          handlers.add(handler);
        },
        async close() {
          closed = true;
          if (own !== undefined) handlers.delete(own);
        },
      };
    },
  };
}

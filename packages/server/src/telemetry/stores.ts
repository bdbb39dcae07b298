// The stores as the server uses them, measured: every session-store verb and every user-store read
// is a span (a child of the login, refresh or guard that called it) and an observation of
// `tessera_store_duration_seconds`; every throttle refusal is counted. The stores themselves stay
// unaware: these wrap them, in the server, so the library takes no dependency.
import type { PurgeOptions, RevokeReason, RotateResult, RotationInput, SessionRecord, SessionStore } from '@tessera/auth';
import type { Throttle, ThrottleResult, ThrottleRule } from '@tessera/auth/stores/memory';
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import { UserStore, type User } from '../users/user-store.js';
import { active, failed, SID_HASH, sidHash, startSpan } from './tracing.js';

type StoreName = 'session' | 'user';

/** Times one store call and, when traces are recorded, runs it in a span named `tessera.<store>_store.<operation>`. */
async function measured<T>(metrics: Metrics, store: StoreName, operation: string, sid: string | undefined, call: () => Promise<T>): Promise<T> {
  const span = startSpan(`tessera.${store}_store.${operation}`, { 'tessera.store': store, 'tessera.store.operation': operation });
  if (span !== undefined && sid !== undefined) span.setAttribute(SID_HASH, sidHash(sid));
  const started = performance.now();
  let outcome = 'error';
  try {
    // The call's own spans (a driver's instrumentation) nest under this one.
    const result = await (span === undefined ? call() : active(span, call));
    outcome = 'ok';
    return result;
  } catch (err) {
    if (span !== undefined) failed(span, err);
    throw err;
  } finally {
    metrics.storeLatency.observe({ store, operation, outcome }, (performance.now() - started) / 1000);
    span?.end();
  }
}

/**
 * The session store handed to the library: the same verbs, measured. `close` is not a call worth a span.
 * @example sessions: { store: measuredSessionStore(database.store, metrics) }
 */
export function measuredSessionStore(store: SessionStore, metrics: Metrics): SessionStore {
  return {
    create: (session: SessionRecord) => measured(metrics, 'session', 'create', session.id, () => store.create(session)),
    get: (id: string) => measured(metrics, 'session', 'get', id, () => store.get(id)),
    rotate: (id: string, expectedJti: string, next: RotationInput): Promise<RotateResult> =>
      measured(metrics, 'session', 'rotate', id, () => store.rotate(id, expectedJti, next)),
    revoke: (id: string, reason: RevokeReason, at: number) => measured(metrics, 'session', 'revoke', id, () => store.revoke(id, reason, at)),
    revokeUser: (userId: string, reason: RevokeReason, at: number, except?: string) =>
      measured(metrics, 'session', 'revoke_user', undefined, () => store.revokeUser(userId, reason, at, except)),
    listByUser: (userId: string, now: number) => measured(metrics, 'session', 'list_by_user', undefined, () => store.listByUser(userId, now)),
    purge: (now: number, before: number, options?: PurgeOptions) =>
      measured(metrics, 'session', 'purge', undefined, () => store.purge(now, before, options)),
    close: () => store.close(),
  };
}

/**
 * The user store whose reads are measured: the login's lookup by name, the guard's by id (only when its
 * one-second copy is stale: `recentById` calls `byId`), the credential version and the look-alike check.
 * Writes are rare (registration, password, operator commands) and stay unmeasured.
 * @example users: new MeasuredUserStore(database.db, metrics)
 */
export class MeasuredUserStore extends UserStore {
  readonly #metrics: Metrics;

  constructor(db: Kysely<ServerDatabase>, metrics: Metrics) {
    super(db);
    this.#metrics = metrics;
  }

  override byUsername(input: unknown): Promise<User | undefined> {
    return measured(this.#metrics, 'user', 'by_username', undefined, () => super.byUsername(input));
  }

  override byId(id: string): Promise<User | undefined> {
    return measured(this.#metrics, 'user', 'by_id', undefined, () => super.byId(id));
  }

  override credentialVersion(id: string): Promise<number | undefined> {
    return measured(this.#metrics, 'user', 'credential_version', undefined, () => super.credentialVersion(id));
  }

  override skeletonTaken(skeleton: string): Promise<boolean> {
    return measured(this.#metrics, 'user', 'skeleton_taken', undefined, () => super.skeletonTaken(skeleton));
  }
}

/**
 * The throttle, with every refused hit counted in `tessera_throttle_refusals_total`.
 * @example throttle: countedThrottle(throttle, metrics)
 */
export function countedThrottle(throttle: Throttle, metrics: Metrics): Throttle {
  return {
    async hit(key: string, rule: ThrottleRule): Promise<ThrottleResult> {
      const result = await throttle.hit(key, rule);
      if (!result.allowed) metrics.throttleRefused(key);
      return result;
    },
    refund: (key: string) => throttle.refund(key),
    reset: (key: string) => throttle.reset(key),
    close: () => throttle.close(),
  };
}

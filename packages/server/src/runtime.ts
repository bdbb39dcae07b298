// Everything a server instance holds: database, keys, Tessera, throttle, hasher, metrics, logger.
// Built once from the configuration; the Fastify app and the CLI both use it.
import { createTessera, systemClock, type Clock, type RevocationBus, type Tessera } from '@tessera/auth';
import { memoryThrottle, type Throttle } from '@tessera/auth/stores/memory';
import { redisBus, redisThrottle } from '@tessera/auth/stores/redis';
import pino, { type Logger } from 'pino';
import { purgeEnded } from './db/purge.js';
import { openDatabase, type Database } from './db/connect.js';
import { KeyStore, keyStoreOptions, type LoadedKeys } from './keys/key-store.js';
import { Metrics } from './metrics.js';
import { SqlDpopReplayStore } from './oauth/dpop-replay-store.js';
import { FirstPartyCheck } from './oauth/first-party.js';
import { createOAuthRuntime, dpopNonceSecret, type OAuthRuntime } from './oauth/oauth-runtime.js';
import { RedisHealth, redisWhere } from './redis-health.js';
import type { ServerConfig } from './settings.js';
import { PasswordHasher } from './users/hasher.js';
import { countedThrottle, measuredSessionStore, MeasuredUserStore } from './telemetry/stores.js';
import { traceEvent } from './telemetry/tracing.js';
import type { UserStore } from './users/user-store.js';

export interface Runtime {
  readonly config: ServerConfig;
  readonly auth: Tessera;
  readonly database: Database;
  readonly users: UserStore;
  readonly keys: KeyStore;
  readonly hasher: PasswordHasher;
  readonly throttle: Throttle;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly clock: Clock;
  /** OAuth clients, issuer and endpoints; undefined while TESSERA_ISSUER does not turn OAuth on (oauth/issuer.ts). */
  readonly oauth: OAuthRuntime | undefined;
  /** Whether a token's client may manage the account (password, devices, logout-all): first-party clients only. */
  readonly firstParty: FirstPartyCheck;
  /** Reloads the keys if any changed in the database (rotation or revocation by another process). */
  reloadKeys(): Promise<boolean>;
  /**
   * Whether the database (and Redis, when configured) answer. Ready follows the database alone: without
   * Redis the instance still serves correctly, degraded (`degraded: ['redis']`), docs/architecture.md "Scaling out".
   */
  readiness(): Promise<{ ready: boolean; checks: Record<string, boolean>; degraded?: string[] }>;
  /** True once the instance started draining (SIGTERM, SIGINT): /readyz answers 503 so load balancers stop sending. */
  readonly draining: boolean;
  /** Marks the instance as draining; it never becomes ready again. */
  startDraining(): void;
  /** Runs `listener` once draining starts: the revocation feed closes its streams, so a drain never waits on them. */
  onDrain(listener: () => void): void;
  /** The Redis revocation bus when configured: it may wake the revocation feed early (SQL stays the truth). */
  readonly bus: RevocationBus | undefined;
  /** Stops the timers and closes the stores (sessions, revocation bus, throttle), logging each step. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** A logger to use (tests pass a silent one). */
  log?: Logger;
  clock?: Clock;
  /** How often to look for key changes made by other instances or the CLI, in ms (default 2000; 0: never). */
  keyReloadMs?: number;
  /**
   * Opened by a CLI command, which signs no token: TESSERA_ALG is not checked against the signing key
   * (`keys rotate --alg` is the way out), nothing is recorded on the keys and no key is promoted.
   */
  cli?: boolean;
}

/** Opens everything the configuration names; throws one clear error when something cannot be reached. */
export async function createRuntime(config: ServerConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const log =
    options.log ??
    pino({
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], censor: '[redacted]' },
    });
  const database = await openDatabase(config.databaseUrl);
  const timers: NodeJS.Timeout[] = [];
  let draining = false;
  const drainListeners: (() => void)[] = [];
  try {
    const keys = new KeyStore(database.db, keyStoreOptions(config));
    await keys.ensure(clock.now());
    const signs = options.cli !== true;
    // Publish, then switch (docs/architecture.md "Keys"): a scheduled key whose time has come is
    // promoted by exactly one instance; every signer records its token lifetime on the key it signs with.
    const loadKeys = async (): Promise<LoadedKeys> => {
      const read = await keys.load(clock.now());
      if (!signs || read.due === undefined) return read;
      await keys.promote(read.due, clock.now(), { onlyIfDue: true, signs: true });
      return keys.load(clock.now());
    };
    let loaded = await loadKeys();
    if (signs) {
      keys.assertAlgorithm(loaded);
      await keys.recordSigning(loaded.access.signing.kid);
      const unsealed = await keys.unsealedCount();
      if (unsealed > 0)
        log.warn(
          { keys: unsealed },
          config.keysSecret === undefined
            ? 'private keys are stored unencrypted: set TESSERA_KEYS_SECRET, then run `tessera keys encrypt`'
            : 'some private keys are stored unencrypted though TESSERA_KEYS_SECRET is set: run `tessera keys encrypt`',
        );
    }
    const rings = KeyStore.rings(loaded);
    const metrics = new Metrics();
    const redisOptions = config.redisUrl === undefined ? undefined : { url: config.redisUrl, prefix: config.redisPrefix };
    // Redis beside SQL, never instead (docs/architecture.md "Scaling out"): while it cannot be reached, session
    // checks read SQL, throttling counts in this process's memory at the same limits, and `health` says so.
    const health: RedisHealth | undefined =
      redisOptions === undefined
        ? undefined
        : new RedisHealth(
            redisBus({ ...redisOptions, revokedTtl: `${config.accessTtl + config.leeway}s`, onError: (err: Error) => health?.report(err) }),
            { log, metrics, where: redisWhere(redisOptions.url) },
          );
    const bus = health?.bus();
    const memory = memoryThrottle({ clock, onOverflow: () => metrics.throttleOverflow.inc() });
    const throttle =
      redisOptions === undefined
        ? memory
        : redisThrottle({ ...redisOptions, fallback: memory, onFallback: () => health?.fallback('throttle'), onError: () => health?.check() });
    if (loaded.refresh.signing.signingKey === undefined) throw new Error('The current refresh-token key has no secret: run `tessera keys list`.');
    const auth = createTessera({
      keys: rings.access,
      refreshKey: rings.refresh,
      issuer: config.issuer,
      audience: config.audience,
      accessTtl: config.accessTtl,
      refreshTtl: config.refreshTtl,
      sessionMaxAge: config.sessionMaxAge,
      leeway: config.leeway,
      reuseGrace: config.reuseGrace,
      cookies: { secure: config.cookieSecure },
      publicOrigins: config.publicOrigins,
      // DPoP (RFC 9449): the nonce secret derived from the refresh key the ring holds now (it follows key reloads),
      // so every instance agrees; proofs recorded in the shared database as well as in each process's memory, so a
      // replay to another instance is refused.
      dpop: { mode: config.dpop, nonceSecret: dpopNonceSecret(rings.refresh), replayStore: new SqlDpopReplayStore(database.db) },
      clock,
      sessions: {
        // Measured: a span and a latency observation per store call (telemetry/stores.ts).
        store: measuredSessionStore(database.store, metrics),
        ...(bus === undefined ? {} : { bus }),
        maxPerUser: config.maxSessions,
        onEvent: (event) => {
          metrics.record(event);
          traceEvent(event);
          if (event.type === 'reuse_detected') log.warn({ sid: event.sid, sub: event.sub }, 'refresh token reuse detected: session revoked');
          else log.info({ event: event.type, sid: event.sid, sub: event.sub, reason: event.reason }, 'session event');
        },
      },
    });

    // Subscribe now, not at the first session call: /readyz reports the bus as connected only once
    // it is subscribed, and a new instance must be ready before any request reaches it.
    if (bus !== undefined) await bus.subscribe(() => undefined);
    health?.watch();

    const reloadKeys = async (): Promise<boolean> => {
      const next = await loadKeys();
      if (next.fingerprint === loaded.fingerprint) return false;
      if (signs && next.access.signing.kid !== loaded.access.signing.kid) await keys.recordSigning(next.access.signing.kid);
      KeyStore.apply(rings, next);
      loaded = next;
      log.info({ kid: rings.access.signingKey.kid }, 'keys reloaded');
      return true;
    };
    const reloadMs = options.keyReloadMs ?? 2000;
    if (reloadMs > 0)
      timers.push(
        setInterval(() => void reloadKeys().catch((err: unknown) => log.warn({ err: String(err) }, 'key reload failed')), reloadMs).unref(),
      );
    // The purge never overlaps itself (a tick while one runs is skipped) and stops between two batches when the
    // server drains or closes; close waits for it, so no batch meets a closed store.
    const stopPurge = new AbortController();
    let purging: Promise<void> | undefined;
    const purge = async (): Promise<void> => {
      try {
        const report = await purgeEnded({ auth, db: database.db, now: () => clock.now() }, stopPurge.signal);
        const { deleted, batches, ms, worstBatchMs, oauthRows, stopped } = report;
        log[deleted > 0 ? 'info' : 'debug']({ deleted, batches, ms, worstBatchMs, ...(stopped ? { stopped } : {}) }, 'ended sessions purged');
        if (oauthRows > 0) log.info({ deleted: oauthRows }, 'expired DPoP proofs and authorization codes purged');
        metrics.purges.inc({ result: stopped ? 'stopped' : 'done' });
        metrics.purgedSessions.inc(deleted);
        if (!stopped) {
          metrics.lastPurgeDuration.set(ms / 1000);
          metrics.lastPurgeWorstBatch.set(worstBatchMs / 1000);
        }
      } catch (err) {
        metrics.purges.inc({ result: 'failed' });
        log.warn({ err: String(err) }, 'purge failed');
      }
    };
    if (config.purgeInterval > 0) {
      timers.push(
        setInterval(() => {
          if (purging !== undefined || stopPurge.signal.aborted) return;
          purging = purge().finally(() => {
            purging = undefined;
          });
        }, config.purgeInterval * 1000).unref(),
      );
    }
    drainListeners.push(() => stopPurge.abort());

    const hasher = new PasswordHasher({ concurrency: config.hashConcurrency });
    return {
      config,
      auth,
      database,
      users: new MeasuredUserStore(database.db, metrics),
      keys,
      hasher,
      throttle: countedThrottle(throttle, metrics),
      metrics,
      log,
      clock,
      oauth: createOAuthRuntime(config.issuer, database.db),
      firstParty: new FirstPartyCheck(database.db),
      reloadKeys,
      async readiness() {
        const checks: Record<string, boolean> = {};
        checks.database = await database.store.ping().then(
          () => true,
          () => false,
        );
        if (health === undefined) return { ready: checks.database, checks };
        checks.redis = health.check();
        return { ready: checks.database, checks, ...(checks.redis ? {} : { degraded: ['redis'] }) };
      },
      get draining() {
        return draining;
      },
      startDraining() {
        if (draining) return;
        draining = true;
        for (const listener of drainListeners) listener();
      },
      onDrain(listener) {
        drainListeners.push(listener);
      },
      bus,
      async close() {
        for (const timer of timers) clearInterval(timer);
        stopPurge.abort();
        await purging;
        const step = (what: string, closing: Promise<void>): Promise<void> =>
          closing.then(
            () => log.info(`${what} closed`),
            (err: unknown) => log.warn({ err: String(err) }, `${what} did not close cleanly`),
          );
        await Promise.all([
          step(bus === undefined ? 'database' : 'database and Redis revocation bus', auth.close()),
          step(redisOptions === undefined ? 'throttle' : 'Redis throttle', throttle.close()),
          hasher.close(),
        ]);
      },
    };
  } catch (err) {
    for (const timer of timers) clearInterval(timer);
    await database.close();
    throw err;
  }
}

// Everything a server instance holds: database, keys, Tessera, throttle, hasher, metrics, logger.
// Built once from the configuration; the Fastify app and the CLI both use it.
import { createTessera, systemClock, type Clock, type Tessera } from '@tessera/auth';
import { memoryThrottle, type Throttle } from '@tessera/auth/stores/memory';
import { redisBus, redisThrottle } from '@tessera/auth/stores/redis';
import pino, { type Logger } from 'pino';
import { openDatabase, type Database } from './db/connect.js';
import { KeyStore } from './keys/key-store.js';
import { sealingKey } from './keys/sealing.js';
import { Metrics } from './metrics.js';
import type { ServerConfig } from './settings.js';
import { PasswordHasher } from './users/hasher.js';
import { UserStore } from './users/user-store.js';

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
  /** Reloads the keys if any changed in the database (rotation or revocation by another process). */
  reloadKeys(): Promise<boolean>;
  /** Whether the database (and Redis, when configured) answer. */
  readiness(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** A logger to use (tests pass a silent one). */
  log?: Logger;
  clock?: Clock;
  /** How often to look for key changes made by other instances or the CLI, in ms (default 2000; 0: never). */
  keyReloadMs?: number;
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
  try {
    const keys = new KeyStore(database.db, {
      alg: config.alg,
      secret: config.secret,
      sealing: sealingKey(config.keysSecret),
      retireFor: config.accessTtl + config.leeway,
    });
    await keys.ensure(clock.now());
    let loaded = await keys.load(clock.now());
    const rings = KeyStore.rings(loaded);
    const metrics = new Metrics();
    const redisOptions = config.redisUrl === undefined ? undefined : { url: config.redisUrl, prefix: config.redisPrefix };
    const bus =
      redisOptions === undefined
        ? undefined
        : redisBus({
            ...redisOptions,
            revokedTtl: `${config.accessTtl + config.leeway}s`,
            onError: (err: Error) => log.warn({ err: err.message }, 'redis bus error'),
          });
    const throttle =
      redisOptions === undefined ? memoryThrottle({ clock, onOverflow: () => metrics.throttleOverflow.inc() }) : redisThrottle(redisOptions);
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
      clock,
      sessions: {
        store: database.store,
        ...(bus === undefined ? {} : { bus }),
        maxPerUser: config.maxSessions,
        onEvent: (event) => {
          metrics.record(event);
          if (event.type === 'reuse_detected') log.warn({ sid: event.sid, sub: event.sub }, 'refresh token reuse detected: session revoked');
          else log.info({ event: event.type, sid: event.sid, sub: event.sub, reason: event.reason }, 'session event');
        },
      },
    });

    // Subscribe now, not at the first session call: /readyz reports the bus as connected only once
    // it is subscribed, and a new instance must be ready before any request reaches it.
    if (bus !== undefined) await bus.subscribe(() => undefined);

    const reloadKeys = async (): Promise<boolean> => {
      const next = await keys.load(clock.now());
      if (next.fingerprint === loaded.fingerprint) return false;
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
    if (config.purgeInterval > 0) {
      timers.push(
        setInterval(
          () =>
            void auth.purgeSessions().then(
              (n) => n > 0 && log.info({ deleted: n }, 'ended sessions purged'),
              (err: unknown) => log.warn({ err: String(err) }, 'purge failed'),
            ),
          config.purgeInterval * 1000,
        ).unref(),
      );
    }

    return {
      config,
      auth,
      database,
      users: new UserStore(database.db),
      keys,
      hasher: new PasswordHasher({ concurrency: config.hashConcurrency }),
      throttle,
      metrics,
      log,
      clock,
      reloadKeys,
      async readiness() {
        const checks: Record<string, boolean> = {};
        checks.database = await database.store.ping().then(
          () => true,
          () => false,
        );
        if (bus !== undefined) checks.redis = bus.connected;
        return { ready: Object.values(checks).every(Boolean), checks };
      },
      async close() {
        for (const timer of timers) clearInterval(timer);
        await Promise.allSettled([auth.close(), throttle.close()]);
      },
    };
  } catch (err) {
    for (const timer of timers) clearInterval(timer);
    await database.close();
    throw err;
  }
}

// The RevocationBus contract, run against the in-process bus and the Redis bus on the shared
// Redis (each run under its own prefix), then Redis outages simulated through a TCP proxy.
// Long on purpose: one contract run on two buses, then the outage cases that only Redis has.
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysUnder, redisPrefixes, REDIS_PORT, REDIS_URL, sleep, startTcpProxy, waitFor as poll, type TcpProxy } from '@tessera/test-kit';
import { ConfigError, StoreUnavailableError, TesseraError } from '../../src/core/errors.js';
import { generateKey, generateRefreshKey } from '../../src/core/keys/key.js';
import { createTessera } from '../../src/core/tessera.js';
import type { BusMessage, RevocationBus } from '../../src/core/sessions/store.js';
import { memoryBus, memoryStore } from '../../src/stores/memory.js';
import { redisBus, type RedisBusOptions } from '../../src/stores/redis/index.js';

const prefixes = redisPrefixes('tessera:test');
/** A prefix of its own for each deployment a test simulates, all under this run's. */
const newPrefix = prefixes.next;
const sid = (): string => randomBytes(16).toString('base64url');
const waitFor = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000) => poll(what, check, timeoutMs, 20);

/** Subscribes to a bus and keeps what arrives. */
async function listen(bus: RevocationBus): Promise<{ messages: BusMessage[]; revoked: () => string[][]; resets: () => number }> {
  const messages: BusMessage[] = [];
  await bus.subscribe((message) => messages.push(message));
  return {
    messages,
    revoked: () => messages.flatMap((m) => (m.type === 'revoked' ? [[...m.sessionIds]] : [])),
    resets: () => messages.filter((m) => m.type === 'reset').length,
  };
}

const admin = createClient({ url: REDIS_URL });
admin.on('error', () => undefined);

beforeAll(async () => {
  await admin.connect();
});

afterAll(async () => {
  await deleteKeysUnder(admin, prefixes.run);
  await admin.close();
});

/** One deployment: the instances of one app sharing one bus (one prefix on Redis). */
interface Deployment {
  connect(): RevocationBus;
  close(): Promise<void>;
}

/**
 * The RevocationBus contract. `remembers`: whether the bus keeps a memory of revoked sessions
 * (`isRevoked`).
 */
function describeRevocationBus(name: string, deploy: () => Deployment, remembers: boolean): void {
  describe(`RevocationBus conformance: ${name}`, () => {
    const deployments: Deployment[] = [];
    const open = (): Deployment => {
      const deployment = deploy();
      deployments.push(deployment);
      return deployment;
    };
    afterEach(async () => {
      await Promise.all(deployments.splice(0).map((d) => d.close()));
    });

    it('delivers a publish to every instance, the publishing one included, and says it is connected', async () => {
      const app = open();
      const [a, b] = [app.connect(), app.connect()];
      const [atA, atB] = [await listen(a), await listen(b)];
      expect([a.connected, b.connected]).toEqual([true, true]);
      const id = sid();
      await a.publish([id]);
      await waitFor('both instances to hear', () => atA.revoked().length > 0 && atB.revoked().length > 0);
      expect(atA.revoked()).toEqual([[id]]);
      expect(atB.revoked()).toEqual([[id]]);
    });

    it('carries several ids in one message, in order', async () => {
      const app = open();
      const [a, b] = [app.connect(), app.connect()];
      const atB = await listen(b);
      const ids = [sid(), sid(), sid()];
      await a.publish(ids);
      await waitFor('the message', () => atB.revoked().length > 0);
      await sleep(50); // a bus that sent one message per id would have sent the others by now
      expect(atB.revoked()).toEqual([ids]);
    });

    it(remembers ? 'remembers revoked sessions for isRevoked' : 'has no memory of revoked sessions (isRevoked absent)', async () => {
      const app = open();
      const [a, b] = [app.connect(), app.connect()];
      expect(typeof b.isRevoked).toBe(remembers ? 'function' : 'undefined');
      if (b.isRevoked === undefined) return;
      const [id, other] = [sid(), sid()];
      expect(await b.isRevoked(id)).toBe(false);
      await a.publish([id]);
      expect(await b.isRevoked(id)).toBe(true);
      expect(await a.isRevoked?.(id)).toBe(true);
      expect(await b.isRevoked(other)).toBe(false);
    });

    it('keeps two deployments (two prefixes, two test runs) apart', async () => {
      const [one, two] = [open(), open()];
      const [a, b] = [one.connect(), two.connect()];
      const [atA, atB] = [await listen(a), await listen(b)];
      const [x, y, z] = [sid(), sid(), sid()];
      await a.publish([x]);
      await b.publish([y]);
      await a.publish([z]);
      // Each bus delivers its own messages in order: once the later one is in, the other run's would be too.
      await waitFor('both deployments to hear their own', () => atA.revoked().length === 2 && atB.revoked().length === 1);
      await sleep(50);
      expect(atA.revoked()).toEqual([[x], [z]]);
      expect(atB.revoked()).toEqual([[y]]);
      if (remembers) expect(await b.isRevoked?.(x)).toBe(false);
    });

    it('stops delivering to an instance once it is closed, and it no longer says it is connected', async () => {
      const app = open();
      const [a, b] = [app.connect(), app.connect()];
      const [atA, atB] = [await listen(a), await listen(b)];
      await b.close();
      await a.publish([sid()]);
      await waitFor('the open instance to hear', () => atA.revoked().length === 1);
      await sleep(100);
      expect(atB.messages).toEqual([]);
      expect(b.connected).toBe(false);
      expect(a.connected).toBe(true);
    });
  });
}

describeRevocationBus(
  'memory',
  () => {
    const hub = memoryBus();
    const buses: RevocationBus[] = [];
    return {
      connect: () => {
        const bus = hub.connect();
        buses.push(bus);
        return bus;
      },
      close: async () => {
        await Promise.all(buses.map((bus) => bus.close()));
      },
    };
  },
  false,
);

describeRevocationBus(
  'redis',
  () => {
    const prefix = newPrefix();
    const buses: RevocationBus[] = [];
    return {
      connect: () => {
        const bus = redisBus({ url: REDIS_URL, prefix, revokedTtl: 60 });
        buses.push(bus);
        return bus;
      },
      close: async () => {
        await Promise.all(buses.map((bus) => bus.close()));
      },
    };
  },
  true,
);

describe('redisBus', () => {
  const buses: RevocationBus[] = [];
  const bus = (options: RedisBusOptions = {}): RevocationBus => {
    const made = redisBus({ url: REDIS_URL, prefix: newPrefix(), revokedTtl: 60, ...options } as RedisBusOptions);
    buses.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('sets ${prefix}revoked:{sid} with the TTL, then announces the ids as JSON on ${prefix}revocations', async () => {
    const prefix = newPrefix();
    const heard: string[] = [];
    const listener = admin.duplicate();
    listener.on('error', () => undefined);
    await listener.connect();
    try {
      await listener.subscribe(`${prefix}revocations`, (message) => heard.push(message));
      const publisher = bus({ prefix, revokedTtl: '90s' });
      const ids = [sid(), sid()];
      await publisher.publish(ids);
      await waitFor('the announcement', () => heard.length === 1);
      expect(JSON.parse(heard[0]!)).toEqual(ids);
      for (const id of ids) {
        const ttl = await admin.pTTL(`${prefix}revoked:{${id}}`);
        expect(ttl).toBeGreaterThan(85_000);
        expect(ttl).toBeLessThanOrEqual(90_000);
      }
    } finally {
      await listener.close();
    }
  });

  it('ignores malformed messages on its channel and reports them', async () => {
    const prefix = newPrefix();
    const errors: Error[] = [];
    const subscriber = bus({ prefix, onError: (error) => errors.push(error) });
    const heard = await listen(subscriber);
    const garbage = ['not json', '{"ids":["a"]}', '[]', '[1]', '[""]', '"a"', 'null'];
    for (const message of garbage) await admin.publish(`${prefix}revocations`, message);
    const id = sid();
    await bus({ prefix }).publish([id]);
    await waitFor('the valid message', () => heard.revoked().length === 1);
    expect(heard.messages).toEqual([{ type: 'revoked', sessionIds: [id] }]);
    expect(errors).toHaveLength(garbage.length);
    expect(subscriber.connected).toBe(true);
  });

  it('keeps delivering to the other handlers when one throws', async () => {
    const prefix = newPrefix();
    const errors: Error[] = [];
    const subscriber = bus({ prefix, onError: (error) => errors.push(error) });
    await subscriber.subscribe(() => {
      throw new Error('handler failed');
    });
    const heard = await listen(subscriber);
    const id = sid();
    await subscriber.publish([id]);
    await waitFor('the second handler', () => heard.revoked().length === 1);
    expect(errors.map((e) => e.message)).toContain('handler failed');
  });

  it('uses a client you pass, subscribes on a duplicate it closes, and leaves your client open', async () => {
    const prefix = newPrefix();
    const client = createClient({ url: REDIS_URL });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const numsub = async (): Promise<number> => {
        const reply = (await admin.sendCommand(['PUBSUB', 'NUMSUB', `${prefix}revocations`])) as [string, number];
        return reply[1];
      };
      const shared = redisBus({ client, prefix, revokedTtl: 60 });
      const heard = await listen(shared);
      expect(shared.connected).toBe(true);
      expect(client.isPubSubActive).toBe(false); // the subscription is on its own connection
      expect(await numsub()).toBe(1);
      const id = sid();
      await shared.publish([id]);
      await waitFor('the message', () => heard.revoked().length === 1);
      expect(await shared.isRevoked!(id)).toBe(true);
      await shared.close();
      await waitFor('the duplicate to be closed', async () => (await numsub()) === 0);
      expect(client.isReady).toBe(true);
      expect(await client.exists(`${prefix}revoked:{${id}}`)).toBe(1);
      await expect(shared.publish([sid()])).rejects.toThrow();
      await expect(shared.isRevoked!(id)).rejects.toThrow();
    } finally {
      await client.close();
    }
  });

  it('refuses bad options at construction, listing every problem', async () => {
    const unconnected = createClient({ url: REDIS_URL });
    const bad: unknown[] = [
      { prefix: '' },
      { prefix: 'app:{x}:' },
      { prefix: 'has space:' },
      { prefix: 'x'.repeat(201) },
      { revokedTtl: 0 },
      { revokedTtl: '1.5s' },
      { revokedTtl: 'forever' },
      { url: 'http://127.0.0.1:6379' },
      { url: REDIS_URL, client: admin },
      { client: {} },
      { client: unconnected },
      { commandTimeoutMs: 0 },
      { heartbeatMs: -1 },
      { onError: 'log' },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        redisBus(options as RedisBusOptions);
      } catch (caught) {
        error = caught;
      }
      expect(
        error,
        JSON.stringify(options, (k, v: unknown) => (k === 'client' ? typeof v : v)),
      ).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe('config_invalid');
    }
    const both = (() => {
      try {
        redisBus({ prefix: '', revokedTtl: -1 });
      } catch (caught) {
        return caught as ConfigError;
      }
      return undefined;
    })();
    expect(both?.problems).toHaveLength(2);
  });

  it('publishes nothing for an empty list', async () => {
    const prefix = newPrefix();
    const subscriber = bus({ prefix });
    const heard = await listen(subscriber);
    await subscriber.publish([]);
    const id = sid();
    await subscriber.publish([id]);
    await waitFor('the message', () => heard.revoked().length === 1);
    expect(heard.revoked()).toEqual([[id]]);
  });
});

describe('redisBus between two Tessera instances', () => {
  it('refuses, within a second on the other instance, an access token whose session was revoked', async () => {
    const [keys, refreshKey] = [await generateKey('EdDSA'), await generateRefreshKey()];
    const store = memoryStore(); // stands in for the shared SQL store
    const prefix = newPrefix();
    const instance = () =>
      createTessera({ keys, refreshKey, sessions: { store, bus: redisBus({ url: REDIS_URL, prefix, revokedTtl: '15m' }), livenessTtl: '60s' } });
    const [a, b] = [instance(), instance()];
    try {
      const { access, sid } = await a.openSession({ sub: 'alice' });
      const request = { method: 'GET', headers: ['Authorization', `Bearer ${access.token}`] };
      expect((await b.authenticate(request)).sid).toBe(sid); // b now trusts "live" for 60 s, unless told otherwise
      const revokedAt = performance.now();
      await a.revokeSession(sid);
      await waitFor(
        'b to refuse the token',
        () =>
          b.authenticate(request).then(
            () => false,
            (error: unknown) => error instanceof TesseraError && error.code === 'token_revoked',
          ),
        1000,
      );
      expect(performance.now() - revokedAt).toBeLessThan(1000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('redisBus through outages', () => {
  let proxy: TcpProxy;
  const buses: RevocationBus[] = [];
  beforeAll(async () => {
    proxy = await startTcpProxy(REDIS_PORT);
  });
  afterEach(async () => {
    proxy.restore();
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await proxy.close();
  });
  const viaProxy = (prefix: string, options: Partial<RedisBusOptions> = {}): { bus: RevocationBus; errors: Error[] } => {
    const errors: Error[] = [];
    const bus = redisBus({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      revokedTtl: 60,
      onError: (error) => errors.push(error),
      ...options,
    } as RedisBusOptions);
    buses.push(bus);
    return { bus, errors };
  };
  /** Resolves with how long the call took to be refused, and the refusal. */
  const refusal = async (call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> => {
    const start = performance.now();
    try {
      await call();
    } catch (error) {
      return { ms: performance.now() - start, error };
    }
    throw new Error('the call succeeded during the outage');
  };

  it('refuses fast while Redis is cut off, says it is disconnected, then recovers with a reset on the same instance', async () => {
    const prefix = newPrefix();
    const { bus, errors } = viaProxy(prefix);
    const heard = await listen(bus);
    const direct = redisBus({ url: REDIS_URL, prefix, revokedTtl: 60 });
    buses.push(direct);
    expect(bus.connected).toBe(true);
    const before = sid();
    await bus.publish([before]);
    await waitFor('the first message', () => heard.revoked().length === 1);

    proxy.cut();
    await waitFor('connected to turn false', () => !bus.connected, 2000);
    const publish = await refusal(() => bus.publish([sid()]));
    const lookup = await refusal(() => bus.isRevoked!(before));
    for (const { ms, error } of [publish, lookup]) {
      expect(ms).toBeLessThan(2000);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toBe('store_unavailable');
    }
    // Published while the subscriber was away: lost to it, hence the reset.
    await direct.publish([sid()]);
    expect(errors.length).toBeGreaterThan(0);
    expect(heard.resets()).toBe(0);

    proxy.restore();
    await waitFor('connected to turn true', () => bus.connected, 6000);
    expect(heard.resets()).toBe(1);
    await waitFor(
      'publishing to work again',
      () =>
        bus.publish([sid()]).then(
          () => true,
          () => false,
        ),
      6000,
    );
    expect(await bus.isRevoked!(before)).toBe(true);
    const after = sid();
    await direct.publish([after]);
    await waitFor('a message after the reconnect', () => heard.revoked().some((ids) => ids[0] === after));
    expect(heard.messages.findIndex((m) => m.type === 'reset')).toBeGreaterThan(0);
  });

  it('resolves subscribe while Redis cannot be reached, then connects and resets when it can', async () => {
    proxy.cut();
    const { bus } = viaProxy(newPrefix(), { commandTimeoutMs: 500 });
    const start = performance.now();
    const heard = await listen(bus);
    expect(performance.now() - start).toBeLessThan(1500);
    expect(bus.connected).toBe(false);
    await expect(bus.publish([sid()])).rejects.toBeInstanceOf(StoreUnavailableError);
    proxy.restore();
    await waitFor('connected to turn true', () => bus.connected, 6000);
    await waitFor('the reset', () => heard.resets() === 1);
    // The publishing connection comes back on its own schedule; the refused publish never goes out late.
    const id = sid();
    await waitFor(
      'publishing to work',
      () =>
        bus.publish([id]).then(
          () => true,
          () => false,
        ),
      6000,
    );
    await waitFor('the message', () => heard.revoked().length > 0);
    await sleep(100);
    expect(heard.revoked()).toEqual([[id]]);
  });

  it('notices a hung network: calls time out, the heartbeat turns connected false, and it recovers after the reset', async () => {
    const { bus, errors } = viaProxy(newPrefix(), { commandTimeoutMs: 600, heartbeatMs: 200 });
    const heard = await listen(bus);
    expect(bus.connected).toBe(true);

    proxy.stall();
    const publish = await refusal(() => bus.publish([sid()]));
    expect(publish.ms).toBeLessThan(1200);
    expect(publish.error).toBeInstanceOf(StoreUnavailableError);
    await waitFor('the heartbeat to notice', () => !bus.connected, 2000);
    expect(errors.length).toBeGreaterThan(0);

    // The hang ends as hangs do, with the connections dropped.
    proxy.cut();
    proxy.restore();
    await waitFor('connected to turn true', () => bus.connected, 6000);
    expect(heard.resets()).toBe(1);
    await waitFor(
      'publishing to work again',
      () =>
        bus.publish([sid()]).then(
          () => true,
          () => false,
        ),
      6000,
    );
  });

  it('subscribes where the client you pass points (its socket host and port), not at a default', async () => {
    const client = createClient({ socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: 50 } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const shared = redisBus({ client, prefix: newPrefix(), revokedTtl: 60 });
      buses.push(shared);
      await listen(shared);
      expect(shared.connected).toBe(true);
      // Only a subscriber behind the proxy loses its connection when the proxy cuts.
      proxy.cut();
      await waitFor('connected to turn false', () => !shared.connected, 2000);
    } finally {
      proxy.restore();
      await client.close().catch(() => client.destroy());
    }
  });

  it('closes promptly while Redis is cut off', async () => {
    const { bus } = viaProxy(newPrefix());
    await listen(bus);
    proxy.cut();
    await waitFor('connected to turn false', () => !bus.connected, 2000);
    const start = performance.now();
    await bus.close();
    expect(performance.now() - start).toBeLessThan(2000);
    expect(bus.connected).toBe(false);
  });
});

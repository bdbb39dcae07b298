// The refresh machinery against the real server: single flight, one retry, no loop, cooldown,
// proactive refresh timed from expires_in (whatever the clocks say), and catching up after sleep.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientOptions, type Transport } from '../../src/client/index.js';
import { countingFetch, PASSWORD, startServer, uniqueName, type TestServer } from './server.js';

const FIFTEEN_MINUTES = 15 * 60_000;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

async function signedIn(target: TestServer, transport: Transport, options: Partial<ClientOptions> = {}) {
  const counting = countingFetch();
  const client = createClient({ baseUrl: target.url, transport, fetch: counting.fetch, autoRefresh: false, ...options });
  const username = uniqueName(transport);
  await client.register({ username, password: PASSWORD });
  await client.login({ username, password: PASSWORD });
  return { client, counting, username };
}

/** Ages every token on the server past its expiry, for the duration of `run`. */
async function expired<T>(run: () => Promise<T>): Promise<T> {
  server.advance(FIFTEEN_MINUTES + 1000);
  try {
    return await run();
  } finally {
    server.advance(-(FIFTEEN_MINUTES + 1000));
  }
}

describe.each(['bearer', 'hybrid', 'cookie'] as const)('%s: reactive refresh', (transport) => {
  it('50 concurrent calls refused as expired share one refresh, and each is retried once', async () => {
    const { client, counting } = await signedIn(server, transport);
    const events: string[] = [];
    client.on('refreshed', () => events.push('refreshed'));
    const answers = await expired(() => Promise.all(Array.from({ length: 50 }, () => client.fetch('/auth/me'))));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(counting.count('/auth/refresh')).toBe(1);
    expect(events).toEqual(['refreshed']);
    // 50 first tries (refused) and 50 retries.
    expect(counting.statuses('/auth/me').filter((s) => s === 401)).toHaveLength(50);
    expect(counting.count('/auth/me')).toBe(100);
    client.close();
  });

  it('a refused refresh ends the session: the original 401 comes back, no second refresh, no loop', async () => {
    const { client, counting, username } = await signedIn(server, transport);
    const user = await server.runtime.users.byUsername(username);
    const [session] = await server.runtime.auth.listSessions(user!.id);
    await server.runtime.auth.revokeSession(session!.id);
    const expiredEvents: string[] = [];
    client.on('sessionExpired', ({ error }) => expiredEvents.push(error.code));
    // Expired access token: the API says token_expired (expiry is judged first); the refresh says token_revoked.
    const response = await expired(() => client.fetch('/auth/me'));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('token_expired');
    expect(counting.count('/auth/refresh')).toBe(1);
    expect(counting.count('/auth/me')).toBe(1);
    expect(expiredEvents).toEqual(['token_revoked']);
    expect(client.session.signedIn).toBe(false);
    // Later calls go out without credentials and trigger nothing.
    expect((await client.fetch('/auth/me')).status).toBe(401);
    expect(counting.count('/auth/refresh')).toBe(1);
    client.close();
  });
});

describe('reactive refresh', () => {
  it('retries a request once with its body, and returns the retry whatever it says', async () => {
    const { client, counting } = await signedIn(server, 'hybrid');
    const other = createClient({ baseUrl: server.url, transport: 'hybrid', autoRefresh: false });
    const username = uniqueName('victim');
    await other.register({ username, password: PASSWORD });
    await other.login({ username, password: PASSWORD });
    const [session] = await server.runtime.auth.listSessions((await server.runtime.users.byUsername(username))!.id);
    // DELETE of someone else's session: refused as expired, refreshed, retried once → 404.
    const response = await expired(() => client.fetch(`/auth/sessions/${session!.id}`, { method: 'DELETE' }));
    expect(response.status).toBe(404);
    expect(counting.count('/auth/refresh')).toBe(1);
    expect(counting.statuses(`/auth/sessions/${session!.id}`)).toEqual([401, 404]);
    client.close();
    other.close();
  });

  it('does not intercept a call whose Authorization the caller set', async () => {
    const { client, counting } = await signedIn(server, 'hybrid');
    const response = await expired(() => client.fetch('/auth/me', { headers: { authorization: 'Bearer abc.def.ghi' } }));
    expect(response.status).toBe(401);
    expect(counting.count('/auth/refresh')).toBe(0);
    client.close();
  });

  it('takes the token another request already refreshed instead of refreshing again', async () => {
    const { client, counting } = await signedIn(server, 'bearer');
    // Two waves: the second wave's requests went out before the first wave's refresh landed.
    const results = await expired(async () => {
      const first = client.fetch('/auth/me');
      const second = client.fetch('/auth/sessions');
      return Promise.all([first, second]);
    });
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(counting.count('/auth/refresh')).toBe(1);
    client.close();
  });
});

describe('cooldown', () => {
  it('after a failed refresh waits 1 s, then doubles up to 60 s; a success resets it', async () => {
    let now = 1_000_000;
    const { client, counting } = await signedIn(server, 'hybrid', { now: () => now });
    const waits: number[] = [];
    client.on('refreshFailed', ({ error, retryIn }) => {
      expect(error.code).toBe('network_error');
      waits.push(retryIn);
    });
    counting.failRefreshes(100);
    await expired(async () => {
      expect((await client.fetch('/auth/me')).status).toBe(401);
      expect(counting.count('/auth/refresh')).toBe(1);
      // Inside the cooldown: the 401 comes back without a refresh attempt.
      now += 999;
      expect((await client.fetch('/auth/me')).status).toBe(401);
      expect(counting.count('/auth/refresh')).toBe(1);
      for (let i = 0; i < 8; i++) {
        now += waits.at(-1)!;
        expect((await client.fetch('/auth/me')).status).toBe(401);
      }
      expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
      expect(counting.count('/auth/refresh')).toBe(9);
      // Still signed in: a refresh that could not be made is not a refused session.
      expect(client.session.signedIn).toBe(true);
      counting.failRefreshes(0);
      now += 60_000;
      expect((await client.fetch('/auth/me')).status).toBe(200);
      counting.failRefreshes(1);
      server.advance(FIFTEEN_MINUTES + 1000);
      try {
        expect((await client.fetch('/auth/me')).status).toBe(401);
      } finally {
        server.advance(-(FIFTEEN_MINUTES + 1000));
      }
    });
    expect(waits.at(-1)).toBe(1000);
    client.close();
  });

  it('ends the cooldown when the browser says it is back online', async () => {
    const target = new EventTarget();
    const scope = globalThis as { window?: unknown };
    scope.window = target;
    try {
      const { client, counting } = await signedIn(server, 'bearer');
      counting.failRefreshes(1);
      await expired(async () => {
        expect((await client.fetch('/auth/me')).status).toBe(401);
        expect((await client.fetch('/auth/me')).status).toBe(401);
        expect(counting.count('/auth/refresh')).toBe(1);
        target.dispatchEvent(new Event('online'));
        expect((await client.fetch('/auth/me')).status).toBe(200);
      });
      expect(counting.count('/auth/refresh')).toBe(2);
      client.close();
    } finally {
      delete scope.window;
    }
  });

  it('an explicit refresh() is not held by the cooldown', async () => {
    const { client, counting } = await signedIn(server, 'bearer');
    counting.failRefreshes(1);
    await expect(client.refresh()).rejects.toMatchObject({ code: 'network_error' });
    await expect(client.refresh()).resolves.toMatchObject({ signedIn: true });
    expect(counting.count('/auth/refresh')).toBe(2);
    client.close();
  });
});

describe('proactive refresh', () => {
  it('refreshes before expiry, timed from expires_in, with the server clock an hour off; no call is ever refused', async () => {
    const skewed = await startServer({ TESSERA_ACCESS_TTL: '2s' }, { skewMs: 3_600_000 });
    try {
      const { client, counting } = await signedIn(skewed, 'hybrid', { autoRefresh: true });
      const refreshedAt: number[] = [];
      const start = Date.now();
      client.on('refreshed', () => refreshedAt.push(Date.now() - start));
      const statuses: number[] = [];
      while (Date.now() - start < 4_500) {
        statuses.push((await client.fetch('/auth/me')).status);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(refreshedAt.length).toBeGreaterThanOrEqual(3);
      // A 2 s token answers expires_in 1 or 2 (whole seconds left, rounded down); the refresh is due
      // 20 % of that before it ends (plus jitter): not early, and before the token could have expired.
      expect(refreshedAt[0]).toBeGreaterThanOrEqual(700);
      expect(refreshedAt[0]).toBeLessThan(2000);
      expect(counting.statuses('/auth/refresh').every((s) => s === 200)).toBe(true);
      client.close();
    } finally {
      await skewed.close();
    }
  });

  it('after a failed proactive refresh tries again when the cooldown ends, keeping the session', async () => {
    const short = await startServer({ TESSERA_ACCESS_TTL: '2s' });
    try {
      const { client, counting } = await signedIn(short, 'cookie', { autoRefresh: true });
      counting.failRefreshes(1);
      const outcome = await new Promise<string>((resolve) => {
        client.on('refreshFailed', ({ retryIn }) => expect(retryIn).toBe(1000));
        client.on('refreshed', () => resolve('refreshed'));
        client.on('sessionExpired', () => resolve('expired'));
      });
      expect(outcome).toBe('refreshed');
      expect(counting.count('/auth/refresh')).toBe(2);
      expect(client.session.signedIn).toBe(true);
      client.close();
    } finally {
      await short.close();
    }
  });

  it('catches up after a sleep: a call made once the token has lapsed refreshes first', async () => {
    let now = 5_000_000;
    const { client, counting } = await signedIn(server, 'bearer', { autoRefresh: true, now: () => now });
    // The machine sleeps through the expiry: no timer fired (the client clock jumps, the server's too).
    now += FIFTEEN_MINUTES + 1000;
    const response = await expired(() => client.fetch('/auth/me'));
    expect(response.status).toBe(200);
    expect(counting.statuses('/auth/me')).toEqual([200]);
    expect(counting.count('/auth/refresh')).toBe(1);
    client.close();
  });

  it('catches up after a sleep when the window regains focus, without waiting for a call', async () => {
    const target = new EventTarget();
    const scope = globalThis as { window?: unknown };
    scope.window = target;
    try {
      let now = 9_000_000;
      const { client, counting } = await signedIn(server, 'hybrid', { autoRefresh: true, now: () => now });
      const refreshed = new Promise((resolve) => client.on('refreshed', resolve));
      now += FIFTEEN_MINUTES - 30_000; // within the 60 s margin
      target.dispatchEvent(new Event('focus'));
      await refreshed;
      expect(counting.count('/auth/refresh')).toBe(1);
      client.close();
    } finally {
      delete scope.window;
    }
  });

  it('catches up after a sleep when the tab becomes visible or leaves the back-forward cache, not when it is hidden', async () => {
    // A page's document as far as onWake reads it; no `cookie`, so the client keeps its Node cookie jar.
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const win = new EventTarget();
    const scope = globalThis as { document?: unknown; window?: unknown };
    scope.document = doc;
    scope.window = win;
    try {
      let now = 13_000_000;
      const { client, counting } = await signedIn(server, 'hybrid', { autoRefresh: true, now: () => now });
      const refreshes = () => counting.count('/auth/refresh');
      // The timer is set for 14 minutes from now; a wake-up is the only thing that can bring it forward.
      // Waits for the refresh at most 2 s, so that a missed wake-up fails on the count, not by timeout.
      const wake = async (target: EventTarget, type: string) => {
        const refreshed = new Promise((resolve) => client.on('refreshed', resolve));
        target.dispatchEvent(new Event(type));
        await Promise.race([refreshed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      };

      // The tab is hidden, and the machine sleeps until the token is within its 60 s margin.
      doc.visibilityState = 'hidden';
      doc.dispatchEvent(new Event('visibilitychange'));
      now += FIFTEEN_MINUTES - 30_000;
      doc.dispatchEvent(new Event('visibilitychange'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(refreshes()).toBe(0);

      doc.visibilityState = 'visible';
      await wake(doc, 'visibilitychange');
      expect(refreshes()).toBe(1);

      // Asleep again, then back from the back-forward cache.
      now += FIFTEEN_MINUTES - 30_000;
      await wake(win, 'pageshow');
      expect(refreshes()).toBe(2);
      expect(client.session.signedIn).toBe(true);
      expect((await client.fetch('/auth/me')).status).toBe(200);
      expect(counting.statuses('/auth/me')).toEqual([200]);
      expect(refreshes()).toBe(2);

      // Closed: its listeners are gone, so a later wake-up refreshes nothing.
      client.close();
      now += FIFTEEN_MINUTES - 30_000;
      doc.dispatchEvent(new Event('visibilitychange'));
      win.dispatchEvent(new Event('pageshow'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(refreshes()).toBe(2);
    } finally {
      delete scope.document;
      delete scope.window;
    }
  });
});

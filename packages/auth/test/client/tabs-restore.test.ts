// Tabs and reloads, in Node: two clients sharing one cookie jar and one BroadcastChannel name are two
// tabs of one browser; a new client over the same jar is the page after a reload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, createClient, type ClientOptions, type TesseraClient, type Transport } from '../../src/client/index.js';
import { countingFetch, MemoryStorage, PASSWORD, startServer, uniqueName, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

let channels = 0;
function browser(transport: Transport, options: Partial<ClientOptions> = {}) {
  const jar = new CookieJar();
  const channel = `tessera-test-${process.pid}-${++channels}`;
  const tab = (extra: Partial<ClientOptions> = {}) => {
    const counting = countingFetch();
    const client = createClient({
      baseUrl: server.url,
      transport,
      cookieJar: jar,
      channel,
      fetch: counting.fetch,
      autoRefresh: false,
      ...options,
      ...extra,
    });
    return { client, counting };
  };
  return { jar, tab };
}

async function account(): Promise<{ username: string; password: string }> {
  const username = uniqueName('tab');
  const client = createClient({ baseUrl: server.url, autoRefresh: false });
  await client.register({ username, password: PASSWORD });
  client.close();
  return { username, password: PASSWORD };
}

function next<E extends 'signedIn' | 'refreshed' | 'signedOut'>(client: TesseraClient, event: E) {
  return new Promise<Parameters<Parameters<TesseraClient['on']>[1]>[0] & object>((resolve) => {
    const stop = client.on(event, (detail) => {
      stop();
      resolve(detail as never);
    });
  });
}

async function liveSessions(username: string): Promise<number> {
  const user = await server.runtime.users.byUsername(username);
  return (await server.runtime.auth.listSessions(user!.id)).length;
}

describe('tabs (hybrid)', () => {
  it('a login and a refresh in one tab are adopted by the other', async () => {
    const { tab } = browser('hybrid');
    const a = tab();
    const b = tab();
    const creds = await account();
    const signedIn = next(b.client, 'signedIn');
    await a.client.login(creds);
    expect(await signedIn).toMatchObject({ source: 'tab' });
    expect(await b.client.getAccessToken()).toBe(await a.client.getAccessToken());
    expect((await b.client.fetch('/auth/me')).status).toBe(200);

    const refreshed = next(b.client, 'refreshed');
    await a.client.refresh();
    expect(await refreshed).toMatchObject({ source: 'tab' });
    expect(await b.client.getAccessToken()).toBe(await a.client.getAccessToken());
    expect(b.counting.count('/auth/refresh')).toBe(0);
    a.client.close();
    b.client.close();
  });

  it('two tabs refreshing at the same moment both succeed and stay on one session', async () => {
    const { tab } = browser('hybrid');
    const a = tab();
    const b = tab();
    const creds = await account();
    const adopted = next(b.client, 'signedIn');
    await a.client.login(creds);
    await adopted;
    const [sa, sb] = await Promise.all([a.client.refresh(), b.client.refresh()]);
    expect(a.counting.statuses('/auth/refresh')).toEqual([200]);
    expect(b.counting.statuses('/auth/refresh')).toEqual([200]);
    expect(sa.sid).toBe(sb.sid);
    expect(await liveSessions(creds.username)).toBe(1);
    // No reuse was detected: both go on refreshing and calling.
    await a.client.refresh();
    await b.client.refresh();
    expect((await a.client.fetch('/auth/me')).status).toBe(200);
    expect((await b.client.fetch('/auth/me')).status).toBe(200);
    expect(await liveSessions(creds.username)).toBe(1);
    a.client.close();
    b.client.close();
  });

  it('a logout in one tab signs the other out', async () => {
    const { tab } = browser('hybrid');
    const a = tab();
    const b = tab();
    const adopted = next(b.client, 'signedIn');
    await a.client.login(await account());
    await adopted;
    const signedOut = next(b.client, 'signedOut');
    await a.client.logout();
    expect(await signedOut).toEqual({ reason: 'tab' });
    expect(b.client.session.signedIn).toBe(false);
    a.client.close();
    b.client.close();
  });

  it('a refused refresh in one tab does not sign the other out, and the next refresh brings it back', async () => {
    const { tab } = browser('hybrid');
    const a = tab();
    const b = tab();
    const adopted = next(b.client, 'signedIn');
    await a.client.login(await account());
    await adopted;
    const aEvents: string[] = [];
    const bEvents: string[] = [];
    for (const name of ['signedIn', 'signedOut', 'sessionExpired'] as const) {
      a.client.on(name, () => aEvents.push(name));
      b.client.on(name, () => bEvents.push(name));
    }
    a.counting.refuseRefreshes(1);
    await expect(a.client.refresh()).rejects.toMatchObject({ code: 'token_revoked' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // give a stray message time to arrive
    expect(aEvents).toEqual(['sessionExpired']);
    expect(bEvents).toEqual([]);
    expect((await b.client.fetch('/auth/me')).status).toBe(200);
    const back = next(a.client, 'signedIn');
    await b.client.refresh();
    expect(await back).toMatchObject({ source: 'tab' });
    expect((await a.client.fetch('/auth/me')).status).toBe(200);
    a.client.close();
    b.client.close();
  });

  it('with proactive refresh on, tabs stay signed in through several expiries', async () => {
    const short = await startServer({ TESSERA_ACCESS_TTL: '2s' });
    const jar = new CookieJar();
    const channel = `tessera-test-${process.pid}-short`;
    const make = () => {
      const counting = countingFetch();
      return { counting, client: createClient({ baseUrl: short.url, transport: 'hybrid', cookieJar: jar, channel, fetch: counting.fetch }) };
    };
    try {
      const a = make();
      const b = make();
      const username = uniqueName('proactive');
      await a.client.register({ username, password: PASSWORD });
      const adopted = next(b.client, 'signedIn');
      await a.client.login({ username, password: PASSWORD });
      await adopted;
      const fromTab = { a: 0, b: 0 };
      a.client.on('refreshed', ({ source }) => source === 'tab' && fromTab.a++);
      b.client.on('refreshed', ({ source }) => source === 'tab' && fromTab.b++);
      const statuses: number[] = [];
      const start = Date.now();
      while (Date.now() - start < 4_000) {
        statuses.push((await a.client.fetch('/auth/me')).status, (await b.client.fetch('/auth/me')).status);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(a.client.session.signedIn && b.client.session.signedIn).toBe(true);
      // Each tab took up refreshes made by the other instead of always making its own.
      expect(fromTab.a + fromTab.b).toBeGreaterThanOrEqual(2);
      const user = await short.runtime.users.byUsername(username);
      expect(await short.runtime.auth.listSessions(user!.id)).toHaveLength(1);
      a.client.close();
      b.client.close();
    } finally {
      await short.close();
    }
  });
});

describe('tabs (bearer)', () => {
  it('each tab keeps its own session: a logout or refresh in one leaves the other alone', async () => {
    const { tab } = browser('bearer');
    const a = tab();
    const b = tab();
    const creds = await account();
    await a.client.login(creds);
    await b.client.login(creds);
    expect(a.client.session.sid).not.toBe(b.client.session.sid);
    const tokenB = await b.client.getAccessToken();
    await a.client.refresh();
    await a.client.logout();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(b.client.session.signedIn).toBe(true);
    expect(await b.client.getAccessToken()).toBe(tokenB);
    expect((await b.client.fetch('/auth/me')).status).toBe(200);
    a.client.close();
    b.client.close();
  });
});

describe('restore after a reload', () => {
  it('hybrid: one refresh through the cookie', async () => {
    const remember = new MemoryStorage();
    const { tab } = browser('hybrid', { remember, channel: false });
    const before = tab();
    await before.client.login(await account());
    before.client.close();
    const after = tab();
    const restored = next(after.client, 'signedIn');
    const session = await after.client.restore();
    expect(session).toMatchObject({ signedIn: true, transport: 'hybrid' });
    expect(await restored).toMatchObject({ source: 'restore' });
    expect(after.counting.count('/auth/refresh')).toBe(1);
    expect(after.counting.count('/auth/me')).toBe(0);
    expect((await after.client.fetch('/auth/me')).status).toBe(200);
    after.client.close();
  });

  it('hybrid without a remembered transport still finds the session through the CSRF cookie', async () => {
    const { tab } = browser('hybrid', { channel: false });
    const before = tab();
    await before.client.login(await account());
    before.client.close();
    const after = tab({ transport: ['hybrid', 'cookie', 'bearer'] });
    expect(await after.client.restore()).toMatchObject({ signedIn: true, transport: 'hybrid' });
    expect(after.counting.count('/auth/refresh')).toBe(1);
    after.client.close();
  });

  it('cookie: asks /auth/me, and refreshes only when the access cookie has lapsed', async () => {
    const remember = new MemoryStorage();
    const { tab } = browser('cookie', { remember, channel: false, transport: ['hybrid', 'cookie'] });
    const before = tab({ transport: 'cookie' });
    await before.client.login(await account());
    before.client.close();
    expect([...remember.items.values()]).toEqual(['cookie']);

    const after = tab();
    expect(await after.client.restore()).toMatchObject({ signedIn: true, transport: 'cookie', expiresAt: undefined });
    expect(after.counting.count('/auth/me')).toBe(1);
    expect(after.counting.count('/auth/refresh')).toBe(0);
    after.client.close();

    server.advance(16 * 60_000);
    try {
      const later = tab();
      expect(await later.client.restore()).toMatchObject({ signedIn: true, transport: 'cookie' });
      expect(later.counting.statuses('/auth/me')).toEqual([401]);
      expect(later.counting.statuses('/auth/refresh')).toEqual([200]);
      expect(later.client.session.expiresAt).toBeGreaterThan(Date.now());
      later.client.close();
    } finally {
      server.advance(-16 * 60_000);
    }
  });

  it('bearer: nothing survives a reload without storage; with storage the tokens do', async () => {
    const { tab } = browser('bearer', { channel: false });
    const before = tab();
    await before.client.login(await account());
    before.client.close();
    const after = tab();
    expect(await after.client.restore()).toMatchObject({ signedIn: false });
    expect(after.counting.count('/auth/refresh') + after.counting.count('/auth/me')).toBe(0);
    after.client.close();

    const storage = new MemoryStorage();
    const kept = tab({ storage });
    await kept.client.login(await account());
    kept.client.close();
    const reloaded = tab({ storage });
    expect(await reloaded.client.restore()).toMatchObject({ signedIn: true, transport: 'bearer' });
    expect((await reloaded.client.fetch('/auth/me')).status).toBe(200);
    expect(reloaded.counting.count('/auth/refresh')).toBe(0);
    await reloaded.client.logout();
    expect(storage.items.size).toBe(0);
    reloaded.client.close();
  });

  it('with no session to restore, signs nothing in and asks the server nothing', async () => {
    const { tab } = browser('hybrid', { channel: false, remember: new MemoryStorage() });
    const fresh = tab();
    expect(await fresh.client.restore()).toMatchObject({ signedIn: false });
    expect(fresh.counting.count('/auth/refresh')).toBe(0);
    fresh.client.close();
  });
});

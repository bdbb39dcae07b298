// @tessera/auth/client/legacy (through the package's exports map, as an app imports it) against the real
// server during a simplejwt cut-over: the refresh token an old page left in storage becomes a session once
// and is deleted; nothing stored does nothing; a refused token is gone too and the client stays signed out.
import { ClientError, CookieJar, createClient, type TokenStorage } from '@tessera/auth/client';
import { exchangeLegacyToken } from '@tessera/auth/client/legacy';
import { sqliteBackend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../support/harness.js';
import { isoDaysAhead, legacySecret, makeTokens, seedImported } from './support.js';

/** localStorage as a Map, recording what was removed. */
function memoryStorage(items: Record<string, string>): TokenStorage & { readonly items: Map<string, string>; readonly removed: string[] } {
  const map = new Map(Object.entries(items));
  const removed: string[] = [];
  return {
    items: map,
    removed,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => {
      removed.push(key);
      map.delete(key);
    },
  };
}

describe('exchangeLegacyToken', () => {
  const backend = sqliteBackend();
  const secret = legacySecret();
  let server: TestServer;
  let t: Record<string, string>;
  let userId: string;

  beforeAll(async () => {
    ({ tokens: t } = await makeTokens(secret, [
      { name: 'hybrid', format: 'simplejwt', user: 31, kind: 'refresh' },
      { name: 'bearer', format: 'simplejwt', user: 31, kind: 'refresh' },
      { name: 'expired', format: 'simplejwt', user: 31, kind: 'refresh', variant: 'expired' },
    ]));
    server = await startServer({
      ...backend.env,
      TESSERA_LEGACY_FORMAT: 'simplejwt',
      TESSERA_LEGACY_SECRET: secret,
      TESSERA_LEGACY_UNTIL: isoDaysAhead(20),
      TESSERA_TRANSPORT: 'bearer,hybrid',
      TESSERA_COOKIE_SECURE: 'false',
    });
    userId = await seedImported(server.runtime, 31);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('turns the stored refresh token into a hybrid session once, and deletes it', async () => {
    const jar = new CookieJar();
    const client = createClient({ baseUrl: `${server.url}/`, cookieJar: jar, autoRefresh: false });
    const storage = memoryStorage({ auth: JSON.stringify({ access: 'old-access', refresh: t.hybrid }) });
    const events: string[] = [];
    client.on('signedIn', ({ source }) => events.push(source));

    const session = await exchangeLegacyToken(client, {
      key: 'auth',
      storage,
      transport: 'hybrid',
      read: (text) => (JSON.parse(text) as { refresh: string }).refresh,
    });

    expect(session).toMatchObject({ signedIn: true, transport: 'hybrid' });
    expect(events).toEqual(['exchange']);
    expect(storage.items.has('auth')).toBe(false);
    const me = await client.fetch('/auth/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as { id: string }).id).toBe(userId);
    // A hybrid session: the refresh cookie is in the jar and rotates.
    expect((await client.refresh()).signedIn).toBe(true);
    // Nothing stored any more: a second call does nothing and the session stays.
    expect(await exchangeLegacyToken(client, { key: 'auth', storage })).toBeUndefined();
    expect(client.session.signedIn).toBe(true);
    await client.logout();
    client.close();
  });

  it("takes the server's default transport when none is asked", async () => {
    const client = createClient({ baseUrl: `${server.url}/`, autoRefresh: false });
    const storage = memoryStorage({ refresh: t.bearer as string });
    expect(await exchangeLegacyToken(client, { key: 'refresh', storage })).toMatchObject({ signedIn: true, transport: 'bearer' });
    expect(storage.removed).toEqual(['refresh']);
    client.close();
  });

  it('does nothing when nothing is stored, or the storage throws', async () => {
    const client = createClient({ baseUrl: `${server.url}/`, autoRefresh: false });
    expect(await exchangeLegacyToken(client, { key: 'refresh', storage: memoryStorage({}) })).toBeUndefined();
    const broken: TokenStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => undefined,
      removeItem: () => undefined,
    };
    expect(await exchangeLegacyToken(client, { key: 'refresh', storage: broken })).toBeUndefined();
    expect(client.session.signedIn).toBe(false);
    client.close();
  });

  it("rejects with the server's code for a refused token, which is deleted all the same", async () => {
    const client = createClient({ baseUrl: `${server.url}/`, autoRefresh: false });
    const storage = memoryStorage({ refresh: t.expired as string });
    const refused = await exchangeLegacyToken(client, { key: 'refresh', storage }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ClientError);
    expect(refused).toMatchObject({ code: 'token_expired', status: 401 });
    expect(storage.items.size).toBe(0);
    expect(client.session.signedIn).toBe(false);
    client.close();
  });
});

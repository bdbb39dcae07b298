// `signInWith`, the hook add-on entries use to start a session from a token answer they obtained
// themselves: it must leave the client exactly as a login does (cookies in the jar, refresh armed,
// tabs told, `signedIn` fired), and leave it untouched when the answer is a refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, CookieJar, createClient, type ClientEvents, type Transport } from '../../src/client/index.js';
import { PASSWORD, startServer, uniqueName, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

/** A login sent by hand, as an add-on would send its own request. */
function loginBody(username: string, password: string, transport: Transport): RequestInit {
  return {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, transport }),
  };
}

describe('signInWith', () => {
  it.each(['hybrid', 'cookie', 'bearer'] as const)('%s: starts a session from an answer obtained elsewhere, as login does', async (transport) => {
    const jar = new CookieJar();
    const client = createClient({ baseUrl: server.url, cookieJar: jar, autoRefresh: false });
    const username = uniqueName(`hook-${transport}`);
    await client.register({ username, password: PASSWORD });
    const seen: ClientEvents['signedIn'][] = [];
    client.on('signedIn', (detail) => seen.push(detail));

    const session = await client.signInWith((send) => send('auth/login', loginBody(username, PASSWORD, transport)), 'exchange');

    expect(session).toMatchObject({ signedIn: true, transport });
    expect(seen).toEqual([{ session, source: 'exchange' }]);
    // The cookies the answer set went into the client's jar, so refresh and the API work as after a login.
    if (transport !== 'bearer') expect(jar.header(new URL('auth/refresh', server.url))).toMatch(/tessera-refresh=/);
    expect((await client.fetch('/auth/me')).status).toBe(200);
    const refreshed = await client.refresh();
    expect(refreshed.signedIn).toBe(true);
    await client.logout();
    expect(client.session.signedIn).toBe(false);
    client.close();
  });

  it('a refusal rejects with its ClientError and leaves the session held as it was', async () => {
    const client = createClient({ baseUrl: server.url, transport: 'bearer', autoRefresh: false });
    const username = uniqueName('hook-refused');
    await client.register({ username, password: PASSWORD });
    await client.login({ username, password: PASSWORD });
    const before = client.session;
    const refused = await client.signInWith((send) => send('auth/login', loginBody(username, 'wrong', 'bearer'))).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ClientError);
    expect(refused).toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(client.session).toEqual(before);
    // Something that is not a token answer is refused too.
    await expect(client.signInWith(() => Promise.resolve(Response.json({ ok: true })))).rejects.toMatchObject({ code: 'invalid_response' });
    expect(client.session).toEqual(before);
    // No answer at all: network_error.
    const down = createClient({ baseUrl: 'http://127.0.0.1:1/', autoRefresh: false });
    await expect(down.signInWith((send) => send('auth/login', { method: 'POST' }))).rejects.toMatchObject({ code: 'network_error' });
    client.close();
    down.close();
  });
});

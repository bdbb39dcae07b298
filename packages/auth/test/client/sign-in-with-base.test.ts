// `signInWith` as add-ons use it against an auth server under a path (a tenant, a proxy prefix): the path given to
// `send` is read against `baseUrl`, a second answer replaces the session held, and other tabs take the session up
// as after a login. The auth server is a stub here: only the client's side of the hook is under test.
import { describe, expect, it } from 'vitest';
import { createClient, type ClientEvents } from '../../src/client/index.js';
import { uniqueName } from './server.js';

describe('signInWith under a base path', () => {
  it('reads a relative path against a baseUrl with a path, replaces the session held, and tells the other tabs', async () => {
    const seen: string[] = [];
    let answer = 0;
    // The auth server as a stub: each answer is a hybrid token answer (access token only) with its own token.
    let authorization: string | null = null;
    const fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      seen.push(input instanceof Request ? input.url : String(input));
      authorization = new Headers(init?.headers).get('authorization');
      answer++;
      return Promise.resolve(Response.json({ token_type: 'Bearer', expires_in: 900, access_token: `access-${answer}` }));
    };
    const channel = `sign-in-with-${uniqueName('tabs')}`;
    const here = createClient({ baseUrl: 'https://auth.example/tenant/', fetch, channel, cookieJar: false, autoRefresh: false });
    const there = createClient({ baseUrl: 'https://auth.example/tenant/', fetch, channel, cookieJar: false, autoRefresh: false });
    const told = new Promise<ClientEvents['signedIn']>((resolve) => there.on('signedIn', resolve));
    const events: ClientEvents['signedIn']['source'][] = [];
    here.on('signedIn', (detail) => events.push(detail.source));

    const first = await here.signInWith((send) => send('auth/exchange', { method: 'POST' }), 'exchange');
    expect(seen).toEqual(['https://auth.example/tenant/auth/exchange']);
    expect(first).toMatchObject({ signedIn: true, transport: 'hybrid' });
    // The other tab takes the session up, as after a login.
    expect(await told).toMatchObject({ source: 'tab', session: { signedIn: true, transport: 'hybrid' } });

    // A second answer replaces the first session: the app's requests carry the new access token.
    await here.signInWith((send) => send('auth/exchange', { method: 'POST' }));
    expect(events).toEqual(['exchange', 'login']);
    await here.fetch('api/orders');
    expect(seen.at(-1)).toBe('https://auth.example/tenant/api/orders');
    expect(authorization).toBe('Bearer access-2');
    here.close();
    there.close();
  });
});

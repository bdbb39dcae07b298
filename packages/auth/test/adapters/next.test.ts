// The Next.js adapter through the adapter conformance suite (test/conformance/apps-next.ts: route.ts
// exports behind a node:http server that does what `next start` does), then what is Next.js's own: route
// handlers called as Next.js calls them (a Web Request and the route's context), the cookie default, the
// factory made on first use, the proxy.ts gate. examples/next runs the server-component helpers under `next start`.
import { describe, expect, it, onTestFinished } from 'vitest';
import { tessera } from '../../src/adapters/next/index.js';
import { fixedClock } from '../../src/core/clock.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';
import { describeAdapter } from '../conformance/adapter.js';
import { makeNext } from '../conformance/apps-next.js';

describeAdapter('next', makeNext);

const ORIGIN = 'http://app.example';
const context = { params: Promise.resolve({ id: '7' }) };
const check = (body: unknown) => ((body as { password?: unknown } | undefined)?.password === 'pw' ? { sub: 'alice' } : null);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`${ORIGIN}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('next adapter', () => {
  let keys: { access: Key; refresh: Key } | undefined;
  async function setup(): Promise<{ auth: Tessera; clock: ReturnType<typeof fixedClock> }> {
    keys ??= { access: await generateKey('EdDSA'), refresh: await generateRefreshKey() };
    const clock = fixedClock(Date.UTC(2030, 0, 1));
    const auth = createTessera({
      keys: keys.access,
      refreshKey: keys.refresh,
      clock,
      cookies: { secure: false },
      sessions: { store: memoryStore() },
    });
    onTestFinished(() => auth.close());
    return { auth, clock };
  }
  /** Logs in through the route handler; answers the Cookie header a browser would send back, and the CSRF value. */
  async function login(t: ReturnType<typeof tessera>): Promise<{ cookie: string; csrf: string }> {
    const answer = await t.login(check)(post('/api/auth/login', { password: 'pw' }), context);
    expect(answer.status).toBe(200);
    const cookie = answer.headers
      .getSetCookie()
      .map((line) => line.slice(0, line.indexOf(';')))
      .join('; ');
    return { cookie, csrf: ((await answer.json()) as { csrf_token: string }).csrf_token };
  }

  it('logs in with cookies by default and refuses another transport unless the route allows it', async () => {
    const { auth } = await setup();
    const t = tessera(auth);
    const answer = await t.login(check)(post('/api/auth/login', { password: 'pw' }), context);
    expect(answer.headers.getSetCookie().map((line) => line.slice(0, line.indexOf('=')))).toEqual([
      'tessera-access',
      'tessera-refresh',
      'tessera-csrf',
    ]);
    expect(Object.keys((await answer.json()) as object).sort()).toEqual(['csrf_token', 'expires_in', 'refresh_expires_in', 'token_type']);
    const bearer = await t.login(check)(post('/api/auth/login', { password: 'pw', transport: 'bearer' }), context);
    expect([bearer.status, ((await bearer.json()) as { error: string }).error]).toEqual([400, 'invalid_request']);
    const allowed = await t.login(check, { transports: ['cookie', 'bearer'] })(
      post('/api/auth/login', { password: 'pw', transport: 'bearer' }),
      context,
    );
    expect(Object.keys((await allowed.json()) as object)).toContain('access_token');
  });

  it('makes the Tessera of a factory on the first request, once, so that next build needs no keys', async () => {
    const { auth } = await setup();
    let made = 0;
    const t = tessera(() => {
      made += 1;
      return auth;
    });
    const me = t.required(async (_request, { auth: caller }) => Response.json({ sub: caller.sub }));
    expect(made).toBe(0);
    const { cookie } = await login(t);
    expect(await (await me(new Request(`${ORIGIN}/api/me`, { headers: { cookie } }), context)).json()).toEqual({ sub: 'alice' });
    expect(made).toBe(1);
  });

  it("hands the guarded handler Next.js's own context with auth added, the request's body unread, and identity()", async () => {
    const { auth } = await setup();
    const t = tessera(auth);
    const { cookie, csrf } = await login(t);
    const handler = t.required(async (request, { params, auth: caller }: { params: Promise<{ id: string }>; auth: { sub: string } }) =>
      Response.json({ id: (await params).id, sub: caller.sub, same: t.identity(request).sub, body: await request.json() }),
    );
    const answer = await handler(post('/api/items/7', { note: 'kept' }, { cookie, 'x-csrf-token': csrf }), context);
    expect(await answer.json()).toEqual({ id: '7', sub: 'alice', same: 'alice', body: { note: 'kept' } });
    expect(() => t.identity(new Request(ORIGIN))).toThrow(/No Tessera guard verified this request/);
  });

  it('refuses a JSON body over bodyLimit with 413 and reads no body of another media type', async () => {
    const { auth } = await setup();
    const t = tessera(auth, { bodyLimit: 64 });
    const big = await t.login(check)(post('/api/auth/login', { password: 'pw', pad: 'x'.repeat(100) }), context);
    expect([big.status, await big.json()]).toEqual([413, { error: 'payload_too_large', message: 'The body is larger than 64 bytes' }]);
    const upload = t.required(async (request) => new Response(String((await request.arrayBuffer()).byteLength)));
    const { cookie, csrf } = await login(tessera(auth));
    const file = new Request(`${ORIGIN}/upload`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/octet-stream' },
      body: 'y'.repeat(1000),
    });
    expect(await (await upload(file, context)).text()).toBe('1000');
  });

  it("leaves a guarded route's JSON body to its handler, unless the token may be in it (refreshRequired)", async () => {
    const { auth } = await setup();
    const t = tessera(auth, { bodyLimit: 1024 });
    const { cookie, csrf } = await login(tessera(auth));
    // An access guard never looks in the body: a large or malformed JSON body is the handler's to judge.
    const save = t.required(async (request) => {
      const text = await request.text();
      return new Response(String(text.length), { status: text.startsWith('{"doc"') ? 200 : 422 });
    });
    const headers = { cookie, 'x-csrf-token': csrf };
    const big = await save(post('/api/docs', { doc: 'x'.repeat(2000) }, headers), context);
    expect([big.status, await big.text()]).toEqual([200, '2010']);
    const broken = new Request(`${ORIGIN}/api/docs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"doc":',
    });
    expect((await save(broken, context)).status).toBe(200);
    const notJson = new Request(`${ORIGIN}/api/docs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '[' });
    expect((await save(notJson, context)).status).toBe(422);
    // A refresh guard reads the refresh_token body field, within bodyLimit.
    const { refresh } = await auth.openSession({ sub: 'alice' });
    const rotateOnly = t.refreshRequired(async (_request, { auth: caller }) => Response.json({ sub: caller.sub }));
    expect(await (await rotateOnly(post('/api/rotate', { refresh_token: refresh.token }), context)).json()).toEqual({ sub: 'alice' });
    const padded = await rotateOnly(post('/api/rotate', { refresh_token: refresh.token, pad: 'x'.repeat(2000) }), context);
    expect([padded.status, ((await padded.json()) as { error: string }).error]).toEqual([413, 'payload_too_large']);
  });

  it("puts a re-issued access cookie ahead of the handler's own cookies, also on a Response.redirect()", async () => {
    const { auth, clock } = await setup();
    const t = tessera(auth, { implicitRefresh: { within: '5m' } });
    const { cookie } = await login(t);
    clock.advance(11 * 60_000);
    const own = t.required(async () => {
      const response = Response.json({ ok: true });
      response.headers.append('set-cookie', 'app=1');
      return response;
    });
    const names = (r: Response) => r.headers.getSetCookie().map((line) => line.slice(0, line.indexOf('=')));
    expect(names(await own(new Request(ORIGIN, { headers: { cookie } }), context))).toEqual(['tessera-access', 'app']);
    const moved = t.required(async () => Response.redirect(`${ORIGIN}/elsewhere`, 303));
    const redirected = await moved(new Request(ORIGIN, { headers: { cookie } }), context);
    expect([redirected.status, redirected.headers.get('location'), names(redirected)]).toEqual([303, `${ORIGIN}/elsewhere`, ['tessera-access']]);
  });

  describe('proxy()', () => {
    it('lets a valid access token through, answers a refusal as JSON, or redirects it', async () => {
      const { auth } = await setup();
      const t = tessera(auth);
      const { cookie } = await login(t);
      expect(await t.proxy()(new Request(`${ORIGIN}/account`, { headers: { cookie } }))).toBeUndefined();
      const refused = await t.proxy()(new Request(`${ORIGIN}/account`));
      expect([refused?.status, refused?.headers.get('www-authenticate'), await refused?.json()]).toMatchObject([
        401,
        'Bearer',
        { error: 'token_missing' },
      ]);
      const redirected = await t.proxy({ redirectTo: '/login' })(new Request(`${ORIGIN}/account`, { headers: { cookie: 'tessera-access=forged' } }));
      expect([redirected?.status, redirected?.headers.get('location')]).toEqual([307, `${ORIGIN}/login`]);
      const admins = await t.proxy({ claims: { role: 'admin' } })(new Request(`${ORIGIN}/admin`, { headers: { cookie } }));
      expect([admins?.status, ((await admins?.json()) as { error: string }).error]).toEqual([403, 'insufficient_scope']);
    });

    it('checks who calls, not CSRF: a cookie POST without the header passes the gate, and the route handler behind refuses it', async () => {
      const { auth } = await setup();
      const t = tessera(auth);
      const { cookie } = await login(t);
      const action = post('/account', {}, { cookie });
      expect(await t.proxy()(action.clone())).toBeUndefined();
      const route = await t.required(async () => new Response('changed'))(action, context);
      expect([route.status, ((await route.json()) as { error: string }).error]).toEqual([403, 'csrf_failed']);
    });

    it('lets the request go on with a re-issued access cookie through NextResponse.next()', async () => {
      const { auth, clock } = await setup();
      const t = tessera(auth, { implicitRefresh: { within: '5m' } });
      const { cookie } = await login(t);
      clock.advance(11 * 60_000);
      const answer = await t.proxy()(new Request(`${ORIGIN}/account`, { headers: { cookie } }));
      expect(answer?.headers.get('x-middleware-next')).toBe('1');
      expect(answer?.headers.getSetCookie().map((line) => line.slice(0, line.indexOf('=')))).toEqual(['tessera-access']);
    });
  });
});

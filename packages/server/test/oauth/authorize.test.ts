// GET and POST /oauth/authorize over real HTTP against the real server (SQLite): every refusal of the request, and
// which of them may redirect (none while the client or the redirect URI is in doubt); the page's headers; the
// sign-in form's one-time value (single use, bound to its request, expiring), its same-origin rule and its throttle
// (the very counters of /auth/login); the 303 with `code`, `state` and `iss` that oauth4webapi validates; consent
// for a client that is not first party; and the loopback port rule of RFC 8252 §7.3.
import { createHash } from 'node:crypto';
import { fixedClock } from '@tessera/auth';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/harness.js';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';

const FIRST = 'https://first.example/cb';
/** A registered redirect URI with a query of its own, which every response must keep (RFC 6749 §3.1.2). */
const THIRD = 'https://third.example/cb?tenant=a%20b';
const LOOPBACK = 'http://127.0.0.1/callback';
/** A well-formed S256 challenge (nothing here redeems a code), and a verifier-shaped value sent as a `plain` challenge. */
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const VERIFIER = 'dBjftJeZ4CVP-mJ0DCIvBWlqgq6rr93Vve7lpD3qPkZ';

interface Page {
  readonly status: number;
  readonly html: string;
  readonly headers: Headers;
  readonly location: string | null;
}

async function fetchPage(url: string | URL, init: RequestInit = {}): Promise<Page> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const html = await response.text();
  expect(response.status, html).toBeLessThan(500);
  return { status: response.status, html, headers: response.headers, location: response.headers.get('location') };
}

/** The hidden fields of a page's form, unescaped. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const unescape = (t: string): string =>
    t.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '');
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescape(m[1] as string)] = unescape(m[2] as string);
  return fields;
}

/** The stable code an error page shows. */
function pageCode(page: Page): string | undefined {
  return /<code id="error-code">([^<]*)<\/code>/.exec(page.html)?.[1];
}

describe('/oauth/authorize', () => {
  const clock = fixedClock(Date.now());
  let server: OAuthServer;
  let user: { id: string; username: string; password: string };

  beforeAll(async () => {
    server = await startOAuthServer({}, { clock });
    user = await registerUser(server);
    await addClient(server, { id: 'first', redirectUris: [FIRST, 'https://first.example/other'], firstParty: true });
    await addClient(server, { id: 'third', redirectUris: [THIRD], public: true });
    await addClient(server, { id: 'native', redirectUris: [LOOPBACK], public: true, firstParty: true });
  });
  afterAll(() => server?.close());

  const url = (params: Record<string, string>, repeat: [string, string][] = []): string => {
    const query = new URLSearchParams(params);
    for (const [name, value] of repeat) query.append(name, value);
    return `/oauth/authorize?${query.toString()}`;
  };
  const get = (path: string): Promise<Page> => fetchPage(`${server.url}${path}`);
  const good = (extra: Record<string, string> = {}): Record<string, string> => ({
    response_type: 'code',
    client_id: 'first',
    redirect_uri: FIRST,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'st-1',
    ...extra,
  });
  const without = (name: string, params = good()): Record<string, string> => Object.fromEntries(Object.entries(params).filter(([n]) => n !== name));
  const post = (fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> =>
    fetchPage(`${server.url}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, 'sec-fetch-site': 'same-origin', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  /** The sign-in page of a good request, and its fields. */
  const signInForm = async (extra: Record<string, string> = {}): Promise<Record<string, string>> => {
    const page = await get(url(good(extra)));
    expect(page.status, page.html).toBe(200);
    return hiddenFields(page.html);
  };

  describe('GET: a client or redirect URI in doubt is a page, never a redirect', () => {
    const cases: [string, string, string][] = [
      ['no client_id', url(without('client_id')), 'invalid_request'],
      ['an unknown client', url(good({ client_id: 'nobody' })), 'invalid_client'],
      ['client_id twice', url(good(), [['client_id', 'first']]), 'invalid_request'],
      ['the built-in tessera-web (no redirect URI)', url(good({ client_id: 'tessera-web' })), 'invalid_request'],
      ['no redirect_uri', url(without('redirect_uri')), 'invalid_request'],
      ['an unregistered redirect_uri', url(good({ redirect_uri: 'https://evil.example/cb' })), 'invalid_request'],
      ['a registered one with a slash added', url(good({ redirect_uri: `${FIRST}/` })), 'invalid_request'],
      ['a registered one with a query added', url(good({ redirect_uri: `${FIRST}?x=1` })), 'invalid_request'],
      ['a redirect_uri with a fragment', url(good({ redirect_uri: `${FIRST}#frag` })), 'invalid_request'],
      ['redirect_uri twice', url(good(), [['redirect_uri', FIRST]]), 'invalid_request'],
      ['another client’s redirect_uri', url(good({ redirect_uri: THIRD })), 'invalid_request'],
      [
        'a bad redirect_uri even with every other fault',
        url({ client_id: 'first', redirect_uri: 'https://evil.example/', response_type: 'token' }),
        'invalid_request',
      ],
    ];
    for (const [name, target, code] of cases)
      it(`refuses ${name} with a 400 page`, async () => {
        const page = await get(target);
        expect(page.status).toBe(400);
        expect(page.location).toBeNull();
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
        expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
        expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
        expect(page.headers.get('content-security-policy')).not.toContain('example');
        expect(pageCode(page)).toBe(code);
        expect(page.html).not.toContain('evil.example');
      });
  });

  describe('GET: other faults go back to the redirect URI with error, state and iss (303)', () => {
    const cases: [string, Record<string, string>, string, [string, string][]?][] = [
      ['response_type=token', good({ response_type: 'token' }), 'unsupported_response_type'],
      ['response_type=code id_token', good({ response_type: 'code id_token' }), 'unsupported_response_type'],
      ['no response_type', without('response_type'), 'invalid_request'],
      ['no code_challenge (PKCE required)', without('code_challenge'), 'invalid_request'],
      ['code_challenge_method=plain', good({ code_challenge_method: 'plain', code_challenge: VERIFIER }), 'invalid_request'],
      ['no code_challenge_method (which means plain)', without('code_challenge_method'), 'invalid_request'],
      ['a code_challenge that is not 43 base64url characters', good({ code_challenge: `${CHALLENGE}A` }), 'invalid_request'],
      ['a code_challenge with padding', good({ code_challenge: `${CHALLENGE.slice(0, 42)}=` }), 'invalid_request'],
      ['a scope with two spaces', good({ scope: 'read  write' }), 'invalid_scope'],
      ['a scope with a quote', good({ scope: 'read "write"' }), 'invalid_scope'],
      ['a malformed dpop_jkt', good({ dpop_jkt: 'short' }), 'invalid_request'],
      ['response_mode=fragment', good({ response_mode: 'fragment' }), 'invalid_request'],
      ['a request object', good({ request: 'eyJhbGciOiJub25lIn0.e30.' }), 'invalid_request'],
      ['scope twice', good({ scope: 'b' }), 'invalid_request', [['scope', 'a']]],
    ];
    for (const [name, params, code, repeat] of cases)
      it(`answers ${code} for ${name}`, async () => {
        const page = await get(url(params, repeat));
        expect(page.status, page.html).toBe(303);
        const location = new URL(page.location as string);
        expect(`${location.origin}${location.pathname}`).toBe(FIRST);
        expect(location.searchParams.get('error')).toBe(code);
        // RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E only.
        expect(location.searchParams.get('error_description')).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
        expect(location.searchParams.get('state')).toBe('st-1');
        expect(location.searchParams.get('iss')).toBe(server.issuer);
        expect(location.searchParams.has('code')).toBe(false);
      });

    it('keeps the query of the registered redirect URI, and leaves out a state that is not one', async () => {
      const page = await get(url(good({ client_id: 'third', redirect_uri: THIRD, response_type: 'token', state: 'x'.repeat(1025) })));
      expect(page.status).toBe(303);
      expect(page.location?.startsWith(`${THIRD}&error=unsupported_response_type`)).toBe(true);
      expect(new URL(page.location as string).searchParams.get('tenant')).toBe('a b');
      expect(new URL(page.location as string).searchParams.has('state')).toBe(false);
    });

    it('redirects refusals as oauth4webapi expects them: validateAuthResponse checks iss and state, then reports the error', async () => {
      const as = { issuer: server.issuer, authorization_response_iss_parameter_supported: true } as oauth.AuthorizationServer;
      const page = await get(url(good({ response_type: 'token' })));
      expect(() => oauth.validateAuthResponse(as, { client_id: 'first' }, new URL(page.location as string), 'st-1')).toThrow(
        expect.objectContaining({ name: 'AuthorizationResponseError', error: 'unsupported_response_type' }) as Error,
      );
      const forged = new URL(page.location as string);
      forged.searchParams.set('iss', 'https://mix-up.example');
      expect(() => oauth.validateAuthResponse(as, { client_id: 'first' }, forged, 'st-1')).toThrow(/iss/);
    });
  });

  describe('GET: hostile input is a 4xx, never a 500', () => {
    const hostile: [string, string][] = [
      ['a 10 000-character client_id', `/oauth/authorize?client_id=${'a'.repeat(10_000)}&redirect_uri=x`],
      ['malformed percent escapes', '/oauth/authorize?client_id=%ZZfirst&redirect_uri=%E0%A4%A'],
      ['a NUL in the redirect URI', `/oauth/authorize?client_id=first&redirect_uri=${encodeURIComponent(`${FIRST}\u0000`)}`],
      ['no query at all', '/oauth/authorize'],
      ['an empty query', '/oauth/authorize?'],
      ['names without values', '/oauth/authorize?client_id&redirect_uri&&='],
    ];
    for (const [name, path] of hostile)
      it(`answers ${name} with a page`, async () => {
        const page = await get(path);
        expect(page.status).toBeGreaterThanOrEqual(400);
        expect(page.status).toBeLessThan(500);
        expect(page.location).toBeNull();
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      });

    it('answers non-ASCII state and challenge by redirect, not by failing', async () => {
      for (const change of [{ state: 'é ☃' }, { code_challenge: `${CHALLENGE.slice(0, 42)}é` }]) {
        const page = await get(url(good(change)));
        expect(page.status, JSON.stringify(change)).toBe(303);
        expect(new URL(page.location as string).searchParams.get('error')).toBe('invalid_request');
      }
    });
  });

  describe('GET: the sign-in page', () => {
    it('is a form without script under a strict CSP whose form-action names this origin and the redirect URI’s', async () => {
      const page = await get(url(good({ scope: 'read write read', dpop_jkt: CHALLENGE })));
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self' https://first.example"])
        expect(csp).toContain(directive);
      expect(csp).not.toContain('script-src');
      expect(csp).not.toContain('unsafe-inline');
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('same-origin');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.html).not.toMatch(/<script|\son[a-z]+=/i);
      expect(page.html).toContain('action="/oauth/authorize"');
      const fields = hiddenFields(page.html);
      expect(fields).toMatchObject({ client_id: 'first', redirect_uri: FIRST, code_challenge: CHALLENGE, state: 'st-1', dpop_jkt: CHALLENGE });
      // Repeated scope tokens are dropped, order kept.
      expect(fields.scope).toBe('read write');
      expect(fields.form_token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    });

    it('escapes what the request carries', async () => {
      const page = await get(url(good({ state: '"><script>alert(1)</script>' })));
      expect(page.status).toBe(200);
      expect(page.html).not.toContain('<script>');
      expect(hiddenFields(page.html).state).toBe('"><script>alert(1)</script>');
    });
  });

  describe('POST: sign-in', () => {
    it('answers 303 to the redirect URI with code, state and iss, which oauth4webapi validates; the code is stored hashed', async () => {
      const fields = await signInForm({ scope: 'read write', dpop_jkt: CHALLENGE });
      const answer = await post({ ...fields, username: user.username, password: user.password });
      expect(answer.status, answer.html).toBe(303);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const callback = new URL(answer.location as string);
      expect(`${callback.origin}${callback.pathname}`).toBe(FIRST);
      const as = { issuer: server.issuer, authorization_response_iss_parameter_supported: true } as oauth.AuthorizationServer;
      const params = oauth.validateAuthResponse(as, { client_id: 'first' }, callback, 'st-1');
      const code = params.get('code') as string;
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const rows = await server.runtime.database.db.selectFrom('tessera_oauth_codes').selectAll().execute();
      const row = rows.find((r) => r.code_hash === createHash('sha256').update(code).digest('hex'));
      expect(row).toMatchObject({
        client_id: 'first',
        redirect_uri: FIRST,
        code_challenge: CHALLENGE,
        user_id: user.id,
        scope: 'read write',
        jkt: CHALLENGE,
      });
      expect(Number(row?.expires_at) - Number(row?.created_at)).toBe(60_000);
      expect(rows.some((r) => Object.values(r).includes(code))).toBe(false);
    });

    it('shows the form again with one generic sentence for a wrong password, an unknown user and a disabled account', async () => {
      const disabled = await registerUser(server);
      await server.runtime.users.disable(disabled.id, clock.now());
      const pages: Page[] = [];
      for (const [username, password] of [
        [user.username, 'wrong password here'],
        ['nobody-at-all', 'wrong password here'],
        [disabled.username, disabled.password],
      ] as const) {
        const fields = await signInForm();
        const page = await post({ ...fields, username, password });
        expect(page.status, page.html).toBe(200);
        expect(page.location).toBeNull();
        expect(page.html).toContain('Invalid username or password.');
        const again = hiddenFields(page.html);
        expect(again.form_token).not.toBe(fields.form_token);
        pages.push(page);
      }
      // The page differs only by the username typed back and the new one-time value.
      const shape = (p: Page): string => p.html.replace(/value="[^"]*"/g, '');
      expect(new Set(pages.map(shape)).size).toBe(1);
    });
  });

  describe('POST: the one-time form value', () => {
    it('serves once', async () => {
      const fields = await signInForm();
      expect((await post({ ...fields, username: user.username, password: 'wrong password here' })).status).toBe(200);
      const again = await post({ ...fields, username: user.username, password: user.password });
      expect(again.status).toBe(403);
      expect(pageCode(again)).toBe('csrf_failed');
    });

    it('is bound to its authorization request: another state, challenge, redirect URI or scope is refused', async () => {
      for (const change of [
        { state: 'other' },
        { code_challenge: CHALLENGE.replace('E', 'F') },
        { redirect_uri: 'https://first.example/other' },
        { scope: 'admin' },
      ]) {
        const fields = await signInForm();
        const page = await post({ ...fields, ...change, username: user.username, password: user.password });
        expect(page.status, JSON.stringify(change)).toBe(403);
        expect(pageCode(page)).toBe('csrf_failed');
      }
    });

    it('is refused when missing, forged or expired', async () => {
      const fields = await signInForm();
      const missing = await post({ ...without('form_token', fields), username: user.username, password: user.password });
      expect(pageCode(missing)).toBe('csrf_failed');
      const [payload] = (fields.form_token as string).split('.');
      const forged = await post({ ...fields, form_token: `${payload}.${'A'.repeat(43)}`, username: user.username, password: user.password });
      expect(pageCode(forged)).toBe('csrf_failed');
      clock.advance(10 * 60_000 + 1);
      const expired = await post({ ...fields, username: user.username, password: user.password });
      expect(expired.status).toBe(403);
      expect(pageCode(expired)).toBe('csrf_failed');
    });
  });

  describe('POST: same origin only', () => {
    const cases: [string, Record<string, string>][] = [
      ['another Origin', { origin: 'https://evil.example' }],
      ['Origin null', { origin: 'null' }],
      ['the right Origin but Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['the right Origin but Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
    ];
    for (const [name, headers] of cases)
      it(`refuses ${name} with 403 origin_refused, before the password is checked`, async () => {
        const fields = await signInForm();
        const page = await post({ ...fields, username: user.username, password: user.password }, headers);
        expect(page.status).toBe(403);
        expect(page.location).toBeNull();
        expect(pageCode(page)).toBe('origin_refused');
        // The form value was not spent: the same form from the page itself still works.
        expect((await post({ ...fields, username: user.username, password: user.password })).status).toBe(303);
      });

    it('refuses a POST without Origin', async () => {
      const fields = await signInForm();
      const response = await fetch(`${server.url}/oauth/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...fields, username: user.username, password: user.password }).toString(),
      });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('origin_refused');
    });

    it('takes forms only, bounded in size', async () => {
      const fields = await signInForm();
      const json = await fetchPage(`${server.url}/oauth/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.url },
        body: JSON.stringify({ ...fields, username: user.username, password: user.password }),
      });
      expect(json.status).toBe(415);
      expect(pageCode(json)).toBe('unsupported_media_type');
      const big = await post({ ...fields, username: user.username, password: 'x'.repeat(17 * 1024) });
      expect(big.status).toBe(413);
      expect(pageCode(big)).toBe('payload_too_large');
      const twice = await fetchPage(`${server.url}/oauth/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: `${new URLSearchParams({ ...fields, username: user.username, password: user.password }).toString()}&password=other`,
      });
      expect(twice.status).toBe(400);
      expect(pageCode(twice)).toBe('invalid_request');
    });
  });

  describe('POST: consent for a client that is not first party', () => {
    const consentForm = async (state: string): Promise<{ page: Page; fields: Record<string, string> }> => {
      const fields = await signInForm({ client_id: 'third', redirect_uri: THIRD, state, scope: 'read' });
      const page = await post({ ...fields, username: user.username, password: user.password });
      expect(page.status, page.html).toBe(200);
      return { page, fields: hiddenFields(page.html) };
    };

    it('names the client and the scope, then Allow answers 303 with the code, keeping the registered query', async () => {
      const { page, fields } = await consentForm('c-1');
      expect(page.html).toContain('<span class="client">third</span> wants to act for');
      expect(page.html).toContain('<code>read</code>');
      expect(page.headers.get('content-security-policy')).toContain("form-action 'self' https://third.example");
      const allowed = await post({ ...fields, decision: 'allow' });
      expect(allowed.status).toBe(303);
      expect(allowed.location?.startsWith(`${THIRD}&code=`)).toBe(true);
      const callback = new URL(allowed.location as string);
      expect(callback.searchParams.get('state')).toBe('c-1');
      expect(callback.searchParams.get('iss')).toBe(server.issuer);
      // The consent value serves once too.
      expect(pageCode(await post({ ...fields, decision: 'allow' }))).toBe('csrf_failed');
    });

    it('carries who signed in inside the signed value: another user id in it is refused', async () => {
      const other = await registerUser(server);
      const { fields } = await consentForm('c-4');
      const [payload, mac] = (fields.form_token as string).split('.') as [string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(claims.u).toBe(user.id);
      const forged = Buffer.from(JSON.stringify({ ...claims, u: other.id }), 'utf8').toString('base64url');
      const page = await post({ ...fields, form_token: `${forged}.${mac}`, decision: 'allow' });
      expect(page.status).toBe(403);
      expect(pageCode(page)).toBe('csrf_failed');
    });

    it('Deny answers access_denied with state and iss', async () => {
      const { fields } = await consentForm('c-2');
      const denied = await post({ ...fields, decision: 'deny' });
      expect(denied.status).toBe(303);
      const callback = new URL(denied.location as string);
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('state')).toBe('c-2');
      expect(callback.searchParams.get('iss')).toBe(server.issuer);
      expect(callback.searchParams.has('code')).toBe(false);
    });

    it('issues no code once the account changed between sign-in and consent (the /auth/login cut-off)', async () => {
      const changing = await registerUser(server);
      const fields = await signInForm({ client_id: 'third', redirect_uri: THIRD, state: 'c-3' });
      const consent = await post({ ...fields, username: changing.username, password: changing.password });
      expect(consent.status).toBe(200);
      // What a password change, a disable or a logout-all does to the account in the meantime.
      await server.runtime.users.bumpCredentialVersion(changing.id);
      const answer = await post({ ...hiddenFields(consent.html), decision: 'allow' });
      expect(answer.status).toBe(303);
      expect(new URL(answer.location as string).searchParams.get('error')).toBe('access_denied');
    });
  });

  it('is in the OpenAPI document: both operations, their parameters, the form body, pages and the 303', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string;
            parameters?: { name: string; required: boolean }[];
            requestBody?: { content: Record<string, unknown> };
            responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
          }
        >
      >;
    };
    const { get, post: form } = doc.paths['/oauth/authorize'] ?? {};
    expect(get?.operationId).toBe('oauthAuthorize');
    expect(form?.operationId).toBe('oauthAuthorizeForm');
    const required = (get?.parameters ?? []).filter((p) => p.required).map((p) => p.name);
    expect(required.sort()).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type']);
    expect((get?.parameters ?? []).map((p) => p.name)).toEqual(expect.arrayContaining(['scope', 'state', 'dpop_jkt']));
    expect(Object.keys(form?.requestBody?.content ?? {})).toEqual(['application/x-www-form-urlencoded']);
    for (const op of [get, form]) {
      expect(op?.responses['200']?.content).toHaveProperty(['text/html']);
      expect(op?.responses['303']?.headers).toHaveProperty('Location');
      expect(op?.responses['400']?.content).toHaveProperty(['text/html']);
    }
    for (const status of ['403', '413', '415', '429', '503']) expect(form?.responses[status], status).toBeDefined();
  });

  describe('loopback redirect URIs (RFC 8252 §7.3)', () => {
    it('accept any port, and the code goes to the port asked for', async () => {
      const redirect = 'http://127.0.0.1:49321/callback';
      const page = await get(url(good({ client_id: 'native', redirect_uri: redirect })));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:49321");
      const answer = await post({ ...hiddenFields(page.html), username: user.username, password: user.password });
      expect(answer.status).toBe(303);
      expect(answer.location?.startsWith(`${redirect}?code=`)).toBe(true);
    });

    it('still compare the rest exactly', async () => {
      for (const redirect of [
        'http://127.0.0.1:49321/other',
        'http://[::1]:49321/callback',
        'http://localhost:49321/callback',
        'https://127.0.0.1:49321/callback',
      ]) {
        const page = await get(url(good({ client_id: 'native', redirect_uri: redirect })));
        expect(page.status, redirect).toBe(400);
        expect(page.location).toBeNull();
      }
    });
  });
});

describe('/oauth/authorize throttling', () => {
  let server: OAuthServer;
  let user: { id: string; username: string; password: string };

  beforeAll(async () => {
    server = await startOAuthServer({ TESSERA_LOGIN_LIMIT: '3/15m', TESSERA_LOGIN_IP_LIMIT: '100/15m' });
    user = await registerUser(server);
    await addClient(server, { id: 'first', redirectUris: [FIRST], firstParty: true });
  });
  afterAll(() => server?.close());

  it('counts against the same per-account-and-address counter as /auth/login, and answers a 429 page with Retry-After', async () => {
    const form = async (): Promise<Record<string, string>> => {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: 'first',
        redirect_uri: FIRST,
        code_challenge: CHALLENGE,
        code_challenge_method: 'S256',
      });
      const page = await fetchPage(`${server.url}/oauth/authorize?${query.toString()}`);
      return hiddenFields(page.html);
    };
    const post = async (password: string): Promise<Page> =>
      fetchPage(`${server.url}/oauth/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ ...(await form()), username: user.username, password }).toString(),
      });
    // Two misses here and one at /auth/login fill the counter of three…
    expect((await post('wrong password 1')).status).toBe(200);
    expect((await post('wrong password 2')).status).toBe(200);
    expect((await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: 'wrong password 3' } })).status).toBe(401);
    // …so the right password is refused on both, before any hashing.
    const limited = await post(user.password);
    expect(limited.status).toBe(429);
    expect(pageCode(limited)).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: user.password } })).code).toBe('rate_limited');
  });
});

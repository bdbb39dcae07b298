// OAuth clients: `tessera clients add|list|remove` on a real SQLite file (in-process through main(), and once
// through the built command line), the redirect-URI rules at registration (a table of hostile URIs, each refused
// with one sentence) and at matching (exact, the loopback port aside, RFC 8252 §7.3), and client secrets:
// 256 random bits, printed once, stored as SHA-256 hex, compared in constant time.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { register, sqliteBackend } from '@tessera/test-kit';
import { main } from '../../src/cli.js';
import { openDatabase } from '../../src/db/connect.js';
import { BUILT_IN_CLIENT, ClientRegistrationError, ClientStore } from '../../src/oauth/clients.js';
import { redirectUriMatches, redirectUriProblem } from '../../src/oauth/redirect-uri.js';
import { BASE_ENV, startServer } from '../support/harness.js';
import { clientsCli } from '../support/oauth-server.js';

/** Redirect URIs `clients add` refuses, with the words of its one sentence. */
const HOSTILE: readonly (readonly [string, RegExp])[] = [
  ['https://app.example/cb#done', /has a fragment/],
  ['https://app.example/cb#', /has a fragment/],
  ['https://*.app.example/cb', /wildcard/],
  ['https://app.example/*', /wildcard/],
  ['http://app.example/cb', /plain http, allowed only for http:\/\/127\.0\.0\.1 and http:\/\/\[::1\]/],
  ['http://localhost:8080/cb', /names localhost/],
  ['https://localhost/cb', /names localhost/],
  ['https://LOCALHOST./cb', /names localhost/],
  ['http://app.localhost/cb', /names localhost/],
  ['http://127.0.0.1.nip.io/cb', /plain http/],
  ['http://0x7f000001/cb', /plain http/],
  ['http://2130706433/cb', /plain http/],
  ['http://[::ffff:127.0.0.1]/cb', /plain http/],
  ['http://127.0.0.1:99999/cb', /not an absolute URI|port above 65535/],
  ['http://user@127.0.0.1/cb', /credentials/],
  ['https://user:pass@app.example/cb', /credentials/],
  ['HTTPS://app.example/cb', /lowercase https/],
  ['javascript:alert(1)', /javascript: scheme/],
  ['data:text/html,<script>alert(1)</script>', /data: scheme/],
  ['file:///etc/passwd', /file: scheme/],
  ['vbscript:msgbox', /vbscript: scheme/],
  ['myapp:/callback', /reverse-domain private-use scheme/],
  ['/relative/cb', /not an absolute URI/],
  ['//app.example/cb', /not an absolute URI/],
  ['app.example/cb', /not an absolute URI/],
  ['https://app.example/cb ', /space, a control character or a backslash/],
  ['https://app.example/c\nb', /space, a control character or a backslash/],
  ['https://app.example\\@evil.example/cb', /space, a control character or a backslash/],
  ['', /1 to 2000 characters/],
  [`https://app.example/${'a'.repeat(2000)}`, /1 to 2000 characters/],
];
const ALLOWED = [
  'https://app.example/cb',
  'https://app.example:8443/auth/callback?tenant=a',
  'http://127.0.0.1/cb',
  'http://127.0.0.1:8765/cb',
  'http://[::1]:8765/cb',
  'com.example.app:/oauth2redirect',
];

describe('redirect URIs at registration', () => {
  it('refuses a fragment, a wildcard, http other than loopback, localhost and every other hostile form, in one sentence', () => {
    for (const [uri, why] of HOSTILE) {
      const problem = redirectUriProblem(uri);
      expect(problem, uri).toMatch(why);
      expect(problem, uri).toMatch(/^[A-Z].*\.$/);
      expect(problem).not.toContain('\n');
    }
    for (const uri of ALLOWED) expect(redirectUriProblem(uri), uri).toBeUndefined();
  });
});

describe('redirect URIs at matching', () => {
  it('is exact, except the port of a loopback http URI (RFC 8252 §7.3)', () => {
    const table: readonly (readonly [string, string, boolean])[] = [
      ['https://app.example/cb', 'https://app.example/cb', true],
      ['https://app.example/cb', 'https://app.example/cb/', false],
      ['https://app.example/cb', 'https://APP.example/cb', false],
      ['https://app.example/cb', 'https://app.example:443/cb', false],
      ['https://app.example/cb', 'https://app.example/cb?x=1', false],
      ['https://app.example/cb', 'https://app.example/cb#x', false],
      ['https://app.example/cb', 'https://app.example/CB', false],
      ['https://app.example/cb', 'https://app.example/cb/../cb', false],
      ['https://app.example/cb', 'https://app.example.evil.example/cb', false],
      ['https://app.example:8443/cb', 'https://app.example:9443/cb', false],
      ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb', true],
      ['http://127.0.0.1:8765/cb', 'http://127.0.0.1:51234/cb', true],
      ['http://127.0.0.1:8765/cb', 'http://127.0.0.1/cb', true],
      ['http://[::1]/cb', 'http://[::1]:51234/cb', true],
      ['http://127.0.0.1/cb', 'http://[::1]:51234/cb', false],
      ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/other', false],
      ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb?x=1', false],
      ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb#x', false],
      ['http://127.0.0.1/cb', 'http://127.0.0.1:99999/cb', false],
      ['http://127.0.0.1/cb', 'http://localhost:51234/cb', false],
      ['http://127.0.0.1/cb', 'https://127.0.0.1:51234/cb', false],
      ['http://127.0.0.1/cb', 'http://user@127.0.0.1:51234/cb', false],
      ['http://127.0.0.1/cb', 'http://127.0.0.1.evil.example:51234/cb', false],
      ['com.example.app:/cb', 'com.example.app:/cb', true],
      ['com.example.app:/cb', 'com.example.app://cb', false],
    ];
    for (const [registered, given, matches] of table) expect(redirectUriMatches(registered, given), `${registered} vs ${given}`).toBe(matches);
  });
});

describe('tessera clients (on a real SQLite file)', () => {
  const backend = sqliteBackend();
  const env = { ...BASE_ENV, ...backend.env };
  afterAll(() => backend.cleanup());

  async function tessera(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('adds a confidential client, printing its secret once, stored only as its SHA-256', async () => {
    const added = await tessera(['clients', 'add', 'billing', '--redirect-uri', 'https://billing.example/cb', '--audience', 'urn:billing']);
    expect(added).toMatchObject({ code: 0, err: '' });
    const secret = /^client_secret: ([A-Za-z0-9_-]+)$/m.exec(added.out)?.[1];
    // 256 bits: 32 bytes, 43 base64url characters.
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
    expect(added.out).toMatch(/^Added confidential client billing\.$/m);
    expect(added.out).toMatch(/never shown again/);

    const database = await openDatabase(backend.env.TESSERA_DATABASE_URL!);
    try {
      const row = await database.db.selectFrom('tessera_oauth_clients').selectAll().where('client_id', '=', 'billing').executeTakeFirstOrThrow();
      expect(row.secret_hash).toBe(createHash('sha256').update(secret!).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(secret!);
      expect(row).toMatchObject({ public: 0, first_party: 0, redirect_uris: '["https://billing.example/cb"]', audiences: '["urn:billing"]' });
      const store = new ClientStore(database.db);
      const client = (await store.get('billing'))!;
      expect(client).toMatchObject({
        id: 'billing',
        public: false,
        firstParty: false,
        redirectUris: ['https://billing.example/cb'],
        audiences: ['urn:billing'],
      });
      expect(store.verifySecret(client, secret!)).toBe(true);
      for (const wrong of ['', 'x', secret!.slice(0, -1), `${secret!}x`, secret!.toUpperCase(), row.secret_hash!])
        expect(store.verifySecret(client, wrong), wrong).toBe(false);
      // The listing never shows a secret or its hash.
      const list = await tessera(['clients', 'list']);
      expect(list.out).not.toContain(secret!);
      expect(list.out).not.toContain(row.secret_hash!);
    } finally {
      await database.close();
    }
    // The secret is shown once: a second add of the id is refused.
    const again = await tessera(['clients', 'add', 'billing']);
    expect(again).toMatchObject({ code: 2, out: '', err: 'The client id billing is taken: see tessera clients list.' });
  });

  it('adds a public first-party client with loopback and https redirect URIs; it has no secret', async () => {
    const added = await tessera([
      'clients',
      'add',
      'cli-tool',
      '--public',
      '--first-party',
      '--redirect-uri',
      'http://127.0.0.1/callback',
      '--redirect-uri',
      'https://app.example/cb',
    ]);
    expect(added).toMatchObject({ code: 0, err: '', out: 'Added public client cli-tool.' });
    const database = await openDatabase(backend.env.TESSERA_DATABASE_URL!);
    try {
      const store = new ClientStore(database.db);
      const client = (await store.get('cli-tool'))!;
      expect(client).toMatchObject({ public: true, firstParty: true, redirectUris: ['http://127.0.0.1/callback', 'https://app.example/cb'] });
      expect(store.verifySecret(client, '')).toBe(false);
    } finally {
      await database.close();
    }
    const refusals: readonly (readonly [string[], string])[] = [
      [['cli-2', '--public'], 'A public client needs at least one --redirect-uri: the authorization code flow is its only way to sign anyone in.'],
      [
        ['cli-3', '--public', '--redirect-uri', 'https://a.example/cb', '--audience', 'urn:x'],
        'A public client cannot introspect tokens (RFC 7662 §2.1): --audience is for confidential clients.',
      ],
    ];
    for (const [args, sentence] of refusals) expect(await tessera(['clients', 'add', ...args])).toMatchObject({ code: 2, out: '', err: sentence });
  });

  it('refuses every hostile redirect URI with one sentence and exit code 2, registering nothing', async () => {
    for (const [uri, why] of HOSTILE) {
      const result = await tessera(['clients', 'add', 'hostile', '--public', '--redirect-uri', 'https://fine.example/cb', '--redirect-uri', uri]);
      expect(result.code, uri).toBe(2);
      expect(result.out).toBe('');
      expect(result.err.split('\n'), uri).toEqual([expect.stringMatching(why)]);
    }
    expect((await tessera(['clients', 'list'])).out).not.toMatch(/^hostile\t/m);
  });

  it('refuses tessera-web, malformed ids and unknown options', async () => {
    expect(await tessera(['clients', 'add', BUILT_IN_CLIENT, '--public', '--redirect-uri', 'https://a.example/cb'])).toMatchObject({
      code: 2,
      err: 'tessera-web is built in: choose another client id.',
    });
    expect(await tessera(['clients', 'remove', BUILT_IN_CLIENT])).toMatchObject({ code: 2, err: 'tessera-web is built in and cannot be removed.' });
    for (const id of ['has space', 'a/b', 'é', '.dot', '_under', 'x'.repeat(129), 'a:b@c', 'a%20b']) {
      const result = await tessera(['clients', 'add', id]);
      expect(result.code, id).toBe(2);
      expect(result.err, id).toMatch(/^The client id .* must be 1 to 128 letters, digits or \. _ ~ : - and start with a letter or digit\.$/);
    }
    const unknown = await tessera(['clients', 'add', 'x', '--secret', 'mine']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      'Unknown or incomplete option --secret: tessera clients add takes CLIENT_ID and --public, --first-party, --redirect-uri URI, --audience AUD.',
    );
    expect((await tessera(['clients', 'add', 'x', '--redirect-uri'])).err).toMatch(/^Unknown or incomplete option --redirect-uri: /);
    expect((await tessera(['clients'])).code).toBe(2);
    expect((await tessera(['clients', 'add'])).code).toBe(2);
    expect((await tessera(['clients', 'add', 'a', 'b'])).code).toBe(2);
  });

  it('lists every client, tessera-web first, and removes one, ending its sessions and no other', async () => {
    // Sessions as the token endpoint opens them: two of cli-tool, one of tessera-web, on a server over the same file.
    const server = await startServer(backend.env);
    let mine: string[];
    let web: string;
    try {
      const user = await register(server.url);
      const open = async (clientId?: string) =>
        (await server.runtime.auth.openSession({ sub: user.id, ...(clientId === undefined ? {} : { clientId }) })).session!.id;
      mine = [await open('cli-tool'), await open('cli-tool')];
      web = await open();
    } finally {
      await server.close();
    }
    const list = await tessera(['clients', 'list']);
    expect(list.code).toBe(0);
    const lines = list.out.split('\n');
    expect(lines[0]).toBe('client_id\ttype\tparty\tredirect_uris\taudiences');
    expect(lines[1]).toBe('tessera-web\tpublic\tfirst-party\tbuilt in\t-');
    expect(lines).toContain('billing\tconfidential\tthird-party\thttps://billing.example/cb\turn:billing');
    expect(lines).toContain('cli-tool\tpublic\tfirst-party\thttp://127.0.0.1/callback https://app.example/cb\t-');
    expect(await tessera(['clients', 'remove', 'cli-tool'])).toMatchObject({
      code: 0,
      err: '',
      out: 'Removed client cli-tool; 2 session(s) ended. Access tokens already issued to it expire on their own.',
    });
    expect(await tessera(['clients', 'remove', 'cli-tool'])).toMatchObject({ code: 1, err: 'No client "cli-tool": see tessera clients list.' });
    expect((await tessera(['clients', 'list'])).out).not.toContain('cli-tool');
    const database = await openDatabase(backend.env.TESSERA_DATABASE_URL!);
    try {
      const rows = await sql<{
        id: string;
        revoked_at: number | null;
        reason: string | null;
      }>`select id, revoked_at, reason from tessera_sessions`.execute(database.db);
      const byId = new Map(rows.rows.map((r) => [r.id, r]));
      for (const sid of mine) expect(byId.get(sid)).toMatchObject({ reason: 'admin', revoked_at: expect.any(Number) });
      expect(byId.get(web)).toMatchObject({ revoked_at: null });
    } finally {
      await database.close();
    }
  });

  it('works through the built command line, with its --help', async () => {
    const added = await clientsCli({ env }, ['add', 'spawned', '--first-party', '--redirect-uri', 'https://spawned.example/cb']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const help = await clientsCli({ env }, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tessera clients <add CLIENT_ID/);
    expect(help.stdout).toMatch(/^ {2}TESSERA_DATABASE_URL +/m);
  });
});

describe('the client store', () => {
  it('answers the built-in client without a row, and unknown or malformed ids as undefined', async () => {
    const backend = sqliteBackend();
    const database = await openDatabase(backend.env.TESSERA_DATABASE_URL!);
    try {
      const store = new ClientStore(database.db);
      expect(await store.get(BUILT_IN_CLIENT)).toMatchObject({ id: 'tessera-web', public: true, firstParty: true, redirectUris: [] });
      for (const id of ['nobody', '', 'x'.repeat(10_000), "a' or 1=1 --"]) expect(await store.get(id), id).toBeUndefined();
      expect((await store.list()).map((c) => c.id)).toEqual(['tessera-web']);
      await expect(store.add({ id: 'bad', audiences: ['has space'], now: 1 })).rejects.toThrow(ClientRegistrationError);
      await expect(store.add({ id: 'bad', redirectUris: ['http://example.com/cb'], now: 1 })).rejects.toThrow(/plain http/);
      expect(await database.db.selectFrom('tessera_oauth_clients').selectAll().execute()).toEqual([]);
    } finally {
      await database.close();
      await backend.cleanup();
    }
  });
});

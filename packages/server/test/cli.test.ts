// The `tessera` command line. Most commands run in-process through `main()` against a SQLite file
// that a listening server shares, so their effect is seen over HTTP; exit codes and what reaches
// the terminal (help, unknown commands, bad configuration, an unreachable database) are checked on
// the built CLI as a real process.
// Long on purpose: every subcommand of the CLI, each with its exit codes and output.
import { fixedClock } from '@tessera/auth';
import Database from 'better-sqlite3';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, decodeJwt, freePort, loginTokens as login, PASSWORD, sqliteBackend, STACK_FRAME, uniqueName, waitFor } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { main } from '../src/cli.js';
import { expectError } from './support/contract-suite.js';
import { BASE_ENV, call, runCli, startServer } from './support/harness.js';

const COMMANDS = ['serve', 'keys', 'users', 'sessions', 'clients', 'token', 'db', 'purge'] as const;

describe('tessera (in-process, beside a live server on the same SQLite file)', () => {
  const backend = sqliteBackend();
  const env = { ...BASE_ENV, ...backend.env };
  let server: TestServer;
  let url: string;

  /** Runs `tessera …` through main(): the exit code and every line written. */
  async function tessera(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: { ...env, ...extra } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  const kids = async (): Promise<string[]> =>
    ((await call(url, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys.map((k) => k.kid);

  beforeAll(async () => {
    server = await startServer(backend.env, { keyReloadMs: 50 });
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('prints help for the command line and every command, needing no configuration', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const help = await tessera([flag], { TESSERA_PORT: 'not a port' });
      expect(help.code).toBe(0);
      expect(help.out).toMatch(/^Usage: tessera <command>/);
      for (const command of COMMANDS) expect(help.out).toContain(command);
    }
    for (const command of COMMANDS) {
      for (const flag of ['--help', '-h']) {
        const help = await tessera([command, flag], { TESSERA_ACCESS_TTL: 'soon' });
        expect(help.code, command).toBe(0);
        expect(help.out).toMatch(new RegExp(`^Usage: tessera ${command}`));
        expect(help.err).toBe('');
      }
    }
  });

  it('prints the command list when given no command, and fails', async () => {
    const bare = await tessera([]);
    expect(bare.code).not.toBe(0);
    expect(bare.out).toMatch(/^Usage: tessera <command>/);
  });

  it('refuses bad configuration on every command with exit code 2, one sentence per problem', async () => {
    const bad = {
      TESSERA_ACCESS_TTL: 'soon',
      TESSERA_PORT: '99999',
      TESSERA_ALG: 'none',
      TESSERA_LOGIN_LIMIT: 'lots',
      TESSERA_COOKIE_SECURE: 'maybe',
    };
    for (const command of [['keys', 'list'], ['users', 'list'], ['purge'], ['db', 'migrate']]) {
      const result = await tessera(command, bad);
      expect(result.code).toBe(2);
      expect(result.out).toBe('');
      const lines = result.err.split('\n');
      expect(lines.map((l) => /^(TESSERA_[A-Z_]+) /.exec(l)?.[1]).sort()).toEqual(Object.keys(bad).sort());
    }
    for (const extra of [
      { TESSERA_ALG: 'HS256', TESSERA_SECRET: 'too-short-to-be-a-secret' },
      { TESSERA_KEYS_SECRET: 'too-short-to-be-a-secret' },
      { TESSERA_KEYS_SECRET: `${Buffer.alloc(32, 1).toString('base64')}+/=` },
      { TESSERA_ALG: 'HS256' },
      { TESSERA_SECRET: Buffer.alloc(32, 1).toString('base64url') },
    ]) {
      const result = await tessera(['keys', 'list'], extra);
      expect(result.code, JSON.stringify(extra)).toBe(2);
      expect(result.err.split('\n')).toEqual([expect.stringMatching(/^TESSERA_(KEYS_)?SECRET /)]);
      expect(result.err).not.toContain('too-short');
    }
  });

  it('explains that HS256 access keys are the secret, not database keys', async () => {
    const hs = { TESSERA_ALG: 'HS256', TESSERA_SECRET: Buffer.alloc(32, 3).toString('base64url') };
    await expect(tessera(['keys', 'rotate'], hs)).rejects.toThrow(/TESSERA_SECRET/);
    await expect(tessera(['keys', 'generate'], hs)).rejects.toThrow(/TESSERA_SECRET/);
  });

  it('answers an unknown verb with its usage and exit code 2', async () => {
    for (const args of [['keys', 'frob'], ['users'], ['sessions', 'list'], ['token'], ['db', 'drop'], ['keys', 'revoke'], ['token', 'decode']]) {
      const result = await tessera(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err).toMatch(/^Usage: tessera /);
    }
  });

  it('users add / list / disable', async () => {
    const name = uniqueName('Cli');
    const added = await tessera(['users', 'add', name, '--role', 'admin', '--role', 'ops'], { TESSERA_PASSWORD: PASSWORD });
    expect(added).toMatchObject({ code: 0, err: '' });
    const id = new RegExp(`^Created ${name.toLowerCase()} \\((\\S+)\\)\\.$`).exec(added.out)?.[1];
    expect(id).toBeDefined();

    const pair = await login(url, name);
    const me = await call(url, 'GET', '/auth/me', { bearer: pair.access_token! });
    expect(me.body).toEqual({ id, username: name.toLowerCase(), roles: ['admin', 'ops'] });
    expect(decodeJwt(pair.access_token!).claims.roles).toEqual(['admin', 'ops']);

    expect(await tessera(['users', 'add', name.toUpperCase()], { TESSERA_PASSWORD: PASSWORD })).toMatchObject({
      code: 1,
      err: expect.stringMatching(/taken/),
    });
    expect(await tessera(['users', 'add', 'a\u200bb c'], { TESSERA_PASSWORD: PASSWORD })).toMatchObject({
      code: 2,
      err: expect.stringMatching(/username/),
    });
    expect(await tessera(['users', 'add', uniqueName()], { TESSERA_PASSWORD: 'short' })).toMatchObject({
      code: 2,
      err: expect.stringMatching(/password/),
    });

    const listed = await tessera(['users', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.out.split('\n')).toContain(`${id}\t${name.toLowerCase()}\tadmin,ops\tactive`);

    const other = await login(url, name);
    const disabled = await tessera(['users', 'disable', name]);
    expect(disabled).toMatchObject({ code: 0, out: `Disabled ${name.toLowerCase()}; 2 session(s) ended.` });
    // Another process disabled the user: without Redis the server reuses what it read for one second at most.
    for (const token of [pair.access_token!, other.access_token!]) {
      const elapsed = await waitFor(
        'the server to refuse the user',
        async () => (await call(url, 'GET', '/auth/me', { bearer: token })).status === 401,
        2000,
        50,
      );
      expect(elapsed).toBeLessThan(2000);
    }
    expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: other.refresh_token } }), 401, 'token_revoked');
    expectError(await call(url, 'POST', '/auth/login', { json: { username: name, password: PASSWORD } }), 401, 'invalid_credentials');
    expect((await tessera(['users', 'list'])).out.split('\n')).toContain(`${id}\t${name.toLowerCase()}\tadmin,ops\tdisabled`);
    expect(await tessera(['users', 'disable', uniqueName('nobody')])).toMatchObject({ code: 1, err: expect.stringMatching(/^No user /) });
  });

  it('sessions revoke --user ends every session of the user', async () => {
    const a = await account(url);
    const second = await login(url, a.username);
    for (const token of [a.access, second.access_token!]) expect((await call(url, 'GET', '/auth/me', { bearer: token })).status).toBe(200);
    const result = await tessera(['sessions', 'revoke', '--user', a.username]);
    expect(result).toMatchObject({ code: 0, out: `Ended 2 session(s) of ${a.username}.` });
    // Another process revoked them: without Redis the server trusts a cached "live" for one second at most.
    for (const token of [a.access, second.access_token!]) {
      const elapsed = await waitFor(
        'the server to refuse the session',
        async () => (await call(url, 'GET', '/auth/me', { bearer: token })).status === 401,
        2000,
        50,
      );
      expect(elapsed).toBeLessThan(2000);
    }
    expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }), 401, 'token_revoked');
    expect((await tessera(['sessions', 'revoke', '--user', uniqueName('nobody')])).code).toBe(1);
  });

  it('keys generate / rotate / revoke / list, seen by the running server', async () => {
    const before = await account(url);
    const oldKid = decodeJwt(before.access).header.kid as string;

    const generated = await tessera(['keys', 'generate']);
    expect(generated.code).toBe(0);
    const next = /^Published (\S+) \(EdDSA\) in the JWKS/.exec(generated.out)?.[1];
    expect(next).toBeDefined();
    expect((await tessera(['keys', 'list'])).out).toMatch(new RegExp(`^${next}\\tEdDSA\\taccess\\tnext\\tcreated `, 'm'));
    await waitFor('the staged key in the JWKS', async () => (await kids()).includes(next!), 3000);
    expect(decodeJwt((await login(url, before.username)).access_token!).header.kid).toBe(oldKid);

    const rotated = await tessera(['keys', 'rotate', '--now']);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(new RegExp(`^Now signing with ${next}\\. ${oldKid} verifies until \\d{4}-\\d\\d-\\d\\dT`));
    const list = (await tessera(['keys', 'list'])).out;
    expect(list).toMatch(new RegExp(`^${next}\\tEdDSA\\taccess\\tcurrent\\t`, 'm'));
    expect(list).toMatch(new RegExp(`^${oldKid}\\tEdDSA\\taccess\\tretired\\t`, 'm'));
    expect(list).toMatch(/\tHS256\trefresh\tcurrent\t/);
    await waitFor(
      'the server to sign with the new key',
      async () => decodeJwt((await login(url, before.username)).access_token!).header.kid === next,
      3000,
    );
    expect((await call(url, 'GET', '/auth/me', { bearer: before.access })).status).toBe(200);

    const revoked = await tessera(['keys', 'revoke', oldKid]);
    expect(revoked).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`^Revoked ${oldKid}`)) });
    expect((await tessera(['keys', 'list'])).out).toMatch(new RegExp(`^${oldKid}\\tEdDSA\\taccess\\trevoked\\t`, 'm'));
    await waitFor(
      'the server to refuse tokens of the revoked key',
      async () => (await call(url, 'GET', '/auth/me', { bearer: before.access })).status === 401,
      3000,
    );
    expectError(await call(url, 'GET', '/auth/me', { bearer: before.access }), 401, 'token_invalid');
    expect(await kids()).not.toContain(oldKid);

    expect(await tessera(['keys', 'revoke', 'no-such-kid'])).toMatchObject({ code: 1, err: expect.stringMatching(/^No key no-such-kid/) });
  });

  it('token decode: header, claims, expiry in words, and whether it verifies here', async () => {
    const a = await account(url);
    const access = await tessera(['token', 'decode', a.access]);
    expect(access.code).toBe(0);
    expect(access.out).toMatch(/^header: \{"alg":"EdDSA","typ":"at\+jwt","kid":"[^"]+"\}$/m);
    expect(access.out).toContain(`"sub": "${a.id}"`);
    expect(access.out).toMatch(/^expires in 1[45] minutes \(\d{4}-/m);
    expect(access.out).toMatch(/^verified: yes, a valid access token/m);

    const refresh = await tessera(['token', 'decode', a.refresh]);
    expect(refresh.out).toMatch(/^expires in [67] days /m);
    expect(refresh.out).toMatch(/^verified: yes, a valid refresh token/m);

    // A token issued an hour ago by an instance on the same keys.
    const past = await startServer(backend.env, { clock: fixedClock(Date.now() - 3_600_000) });
    let old: string;
    try {
      old = (await login(past.url, a.username)).access_token!;
    } finally {
      await past.close();
    }
    const expired = await tessera(['token', 'decode', old]);
    expect(expired.code).toBe(0);
    expect(expired.out).toMatch(/^expired 4[45] minutes ago \(/m);
    expect(expired.out).toMatch(/^verified: no — token_expired/m);

    const [h, c] = a.access.split('.');
    expect((await tessera(['token', 'decode', `${h}.${c}.AAAA`])).out).toMatch(/^verified: no — token_invalid/m);
    const garbage = await tessera(['token', 'decode', 'not-a-token']);
    expect(garbage.out).toMatch(/^header: \(not JSON\)$/m);
    expect(garbage.out).toMatch(/^verified: no — /m);
  });

  it('purge deletes ended sessions and leaves live ones', async () => {
    const a = await account(url);
    // Opened fifteen days ago: its seven-day refresh lifetime ended, and so did the seven days it is kept after.
    const past = await startServer(backend.env, { clock: fixedClock(Date.now() - 15 * 86_400_000) });
    try {
      await past.runtime.auth.openSession({ sub: a.id });
    } finally {
      await past.close();
    }
    const first = await tessera(['purge']);
    expect(first.code).toBe(0);
    const deleted = Number(/^Deleted (\d+) ended session\(s\)\.$/.exec(first.out)?.[1]);
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await tessera(['purge'])).toMatchObject({ code: 0, out: 'Deleted 0 ended session(s).' });
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } })).status).toBe(200);
  });

  it('db migrate creates the tables of a new database and is safe to run again', async () => {
    const fresh = sqliteBackend();
    try {
      // The first run says which migrations it ran; the second, that there was nothing to do.
      expect(await tessera(['db', 'migrate'], fresh.env)).toMatchObject({
        code: 0,
        out: expect.stringMatching(/^Migrated sqlite:.*\n {2}sessions 0001_sessions\n/),
      });
      expect(await tessera(['db', 'migrate'], fresh.env)).toMatchObject({
        code: 0,
        out: expect.stringMatching(/ is up to date: no migration to run\.$/),
      });
      const db = new Database(fresh.file, { readonly: true });
      const tables = (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((t) => t.name);
      db.close();
      expect(tables).toEqual(expect.arrayContaining(['tessera_users', 'tessera_keys', 'tessera_sessions']));
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('tessera (as a process)', () => {
  const backend = sqliteBackend();
  afterAll(() => backend.cleanup());

  const noStack = (text: string): void => {
    expect(text).not.toMatch(STACK_FRAME);
    expect(text).not.toMatch(/\bat (async )?\w+ \(|node:internal|\.js:\d+/);
  };

  it('answers an unknown command with one sentence and exit code 2', async () => {
    const result = await runCli(['frobnicate'], backend.env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Unknown command "frobnicate"/)]);
  });

  it('refuses bad configuration with exit code 2 and one sentence per problem, naming each variable', async () => {
    const result = await runCli(['serve'], {
      ...backend.env,
      TESSERA_ACCESS_TTL: 'soon',
      TESSERA_PORT: '99999',
      TESSERA_ALG: 'none',
      TESSERA_KEYS_SECRET: 'too-short-to-be-a-secret',
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const name of ['TESSERA_ACCESS_TTL', 'TESSERA_PORT', 'TESSERA_ALG', 'TESSERA_KEYS_SECRET'])
      expect(lines.filter((l) => l.startsWith(`${name} must be `))).toHaveLength(1);
    for (const line of lines) expect(line).toMatch(/^TESSERA_[A-Z_]+ .+\.$/);
    // A secret is never repeated back, even a bad one.
    expect(result.stderr).not.toContain('too-short');
    noStack(result.stderr);
  });

  it('says in one sentence, with exit code 1 and no stack trace, that Postgres cannot be reached', async () => {
    const closed = await freePort();
    const result = await runCli(['serve'], { TESSERA_DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${closed}/test` });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Cannot reach the database .*TESSERA_DATABASE_URL/);
    expect(result.stderr).not.toContain('hunter2');
    noStack(result.stderr);
  });

  it('says which port is taken when serve cannot listen (exit 1)', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const result = await runCli(['serve'], { ...backend.env, TESSERA_PORT: String(port), TESSERA_LOG_LEVEL: 'silent' });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Cannot listen on 127\.0\.0\.1:\d+ .*TESSERA_PORT/)]);
    } finally {
      busy.close();
    }
  });

  it('reads the password of users add from standard input', async () => {
    const name = uniqueName('stdin');
    const added = await runCli(['users', 'add', name], backend.env, { stdin: `${PASSWORD}\n` });
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^Created ${name} `));
    const server = await startServer(backend.env);
    try {
      expect((await login(server.url, name)).access_token).toBeTruthy();
    } finally {
      await server.close();
    }
  });
});

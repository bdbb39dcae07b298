// A command line that tells the truth: every command's --help lists the TESSERA_* variables it reads
// (from the settings table), errors name the variable at fault (a bad TESSERA_HOST no longer blames
// TESSERA_PORT), `db migrate` says what it did, and no command exits 0 without a word.
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, sqliteBackend } from '@tessera/test-kit';
import { main } from '../src/cli.js';
import { NOT_SETTINGS, SETTINGS } from '../src/settings.js';
import { BASE_ENV, runCli } from './support/harness.js';

const COMMANDS = ['serve', 'keys', 'users', 'sessions', 'clients', 'token', 'db', 'purge'] as const;
const SETTING_NAMES = Object.values(SETTINGS).map((s) => s.env);
const known = (name: string): boolean =>
  SETTING_NAMES.includes(name) || NOT_SETTINGS.some((allowed) => (allowed.endsWith('_') ? name.startsWith(allowed) : name === allowed));

async function tessera(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('tessera <command> --help', () => {
  it('lists the TESSERA_* variables each command reads, every one a setting or a known name', async () => {
    for (const command of COMMANDS) {
      const { code, out, err } = await tessera([command, '--help'], {});
      expect(code, command).toBe(0);
      expect(err).toBe('');
      const [usage = '', environment = ''] = out.split(/^Environment\b.*$/m);
      expect(environment, command).not.toBe('');
      const listed = [...environment.matchAll(/^ {2}(TESSERA_[A-Z0-9_]+) /gm)].map((m) => m[1]!);
      expect(listed[0], command).toBe('TESSERA_CONFIG');
      for (const name of listed) expect(known(name), `${command}: ${name}`).toBe(true);
      // Every name the usage mentions is real too.
      for (const [mentioned] of usage.matchAll(/TESSERA_[A-Z0-9_]+/g)) expect(known(mentioned), `${command} mentions ${mentioned}`).toBe(true);
      if (command === 'serve') expect([...listed].sort()).toEqual(['TESSERA_CONFIG', ...SETTING_NAMES].sort());
    }
    const listedBy = async (command: string) => (await tessera([command, '--help'], {})).out;
    expect(await listedBy('db')).toMatch(/^ {2}TESSERA_DATABASE_URL +.*\(default sqlite:\.\/data\/tessera\.db\)$/m);
    expect(await listedBy('users')).toMatch(/^ {2}TESSERA_PASSWORD +/m);
    expect(await listedBy('users')).toMatch(/^ {2}TESSERA_PASSWORD_MIN_LENGTH +/m);
    expect(await listedBy('keys')).toMatch(/^ {2}TESSERA_KEYS_SECRET +/m);
    expect(await listedBy('serve')).toMatch(/^ {2}TESSERA_DRAIN_TIMEOUT +.*\(default 10s\)$/m);
  });
});

describe('errors name the variable at fault', () => {
  const backend = sqliteBackend();
  afterAll(() => backend.cleanup());

  it('blames TESSERA_HOST, not TESSERA_PORT, for an address that is not this host', async () => {
    // 192.0.2.1 (TEST-NET-1) belongs to no interface here: listening on it fails with EADDRNOTAVAIL.
    const result = await runCli(['serve'], { ...backend.env, TESSERA_HOST: '192.0.2.1', TESSERA_PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Cannot listen on 192\.0\.2\.1:\d+ \(EADDRNOTAVAIL\): .*TESSERA_HOST/)]);
    expect(result.stderr).not.toContain('TESSERA_PORT');
  });

  it('refuses a TESSERA_HOST that is no address at all before anything starts (exit 2)', async () => {
    const result = await runCli(['serve'], { ...backend.env, TESSERA_HOST: 'not a host' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^TESSERA_HOST must be /)]);
  });

  it('blames TESSERA_METRICS_PORT when the metrics port is taken', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const result = await runCli(['serve'], {
        ...backend.env,
        TESSERA_LOG_LEVEL: 'silent',
        TESSERA_PORT: String(await freePort()),
        TESSERA_METRICS_PORT: String(port),
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^Cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\).*TESSERA_METRICS_PORT/),
      ]);
    } finally {
      busy.close();
    }
  });
});

describe('every command says what it did', () => {
  const backend = sqliteBackend();
  const env = { ...BASE_ENV, ...backend.env };
  afterAll(() => backend.cleanup());

  it('db migrate names the migrations it ran, then says the database is up to date', async () => {
    const first = await tessera(['db', 'migrate'], env);
    expect(first.code).toBe(0);
    expect(first.err).toBe('');
    expect(first.out).toMatch(/^Migrated sqlite:.*: \d+ migration\(s\) ran:$/m);
    expect(first.out).toMatch(/^ {2}sessions 0001_sessions$/m);
    expect(first.out).toMatch(/^ {2}server 0001_\w+$/m);
    const again = await tessera(['db', 'migrate'], env);
    expect(again).toMatchObject({ code: 0, err: '' });
    expect(again.out).toMatch(/^The database sqlite:.* is up to date: no migration to run\.$/);
  });

  it('never exits 0 silently, even on an empty database', async () => {
    for (const args of [['users', 'list'], ['users', 'list', '--collisions'], ['keys', 'list'], ['purge'], ['db', 'migrate'], ['--help']]) {
      const result = await tessera(args, env);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.out.trim(), args.join(' ')).not.toBe('');
    }
  });

  it('prints its version, and the usage of sessions revoke when --user is missing', async () => {
    const version = await tessera(['--version'], env);
    expect(version).toEqual({ code: 0, out: '0.1.0', err: '' });
    const revoke = await tessera(['sessions', 'revoke'], env);
    expect(revoke.code).toBe(2);
    expect(revoke.err).toMatch(/^Usage: tessera sessions revoke --user NAME/);
  });
});

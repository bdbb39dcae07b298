// The rules of `tessera users import`, as one suite run on SQLite and on Postgres: all or nothing or
// --skip-invalid, re-runs that never change an existing user, collisions with existing users and
// between lines, hostile lines, and the revoked token ids. Hashes are real (python/make_hashes.py);
// hostile ones are real hashes with a parameter raised.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, type Backend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { main } from '../../src/cli.js';
import { BASE_ENV, call, runCli, startServer } from '../support/harness.js';
import { makeHashes } from './python.js';

const PASSWORD = 'imported passphrase 2026';

export function describeImport(name: string, open: () => Promise<Backend>): void {
  describe(`tessera users import (${name})`, () => {
    let backend: Backend;
    let server: TestServer;
    let dir: string;
    let files = 0;
    /** Real hashes of PASSWORD: a fast one for most lines, and one of each family for the hostile edits. */
    let h: { pbkdf2: string; werkzeug: string; scrypt: string; bcrypt: string; argon2: string; djangoArgon2: string };

    beforeAll(async () => {
      backend = await open();
      dir = mkdtempSync(join(tmpdir(), 'tessera-import-rules-'));
      const [pbkdf2, werkzeug, scrypt, bcrypt, argon2, djangoArgon2] = await makeHashes(
        (['passlib-pbkdf2_sha256', 'werkzeug-pbkdf2', 'werkzeug-scrypt', 'passlib-bcrypt-2b', 'argon2-cffi', 'django-argon2'] as const).map(
          (format) => ({
            format,
            password: PASSWORD,
          }),
        ),
      );
      h = {
        pbkdf2: pbkdf2 ?? '',
        werkzeug: werkzeug ?? '',
        scrypt: scrypt ?? '',
        bcrypt: bcrypt ?? '',
        argon2: argon2 ?? '',
        djangoArgon2: djangoArgon2 ?? '',
      };
      server = await startServer(backend.env);
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      await backend?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    /** A file of these lines (objects are written as JSON, strings as they are). */
    const file = (lines: readonly (object | string)[]): string => {
      const path = join(dir, `users-${++files}.jsonl`);
      writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
      return path;
    };
    /** `tessera users import …` in this process (the built CLI is run where the process matters). */
    const tessera = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: { ...BASE_ENV, ...backend.env } });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const user = (username: string) => server.runtime.users.byUsername(username);
    const login = (username: string, password = PASSWORD) =>
      call(server.url, 'POST', '/auth/login', { json: { username, password, transport: 'bearer' } });
    const unique = (() => {
      let n = 0;
      return (stem: string) => `${stem}${++n}x${process.pid}`;
    })();

    it('imports nothing from a file with an invalid line, and the rest with --skip-invalid', async () => {
      const [a, b, c] = [unique('anna'), unique('ben'), unique('cleo')];
      const path = file([
        { username: a, password_hash: h.pbkdf2, legacy_id: 1 },
        { username: b, password_hash: h.werkzeug, legacy_id: '2' },
        { username: 'dora', password_hash: 'md5$abc$0123456789abcdef', legacy_id: 3 },
        { username: c, password_hash: h.scrypt },
      ]);
      const refused = await tessera(['users', 'import', path]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`${path}:3: unknown hash format "md5$" (legacy_hash_unknown_format)`);
      expect(refused.err).toContain('Nothing imported');
      for (const name of [a, b, c]) expect(await user(name)).toBeUndefined();

      const skipped = await tessera(['users', 'import', '--skip-invalid', path]);
      expect(skipped.code).toBe(0);
      expect(skipped.err).toBe(`${path}:3: unknown hash format "md5$" (legacy_hash_unknown_format); skipped`);
      expect(skipped.out).toBe(`Imported 3 user(s) from ${path}; 0 already imported; 1 invalid line(s) skipped.`);
      expect((await user(a))?.legacyId).toBe('1');
      expect((await user(b))?.legacyId).toBe('2');
      expect((await user(c))?.legacyId).toBeNull();
      expect((await login(b)).status).toBe(200);
    });

    it('never changes an existing user on a re-run: an imported legacy_id is skipped as already imported', async () => {
      const name = unique('rerun');
      const first = file([{ username: name, password_hash: h.pbkdf2, legacy_id: 'rerun-1' }]);
      expect((await tessera(['users', 'import', first])).code).toBe(0);
      const before = await user(name);
      // The same line again, and the same id with another name, hash and state: both skipped.
      const again = file([{ username: name, password_hash: h.pbkdf2, legacy_id: 'rerun-1' }]);
      const other = file([
        { username: unique('renamed'), password_hash: h.werkzeug, legacy_id: 'rerun-1', disabled: true },
        { username: unique('newcomer'), password_hash: h.werkzeug, legacy_id: 'rerun-2' },
      ]);
      const rerun = await tessera(['users', 'import', again]);
      expect(rerun.code, rerun.err).toBe(0);
      expect(rerun.out).toBe(`${again}:1: legacy_id "rerun-1" already imported; skipped\nImported 0 user(s) from ${again}; 1 already imported.`);
      const changed = await tessera(['users', 'import', other]);
      expect(changed.code, changed.err).toBe(0);
      expect(changed.out).toBe(`${other}:1: legacy_id "rerun-1" already imported; skipped\nImported 1 user(s) from ${other}; 1 already imported.`);
      // A legacy id twice in one file is refused, naming both lines.
      const twice = file([
        { username: unique('one'), password_hash: h.pbkdf2, legacy_id: 77 },
        { username: unique('two'), password_hash: h.pbkdf2, legacy_id: '77' },
      ]);
      expect((await tessera(['users', 'import', twice])).err).toContain(`${twice}:2: legacy_id "77" is also on line 1 (duplicate_in_file)`);
      expect(await user(name)).toEqual(before);
      // A line without legacy_id cannot be recognised as imported: run again, it is its own earlier import, taken.
      const anonymous = unique('anon');
      const noId = file([{ username: anonymous, password_hash: h.pbkdf2 }]);
      expect((await tessera(['users', 'import', noId])).code).toBe(0);
      const anonymousBefore = await user(anonymous);
      const noIdAgain = await tessera(['users', 'import', noId]);
      expect(noIdAgain.code).toBe(1);
      expect(noIdAgain.err).toContain(`${noId}:1: username ${JSON.stringify(anonymous)} is, or looks like, the existing user`);
      expect(noIdAgain.err).toContain('(username_taken)');
      expect(await user(anonymous)).toEqual(anonymousBefore);
    });

    it('refuses a name that is, or looks like, an existing user, naming both; never attaches the legacy_id to it', async () => {
      const existing = await register(server.url);
      const path = file([
        { username: existing.username.toUpperCase(), password_hash: h.pbkdf2, legacy_id: 'taken-1' },
        { username: unique('fine'), password_hash: h.pbkdf2, legacy_id: 'taken-2' },
      ]);
      const refused = await tessera(['users', 'import', path]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(
        `${path}:1: username ${JSON.stringify(existing.username.toUpperCase())} is, or looks like, the existing user ${JSON.stringify(existing.username)} (username_taken)`,
      );
      const skipped = await tessera(['users', 'import', '--skip-invalid', path]);
      expect(skipped.code).toBe(0);
      expect(skipped.out).toContain('Imported 1 user(s)');
      expect(await server.runtime.users.byLegacyId('taken-1')).toBeUndefined();
      const kept = await user(existing.username);
      expect(kept?.legacyId).toBeNull();
      expect(kept?.passwordHash).toMatch(/^\$argon2id\$/);
      expect((await login(existing.username, PASSWORD)).status).toBe(401); // the imported hash was not merged in
    });

    it('refuses two lines whose names are the same once canonical, naming both lines', async () => {
      const name = unique('Twin');
      const path = file([
        { username: name, password_hash: h.pbkdf2 },
        { username: name.toLowerCase(), password_hash: h.werkzeug },
      ]);
      const refused = await tessera(['users', 'import', path]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(
        `${path}:2: username ${JSON.stringify(name.toLowerCase())} is, or looks like, ${JSON.stringify(name)} on line 1 (duplicate_in_file)`,
      );
      expect(await user(name)).toBeUndefined();
    });

    it('refuses hostile lines with their line numbers, quickly, doing none of their work', async () => {
      const raise = (hash: string, from: RegExp, to: string): string => {
        const raised = hash.replace(from, to);
        expect(raised).not.toBe(hash);
        return raised;
      };
      const lines: (object | string)[] = [
        { username: unique('pbkdf'), password_hash: raise(h.pbkdf2, /^\$pbkdf2-sha256\$\d+\$/, '$pbkdf2-sha256$1000000000$') }, // 10^9 iterations
        { username: unique('werk'), password_hash: raise(h.werkzeug, /^pbkdf2:sha256:\d+\$/, 'pbkdf2:sha256:2000001$') },
        { username: unique('bcr'), password_hash: raise(h.bcrypt, /^\$2b\$\d\d\$/, '$2b$15$') },
        { username: unique('scr'), password_hash: raise(h.scrypt, /^scrypt:\d+:8:1\$/, 'scrypt:262144:8:1$') }, // N·r = 2^21
        { username: unique('arm'), password_hash: raise(h.argon2, /m=\d+/, 'm=262145') },
        { username: unique('art'), password_hash: raise(h.djangoArgon2, /t=\d+/, 't=11') },
        { username: unique('arp'), password_hash: raise(h.argon2, /p=\d+/, 'p=17') },
        `{"username": "${unique('big')}", "password_hash": "${'x'.repeat(1024 * 1024)}"}`, // a 1 MB line
        '{"username": "broken", "password_hash": ', // bad JSON
        { username: unique('nohash') }, // missing field
        { password_hash: h.pbkdf2 },
        { username: unique('extra'), password_hash: h.pbkdf2, email: 'someone@example.com' },
        { username: 'no', password_hash: h.pbkdf2 }, // too short for the username profile
        { username: unique('bigid'), password_hash: h.pbkdf2, legacy_id: 2 ** 60 },
        { username: unique('unusable'), password_hash: '!unusable-django-password' },
        { username: unique('cap'), password_hash: raise(h.pbkdf2, /^\$pbkdf2-sha256\$\d+\$/, '$pbkdf2-sha256$2000000$') }, // at the cap: accepted
      ];
      const path = file(lines);
      const started = Date.now();
      const refused = await tessera(['users', 'import', path]);
      const elapsed = Date.now() - started;
      expect(refused.code).toBe(1);
      const expected: [number, string][] = [
        [1, 'passlib pbkdf2-sha256 hash: iteration count 1000000000 is over the cap of 2000000 (legacy_hash_cost_too_high)'],
        [2, 'Werkzeug pbkdf2 hash: iteration count 2000001 is over the cap of 2000000 (legacy_hash_cost_too_high)'],
        [3, 'bcrypt $2b$ hash: cost 15 is over the cap of 14 (legacy_hash_cost_too_high)'],
        [4, 'Werkzeug scrypt hash: N·r 2097152 is over the cap of 1048576 (legacy_hash_cost_too_high)'],
        [5, 'argon2id hash: m 262145 is over the cap of 262144 (legacy_hash_cost_too_high)'],
        [6, 'Django argon2 hash: t 11 is over the cap of 10 (legacy_hash_cost_too_high)'],
        [7, 'argon2id hash: p 17 is over the cap of 16 (legacy_hash_cost_too_high)'],
        [8, 'the line is longer than 16384 bytes (line_too_long)'],
        [9, 'the line is not JSON (invalid_json)'],
        [10, 'the field "password_hash" is missing (missing_field)'],
        [11, 'the field "username" is missing (missing_field)'],
        [12, 'unknown field(s) "email" (unknown_field)'],
        [13, 'username "no": username must be 3 to 64 letters, digits or . _ @ + - (invalid_username)'],
        [14, '"legacy_id" is a number but not a safe integer: give it as a string (invalid_field)'],
        [15, 'unknown hash format: "!" marks an unusable password, with nothing to verify (legacy_hash_unknown_format)'],
      ];
      expect(refused.err.split('\n').slice(0, -1)).toEqual(expected.map(([line, message]) => `${path}:${line}: ${message}`));
      // None of the refused work was done (10^9 iterations alone would take minutes).
      expect(elapsed).toBeLessThan(10_000);
      // The same file through the built CLI, as a process: the line at the cap is the only one imported.
      const skipped = await runCli(['users', 'import', '--skip-invalid', path], backend.env);
      expect(skipped.code).toBe(0);
      expect(skipped.stdout.trim()).toBe(`Imported 1 user(s) from ${path}; 0 already imported; 15 invalid line(s) skipped.`);
      expect(skipped.stderr.trim().split('\n')).toHaveLength(15);
    });

    it('answers a usage error without a file, and a missing file with one sentence', async () => {
      expect((await tessera(['users', 'import'])).code).toBe(2);
      const missing = await tessera(['users', 'import', join(dir, 'nope.jsonl')]);
      expect(missing.code).toBe(1);
      expect(missing.err).toBe(`Cannot read ${join(dir, 'nope.jsonl')} (ENOENT): nothing imported.`);
    });

    it('loads revoked token ids once (--revoked), refusing a file with a line that is no jti', async () => {
      const jtis = ['2b2f7c1c0c2d4a0e9c0e0f2d7f0b8a51', '6c1a5a1e-3f0b-4c39-9d8e-0b1c2d3e4f50', 'e0c3f1d2a4b5968778695a4b3c2d1e0f'];
      const path = join(dir, 'revoked.txt');
      writeFileSync(path, `${jtis[0]}\r\n\n${jtis[1]}\n${jtis[2]}\n${jtis[0]}\n`);
      const loaded = await tessera(['users', 'import', '--revoked', path]);
      expect(loaded.code, loaded.err).toBe(0);
      expect(loaded.out).toBe(`Loaded 3 revoked token id(s) from ${path}: 3 new, 0 already known.`);
      const again = await tessera(['users', 'import', '--revoked', path]);
      expect(again.out).toBe(`Loaded 3 revoked token id(s) from ${path}: 0 new, 3 already known.`);
      const rows = await server.runtime.database.db.selectFrom('tessera_legacy_revoked').select('jti').orderBy('jti').execute();
      expect(rows.map((r) => r.jti)).toEqual([...jtis].sort());

      // Users and revoked ids in one command, as docs/migration.md runs it.
      const name = unique('both');
      const users = file([{ username: name, password_hash: h.pbkdf2, legacy_id: 'both-1' }]);
      const more = join(dir, 'revoked-more.txt');
      writeFileSync(more, `${jtis[1]}\nb7d1e2f3a4c5\n`);
      const both = await tessera(['users', 'import', users, '--revoked', more]);
      expect(both.code, both.err).toBe(0);
      expect(both.out).toBe(
        `Imported 1 user(s) from ${users}; 0 already imported.\nLoaded 2 revoked token id(s) from ${more}: 1 new, 1 already known.`,
      );
      expect((await user(name))?.legacyId).toBe('both-1');

      const bad = join(dir, 'revoked-bad.txt');
      writeFileSync(bad, 'fresh-jti-1\nnot a jti\n');
      const refused = await tessera(['users', 'import', '--revoked', bad]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`${bad}:2: not a jti: 1 to 255 printable characters without spaces (invalid_jti)`);
      expect(await server.runtime.database.db.selectFrom('tessera_legacy_revoked').select('jti').where('jti', '=', 'fresh-jti-1').execute()).toEqual(
        [],
      );
    });
  });
}

// The SQL store on real SQLite files: the conformance suite, then what only a file can get wrong
// (modes, WAL, durability, a second process writing beside the server).
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { CAPABILITIES } from '../../src/stores/sql/capabilities.js';
import { sessionMigrations } from '../../src/stores/sql/migrations.js';
import { sqliteStore, type SqlSessionStore } from '../../src/stores/sqlite.js';
import { describeSessionStore, session } from '../conformance/session-store.js';

/** Every migration of the store, in order, as its bookkeeping table lists them. */
const ALL_MIGRATIONS = Object.keys(sessionMigrations(undefined, CAPABILITIES.sqlite)).map((name) => ({ name }));

const root = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
const fresh = (): string => join(root, `case-${++files}`, 'data', 'tessera.db');
const mode = (path: string): number => statSync(path).mode & 0o777;
const DAY = 86_400_000;

describeSessionStore('sqlite', async () => {
  const store = sqliteStore({ filename: fresh() });
  await store.migrate();
  return { store, cleanup: () => store.close() };
});

/** A second process on the same file, writing in IMMEDIATE transactions as the CLI's purge would. */
function otherProcess(filename: string, ms: number): { ready: Promise<void>; done: Promise<{ transactions: number; errors: string[] }> } {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 5000 });
    const insert = db.prepare("insert into tessera_sessions (id, user_id, current_jti, rotated_at, expires_at, absolute_expires_at, created_at, last_used_at) values (?, 'cli', 'j', 0, 1, 1, 0, 0)");
    const purge = db.prepare('delete from tessera_sessions where absolute_expires_at <= 1');
    const batch = db.transaction((n) => { for (let i = 0; i < 300; i++) insert.run('cli-' + n + '-' + i); purge.run(); });
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let transactions = 0; const errors = [];
    process.stdout.write('ready\\n');
    const end = Date.now() + Number(process.argv[2]);
    while (Date.now() < end) {
      try { batch.immediate(transactions); transactions++; } catch (e) { errors.push(String(e.code || e.message)); }
      Atomics.wait(pause, 0, 0, 2);
    }
    db.close();
    process.stdout.write(JSON.stringify({ transactions, errors }) + '\\n');
  `;
  const child = spawn(process.execPath, ['-e', script, filename, String(ms)], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let signal: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (signal = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('ready\n')) signal();
  });
  const done = new Promise<{ transactions: number; errors: string[] }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`the second process exited with ${code}`));
      else resolve(JSON.parse(last) as { transactions: number; errors: string[] });
    });
  });
  return { ready, done };
}

/** Writes through the store until `until`; answers how many verbs ran and the error codes seen. */
async function burst(store: SqlSessionStore, until: number): Promise<{ verbs: number; errors: string[] }> {
  let verbs = 0;
  const errors: string[] = [];
  while (Date.now() < until) {
    const s = session();
    try {
      await store.create(s);
      await store.rotate(s.id, s.currentJti, { jti: `n-${s.id}`, rotatedAt: s.rotatedAt + 1, expiresAt: s.expiresAt + 1, now: s.rotatedAt + 1 });
      await store.revoke(s.id, 'logout', s.rotatedAt + 2);
      verbs += 3;
    } catch (error) {
      errors.push(String((error as { code?: string }).code ?? (error as Error).message));
    }
  }
  return { verbs, errors };
}

/**
 * Server and CLI starting at once: processes that open the same new file, then all migrate at
 * the same moment (each waits for a line on stdin). Answers each one's outcome.
 */
async function migrateFromProcesses(filename: string, count: number): Promise<string[]> {
  const entry = fileURLToPath(new URL('../../src/stores/sqlite.ts', import.meta.url));
  const script = `
    import { sqliteStore } from ${JSON.stringify(entry)};
    const store = sqliteStore({ filename: process.argv[1] });
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      try { await store.migrate(); process.stdout.write('ok\\n'); } catch (e) { process.stdout.write('failed: ' + e.message + '\\n'); }
      await store.close();
      process.exit(0);
    });`;
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, filename], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const outputs = children.map(() => '');
  await Promise.all(
    children.map(
      (child, i) =>
        new Promise<void>((resolve, reject) => {
          child.on('error', reject);
          child.stdout.on('data', (chunk: Buffer) => {
            outputs[i] += chunk.toString();
            if (outputs[i]!.includes('ready\n')) resolve();
          });
        }),
    ),
  );
  for (const child of children) child.stdin.write('go\n');
  await Promise.all(children.map((child) => new Promise((resolve) => child.on('close', resolve))));
  return outputs.map((out) => out.replace('ready\n', '').trim());
}

describe('sqliteStore on a file', () => {
  it('creates the directory 0700 and the database, WAL and shm files 0600, even under a lax umask', async () => {
    const previous = process.umask(0o022);
    const filename = fresh();
    let store: SqlSessionStore | undefined;
    try {
      store = sqliteStore({ filename });
      // Before any statement ran: the files exist already, with their final modes.
      expect(mode(join(filename, '..'))).toBe(0o700);
      for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) expect(mode(file)).toBe(0o600);
      await store.migrate();
      await store.create(session());
      for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) expect(mode(file)).toBe(0o600);
    } finally {
      process.umask(previous);
      await store?.close();
    }
  });

  it('puts the database in WAL mode', async () => {
    const filename = fresh();
    const store = sqliteStore({ filename });
    await store.migrate();
    const raw = new Database(filename, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
    await store.close();
  });

  it('keeps sessions across close and reopen, rotations included', async () => {
    const filename = fresh();
    const s = session();
    const first = sqliteStore({ filename });
    await first.migrate();
    await first.create(s);
    const rotated = await first.rotate(s.id, s.currentJti, {
      jti: 'after',
      rotatedAt: s.rotatedAt + 5,
      expiresAt: s.expiresAt + 5,
      now: s.rotatedAt + 5,
    });
    await first.close();
    await expect(first.get(s.id)).rejects.toThrow();

    const second = sqliteStore({ filename });
    await second.migrate();
    expect(rotated.ok).toBe(true);
    expect(await second.get(s.id)).toEqual(rotated.ok ? rotated.session : undefined);
    await second.close();
  });

  it('migrates once: a second migrate, on the same store or a new one, changes nothing', async () => {
    const filename = fresh();
    const store = sqliteStore({ filename });
    await store.migrate();
    const s = session();
    await store.create(s);
    await store.migrate();
    await store.close();
    const again = sqliteStore({ filename });
    await again.migrate();
    expect(await again.get(s.id)).toEqual(s);
    await again.close();

    const raw = new Database(filename, { readonly: true });
    try {
      expect(raw.prepare('select name from tessera_sessions_migrations').all()).toEqual(ALL_MIGRATIONS);
      const indexes = raw
        .prepare("select name from sqlite_master where type = 'index' and tbl_name = 'tessera_sessions' and name like 'tessera_%' order by name")
        .all();
      expect(indexes.map((r) => (r as { name: string }).name)).toEqual([
        'tessera_sessions_absolute_expires_idx',
        'tessera_sessions_revoked_idx',
        'tessera_sessions_user_idx',
      ]);
    } finally {
      raw.close();
    }
  });

  it('migrates safely when several processes start on a new file at the same moment', async () => {
    const filename = fresh();
    expect(await migrateFromProcesses(filename, 3)).toEqual(['ok', 'ok', 'ok']);
    const raw = new Database(filename, { readonly: true });
    try {
      expect(raw.prepare('select name from tessera_sessions_migrations').all()).toEqual(ALL_MIGRATIONS);
    } finally {
      raw.close();
    }
  });

  it('works beside a second process writing to the same file, with no SQLITE_BUSY', async () => {
    const filename = fresh();
    const store = sqliteStore({ filename });
    await store.migrate();
    const other = otherProcess(filename, 1200);
    await other.ready;
    const ours = await burst(store, Date.now() + 900);
    const theirs = await other.done;
    expect(ours.errors).toEqual([]);
    expect(theirs.errors).toEqual([]);
    // Both really wrote during the same second.
    expect(ours.verbs).toBeGreaterThan(30);
    expect(theirs.transactions).toBeGreaterThan(10);
    await store.close();
  });

  it('would get SQLITE_BUSY in that same race without a busy timeout (the race above is real)', async () => {
    const filename = fresh();
    const setup = sqliteStore({ filename });
    await setup.migrate();
    await setup.close();
    const impatient = sqliteStore({ filename, busyTimeout: 0 });
    const other = otherProcess(filename, 1200);
    await other.ready;
    const ours = await burst(impatient, Date.now() + 900);
    await other.done;
    expect(ours.errors).toContain('SQLITE_BUSY');
    await impatient.close();
  });

  it('refuses a missing filename and a bad busy timeout at construction, before touching the disk', async () => {
    expect(() => sqliteStore({ filename: '' })).toThrow(ConfigError);
    const never = join(root, 'never', 'tessera.db');
    expect(() => sqliteStore({ filename: never, busyTimeout: -1 })).toThrow(ConfigError);
    expect(existsSync(join(root, 'never'))).toBe(false);
  });
});

describe('sqliteStore in memory', () => {
  it('runs without files for throwaway use', async () => {
    const store = sqliteStore({ filename: ':memory:' });
    await store.migrate();
    await store.ping();
    const s = session({ absoluteExpiresAt: Date.UTC(2030, 0, 1) + 40 * DAY });
    await store.create(s);
    expect(await store.get(s.id)).toEqual(s);
    await store.close();
    await expect(store.ping()).rejects.toThrow();
  });
});

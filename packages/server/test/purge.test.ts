// The purge as processes run it: the built `tessera purge` beside a served instance whose timer purges the same
// SQLite file, and `tessera db vacuum` on an SQLite file (converting an older one) and on Postgres.
import { metricSample, PG_BASE, postgresUrl, schemaNames, sqliteBackend, waitFor } from '@tessera/test-kit';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, spawnServer } from './support/harness.js';

const backends: { cleanup(): Promise<void> }[] = [];
afterAll(async () => {
  for (const backend of backends) await backend.cleanup();
});

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const NOW = Date.now();
const DAY = 86_400_000;

/** `ended` sessions past their absolute expiry and `live` ones, interleaved; answers the ids of the live ones. */
function seedSessions(file: string, ended: number, live: number): Set<string> {
  const db = new Database(file);
  const insert = db.prepare(
    `insert into tessera_sessions (id, user_id, current_jti, rotated_at, expires_at, absolute_expires_at, created_at, last_used_at)
     values (?, ?, 'jti', ?, ?, ?, ?, ?)`,
  );
  const kept = new Set<string>();
  db.transaction(() => {
    for (let i = 0; i < Math.max(ended, live); i++) {
      if (i < ended) insert.run(`ended-${i}`, `user-${i % 50}`, NOW - 40 * DAY, NOW - 30 * DAY, NOW - DAY, NOW - 40 * DAY, NOW - 40 * DAY);
      if (i < live) {
        insert.run(`live-${i}`, `user-${i % 50}`, NOW, NOW + 7 * DAY, NOW + 30 * DAY, NOW, NOW);
        kept.add(`live-${i}`);
      }
    }
  })();
  db.close();
  return kept;
}

function sessionIds(file: string): Set<string> {
  const db = new Database(file, { readonly: true });
  try {
    return new Set((db.prepare('select id from tessera_sessions').all() as { id: string }[]).map((r) => r.id));
  } finally {
    db.close();
  }
}

const autoVacuum = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.pragma('auto_vacuum', { simple: true }));
  } finally {
    db.close();
  }
};

describe('purge beside a served instance (SQLite file)', () => {
  it("tessera purge and the server's timer purge run at once; both succeed and exactly the live sessions remain", async () => {
    const backend = sqliteBackend();
    backends.push(backend);
    expect((await runCli(['db', 'migrate'], backend.env)).code).toBe(0);
    const live = seedSessions(backend.file, 30_000, 3_000);
    const token = 'purge-metrics-token-0123456789';
    const server = await spawnServer({ ...backend.env, TESSERA_PURGE_INTERVAL: '1s', TESSERA_LOG_LEVEL: 'debug', TESSERA_METRICS_TOKEN: token });
    try {
      const cli = await runCli(['purge'], backend.env);
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      const byCli = Number(/^Deleted (\d+) ended session\(s\)\.$/m.exec(cli.stdout)?.[1]);
      // The server logs every timer purge, also one that found nothing left.
      const lines = (): { deleted: number; batches: number; ms: number; worstBatchMs: number }[] =>
        server
          .output()
          .split('\n')
          .filter((line) => line.includes('"ended sessions purged"'))
          .map((line) => JSON.parse(line) as { deleted: number; batches: number; ms: number; worstBatchMs: number });
      await waitFor('two timer purges', () => lines().length >= 2, 20_000);
      for (const line of lines()) {
        expect(line.batches).toBeGreaterThanOrEqual(1);
        expect(line.ms).toBeGreaterThanOrEqual(line.worstBatchMs);
      }
      // Each ended session went exactly once, by one purge or the other.
      const logged = lines();
      const byServer = logged.reduce((sum, line) => sum + line.deleted, 0);
      expect(byCli + byServer).toBe(30_000);
      // The metrics say the same (later purges find nothing left to add).
      const scrape = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      const sample = (series: string): number => metricSample(scrape, series) ?? Number.NaN;
      expect(sample('tessera_purged_sessions_total')).toBe(byServer);
      expect(sample('tessera_purges_total{result="done"}')).toBeGreaterThanOrEqual(logged.length);
      expect(sample('tessera_purge_last_duration_seconds')).toBeGreaterThanOrEqual(sample('tessera_purge_last_worst_batch_seconds'));
      // Present (NaN when absent); an empty purge's longest batch may round to 0 ms.
      expect(sample('tessera_purge_last_worst_batch_seconds')).toBeGreaterThanOrEqual(0);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toMatch(/purge failed/);
    expect(sessionIds(backend.file)).toEqual(live);
  });
});

describe('tessera db vacuum', () => {
  it('converts an older SQLite file to incremental auto-vacuum, keeping its rows, and says how large it was and is', async () => {
    const backend = sqliteBackend();
    backends.push(backend);
    // A file made before the store chose the mode: a table already in it, auto_vacuum none.
    mkdirSync(dirname(backend.file), { recursive: true, mode: 0o700 });
    const old = new Database(backend.file);
    old.pragma('journal_mode = WAL');
    old.exec('create table app_notes (id integer primary key, note text)');
    old.close();
    expect((await runCli(['db', 'migrate'], backend.env)).code).toBe(0);
    // Opening and migrating never converts it.
    expect(autoVacuum(backend.file)).toBe(0);
    const live = seedSessions(backend.file, 2_000, 500);
    expect((await runCli(['purge'], backend.env)).stdout).toMatch(/^Deleted 2000 ended session\(s\)\.$/m);
    expect(autoVacuum(backend.file)).toBe(0);

    const vacuum = await runCli(['db', 'vacuum'], backend.env);
    expect(vacuum.stderr).toBe('');
    expect(vacuum.code).toBe(0);
    expect(vacuum.stdout).toMatch(/^Vacuumed .*tessera\.db: \d+\.\d MB before, \d+\.\d MB after/m);
    expect(vacuum.stdout).toMatch(/auto_vacuum is now incremental \(it was none\)/);
    expect(autoVacuum(backend.file)).toBe(2);
    expect(sessionIds(backend.file)).toEqual(live);
    // Once converted, a second run only vacuums.
    const again = await runCli(['db', 'vacuum'], backend.env);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/now incremental/);
  });

  it('runs VACUUM (ANALYZE) on Postgres, beside the server, never FULL', async () => {
    const schema = schemaNames('tessera_purge').next();
    await adminQuery(`drop schema if exists "${schema}" cascade; create schema "${schema}"`);
    backends.push({ cleanup: () => adminQuery(`drop schema if exists "${schema}" cascade`) });
    const env = { TESSERA_DATABASE_URL: postgresUrl(schema) };
    expect((await runCli(['db', 'migrate'], env)).code).toBe(0);
    const vacuum = await runCli(['db', 'vacuum'], env);
    expect(vacuum.stderr).toBe('');
    expect(vacuum.code).toBe(0);
    expect(vacuum.stdout).toMatch(/^VACUUM \(ANALYZE\) of \d+ table\(s\) done/);
  });
});

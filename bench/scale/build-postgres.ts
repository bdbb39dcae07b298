// Builds a bench/scale Postgres database in a schema of the run's own: the tables made by the real CLI
// (`tessera db migrate` with that schema on the search_path), one user made by `tessera users add` whose row the
// filler users copy, then users and sessions made by `INSERT … SELECT generate_series`, the same rows
// population.ts describes, and `VACUUM ANALYZE` (as autovacuum would leave a table that old).
import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import { cli } from './build-sqlite.js';
import { LOGIN_USERS, idSql, type Population } from './population.js';

const TEMPLATE_USER = 'scaletemplate';
const DAY = 86_400_000;
/** Rows per statement: progress is visible, and no statement holds a huge snapshot. */
const CHUNK = 1_000_000;
const K = 2654435761;

/** A connection string whose sessions use `schema`. */
export function schemaUrl(base: string, schema: string): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Creates the schema, migrates it through the CLI and fills it; answers the build time in seconds. */
export async function buildPostgres(admin: pg.Client, baseUrl: string, schema: string, p: Population): Promise<number> {
  const started = performance.now();
  await admin.query(`create schema "${schema}"`);
  const env = { TESSERA_DATABASE_URL: schemaUrl(baseUrl, schema) };
  await cli(['db', 'migrate'], env);
  await cli(['users', 'add', TEMPLATE_USER], env);
  await insertUsers(admin, schema, p);
  await insertSessions(admin, schema, p, 'all');
  await admin.query(`vacuum analyze "${schema}".tessera_users`);
  await admin.query(`vacuum analyze "${schema}".tessera_sessions`);
  return (performance.now() - started) / 1000;
}

/** Puts the ended sessions back (those a purge deleted: one that failed may have left them), so the next purge has the same work. */
export async function reinsertEndedPg(admin: pg.Client, schema: string, p: Population): Promise<void> {
  // Nothing deleted (a purge that hit the statement timeout rolled back): nothing to put back.
  const { rows } = await admin.query<{ n: string }>(`select count(*) as n from "${schema}".tessera_sessions`);
  if (Number(rows[0]!.n) >= p.sessions) return;
  await insertSessions(admin, schema, p, 'ended');
  await admin.query(`vacuum analyze "${schema}".tessera_sessions`);
}

async function insertUsers(admin: pg.Client, schema: string, p: Population): Promise<void> {
  const { rows } = await admin.query<{ column_name: string }>(
    `select column_name from information_schema.columns where table_schema = $1 and table_name = 'tessera_users' order by ordinal_position`,
    [schema],
  );
  const own: Record<string, string> = {
    id: idSql(`'u' || g`),
    username: `'scale' || g`,
    username_key: `'scale' || g`,
    // The skeleton only keeps look-alike names apart at sign-up; a unique value stands in for it.
    username_skeleton: `'scale' || g || '-skeleton'`,
  };
  const columns = rows.map((r) => r.column_name);
  await admin.query(
    `insert into "${schema}".tessera_users (${columns.map((c) => `"${c}"`).join(', ')})
     select ${columns.map((c) => own[c] ?? `t."${c}"`).join(', ')}
     from generate_series(0::bigint, $1::bigint) g, (select * from "${schema}".tessera_users where username = $2) t`,
    [p.users + LOGIN_USERS - 1, TEMPLATE_USER],
  );
}

/** The rows of population.ts `sessionAt`, in SQL: kind 0 live, 1 revoked, 2 expired. */
async function insertSessions(admin: pg.Client, schema: string, p: Population, which: 'all' | 'ended'): Promise<void> {
  for (let from = 0; from < p.sessions; from += CHUNK) {
    const to = Math.min(p.sessions, from + CHUNK) - 1;
    await admin.query(
      `insert into "${schema}".tessera_sessions (id, user_id, current_jti, previous_jti, rotated_at, expires_at, absolute_expires_at,
         revoked_at, reason, created_at, last_used_at, user_agent, ip)
       select ${idSql(`'s' || g`)}, ${idSql(`'u' || (g % ${p.users})`)}, ${idSql(`'j' || g`)}, null, rotated,
         case kind when 0 then rotated + ${7 * DAY} when 1 then ${p.now} + ${DAY} else rotated - ${3 * DAY} end,
         case kind when 0 then created + ${30 * DAY} when 1 then ${p.now} + ${10 * DAY} else created + ${30 * DAY} end,
         case kind when 1 then created + ${2 * DAY} end,
         case kind when 1 then 'logout' end,
         created, rotated, 'Mozilla/5.0 (X11; Linux x86_64) bench/scale', '203.0.113.7'
       from (
         select g, kind, created, case kind when 0 then least(${p.now} - 1000, created + jitter) else created + ${DAY} end as rotated
         from (
           select g, jitter, kind,
             case kind when 0 then ${p.now} - (g * ${K}) % ${6 * DAY} - 1000 else ${p.now} - ${40 * DAY} - jitter end as created
           from (
             select g, (g * ${K}) % ${DAY} as jitter, case when g % 2 = 0 then 0 when g % 4 = 1 then 1 else 2 end as kind
             from generate_series($1::bigint, $2::bigint) g
           ) a
         ) b
       ) c
       ${which === 'ended' ? 'where kind <> 0 on conflict (id) do nothing' : ''}`,
      [from, to],
    );
  }
}

/** Bytes of the sessions table with its indexes and TOAST. */
export async function postgresBytes(admin: pg.Client, schema: string): Promise<number> {
  const { rows } = await admin.query<{ bytes: string }>(`select pg_total_relation_size('"${schema}".tessera_sessions') as bytes`);
  return Number(rows[0]!.bytes);
}

// Builds a bench/scale SQLite database: the file made by the real CLI (`tessera db migrate`, so its tables, indexes
// and pragmas are exactly the server's), one user made by `tessera users add` whose row (and password hash) the
// filler users copy, then users and sessions inserted with better-sqlite3 in large transactions.
import { runCli } from '@tessera/test-kit';
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { LOGIN_USERS, PASSWORD, kindOf, sessionAt, userId, userName, type Population } from './population.js';

const TEMPLATE_USER = 'scaletemplate';
const CHUNK = 50_000;

/** Runs the built `tessera` CLI on `databaseUrl`; throws with its output when it fails. */
export async function cli(args: readonly string[], env: Record<string, string>): Promise<string> {
  const result = await runCli(args, { ...env, TESSERA_PASSWORD: PASSWORD });
  if (result.code !== 0) throw new Error(`tessera ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Creates the file through the CLI and fills it; answers the build time in seconds. */
export async function buildSqlite(file: string, p: Population): Promise<number> {
  const started = performance.now();
  const env = { TESSERA_DATABASE_URL: `sqlite:${file}` };
  await cli(['db', 'migrate'], env);
  await cli(['users', 'add', TEMPLATE_USER], env);
  const db = new Database(file, { timeout: 5000 });
  try {
    insertUsers(db, p);
    insertSessions(db, p, () => true);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return (performance.now() - started) / 1000;
}

/** Puts the ended sessions back (those a purge deleted), so the next purge has the same work. */
export function reinsertEnded(file: string, p: Population): void {
  const db = new Database(file, { timeout: 5000 });
  try {
    insertSessions(db, p, (i) => kindOf(i) !== 'live');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** The filler users and the login users: copies of the template row with their own id and names. */
function insertUsers(db: Database.Database, p: Population): void {
  const template = db.prepare('select * from tessera_users where username = ?').get(TEMPLATE_USER) as Record<string, unknown> | undefined;
  if (template === undefined) throw new Error('The template user is missing.');
  const columns = Object.keys(template);
  const insert = db.prepare(
    `insert into tessera_users (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  const total = p.users + LOGIN_USERS;
  for (let from = 0; from < total; from += CHUNK) {
    db.transaction(() => {
      for (let u = from; u < Math.min(total, from + CHUNK); u++) {
        const name = userName(u);
        // The skeleton only keeps look-alike names apart at sign-up; a unique value stands in for it.
        insert.run({ ...template, id: userId(u), username: name, username_key: name, username_skeleton: `${name}-skeleton` });
      }
    })();
  }
}

function insertSessions(db: Database.Database, p: Population, which: (i: number) => boolean): void {
  // `or ignore`: rows a purge left (one that failed or was cut short) stay as they are.
  const insert = db.prepare(
    `insert or ignore into tessera_sessions (id, user_id, current_jti, previous_jti, rotated_at, expires_at, absolute_expires_at, revoked_at, reason,
       created_at, last_used_at, user_agent, ip) values (?, ?, ?, null, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let from = 0; from < p.sessions; from += CHUNK) {
    db.transaction(() => {
      for (let i = from; i < Math.min(p.sessions, from + CHUNK); i++) {
        if (!which(i)) continue;
        const s = sessionAt(p, i);
        insert.run(
          s.id,
          s.userId,
          s.currentJti,
          s.rotatedAt,
          s.expiresAt,
          s.absoluteExpiresAt,
          s.revokedAt,
          s.reason,
          s.createdAt,
          s.lastUsedAt,
          'Mozilla/5.0 (X11; Linux x86_64) bench/scale',
          '203.0.113.7',
        );
      }
    })();
  }
}

/** Bytes on disk of the database and its WAL. */
export function sqliteBytes(file: string): number {
  const size = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return size(file) + size(`${file}-wal`);
}

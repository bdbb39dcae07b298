// Where tests keep state on the shared services: a temporary SQLite file, a Postgres schema and a Redis
// logical database of a test file's own (optionally reached through proxies), and names of this run and
// worker for schemas and key prefixes, so that files running in parallel and reruns never share any.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';

export const PG_BASE = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_PORT = Number(new URL(PG_BASE).port || '5432');
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;
/** This worker (Vitest's pool id; 0 outside Vitest). */
export const WORKER = process.env.VITEST_POOL_ID ?? '0';
/** Distinguishes this run's (this test file's) schemas, prefixes and usernames from any other's. */
export const RUN = randomBytes(4).toString('hex');

let names = 0;
/** A username no other test of this run uses (the username rules allow letters, digits and . _ @ + -). */
export const uniqueName = (stem = 'u'): string => `${stem}${RUN}${++names}`;

/** Postgres schema names of this worker and run: `next()` answers `${stem}_${worker}_${run}_${n}`. */
export function schemaNames(stem: string): { readonly run: string; next(): string } {
  const run = `${stem}_${WORKER}_${RUN}`;
  let n = 0;
  return { run, next: () => `${run}_${++n}` };
}

/** Redis key prefixes of this worker and run: `next()` answers `${stem}:${worker}:${run}:${n}:`, all under `run`. */
export function redisPrefixes(stem: string): { readonly run: string; next(): string } {
  const run = `${stem}:${WORKER}:${randomBytes(6).toString('hex')}:`;
  let n = 0;
  return { run, next: () => `${run}${++n}:` };
}

/** What a connected node-redis client offers for scanning and deleting keys. */
interface RedisKeys {
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  del(keys: string[]): Promise<unknown>;
}

/** The keys under `prefix`. */
export async function keysUnder(client: RedisKeys, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
  return keys;
}

/** Deletes the keys under `prefix`. */
export async function deleteKeysUnder(client: RedisKeys, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length > 0) await client.del(keys);
}

/** Where a test's servers keep their state: the env that points at it, and the clean-up. */
export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly env: Readonly<Record<string, string>>;
  cleanup(): Promise<void>;
}

/** A fresh SQLite database in a temporary directory (the server makes its `data` folder). */
export function sqliteBackend(): Backend & { readonly dir: string; readonly file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const file = join(dir, 'data', 'tessera.db');
  return {
    name: 'sqlite',
    dir,
    file,
    env: { TESSERA_DATABASE_URL: `sqlite:${file}` },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The URL of a schema of its own (pg sends `options` at startup, so unqualified names resolve there);
 * with `port`, on 127.0.0.1:port (a proxy's) instead of the base URL's host.
 */
export function postgresUrl(schema: string, port?: number): string {
  const url = new URL(PG_BASE);
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Runs one statement (or several, `;`-separated) as the admin connection. */
export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Empties one Redis logical database: only ever the one a test file owns. */
export async function flushRedis(db: number): Promise<void> {
  const client = createClient({ url: `${REDIS_URL}/${db}` });
  client.on('error', () => undefined);
  await client.connect();
  await client.flushDb();
  await client.close();
}

/**
 * A Postgres schema and a Redis logical database (`redisDb`, chosen per test file so that files running
 * in parallel never share one), created empty and dropped afterwards. `pgPort`/`redisPort` point the
 * servers at proxies instead of the services.
 */
export async function postgresBackend(
  tag: string,
  redisDb: number,
  ports: { pgPort?: number; redisPort?: number } = {},
): Promise<Backend & { readonly schema: string; readonly redisUrl: string }> {
  const schema = `tessera_${tag}_${WORKER}_${RUN}`;
  await adminQuery(`drop schema if exists "${schema}" cascade; create schema "${schema}"`);
  await flushRedis(redisDb);
  const redisUrl = `redis://127.0.0.1:${ports.redisPort ?? REDIS_PORT}/${redisDb}`;
  return {
    name: 'postgres',
    schema,
    redisUrl,
    // Channels ignore the database number: a prefix of the file's own keeps other files' messages out.
    env: { TESSERA_DATABASE_URL: postgresUrl(schema, ports.pgPort), TESSERA_REDIS_URL: redisUrl, TESSERA_REDIS_PREFIX: `${schema}:` },
    async cleanup() {
      await adminQuery(`drop schema if exists "${schema}" cascade`);
      await flushRedis(redisDb);
    },
  };
}

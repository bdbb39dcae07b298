// A database left at the first migration, with sessions in it, brought up to date on a real SQLite file
// and a real Postgres schema: every session is kept, as the first-party client's and unbound (0002_clients),
// and a refresh token minted before tokens carried `client_id` still rotates, for that client only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { PG_BASE, schemaNames, sign } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTessera, fixedClock, generateKey, generateRefreshKey, TesseraError, type Key, type SessionRecord } from '../../src/index.js';
import { CAPABILITIES } from '../../src/stores/sql/capabilities.js';
import { sessionMigrator } from '../../src/stores/sql/migrations.js';
import type { SqlSessionStore } from '../../src/stores/sql/sql-store.js';
import { SESSIONS_TABLE, toRow, type SessionDatabase } from '../../src/stores/sql/tables.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { session } from '../conformance/session-store.js';

const T0 = Date.UTC(2030, 0, 1);
const root = mkdtempSync(join(tmpdir(), 'tessera-migrations-'));
const schemas: string[] = [];
const newSchema = schemaNames('tessera_mig').next;
let files = 0;

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  const direct = new pg.Client({ connectionString: PG_BASE });
  await direct.connect();
  for (const schema of schemas) await direct.query(`drop schema if exists "${schema}" cascade`);
  await direct.end();
});

let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  [keys, refreshKey] = await Promise.all([generateKey('EdDSA'), generateRefreshKey()]);
});

/** Runs the store's own migrations up to `0001_sessions` only, as a database made before `0002_clients` was. */
async function atFirstVersion(store: SqlSessionStore, schema: string | undefined): Promise<void> {
  // The store's own migrator (which looks at no other schema: files in parallel drop theirs meanwhile).
  const migrator = sessionMigrator(store.db, { schema, capabilities: schema === undefined ? CAPABILITIES.sqlite : CAPABILITIES.postgres });
  const { error } = await migrator.migrateTo('0001_sessions');
  if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));
}

/** Writes a session the way a store of the first version did: without the columns of `0002_clients`. */
async function insertOldRow(store: SqlSessionStore, schema: string | undefined, s: SessionRecord): Promise<void> {
  const db = store.db as unknown as Kysely<SessionDatabase>;
  const old: Record<string, unknown> = { ...toRow(s) };
  delete old.client_id;
  delete old.jkt;
  await (schema === undefined ? db : db.withSchema(schema))
    .insertInto(SESSIONS_TABLE)
    .values(old as ReturnType<typeof toRow>)
    .execute();
}

/** The refresh token a Tessera of the first version minted for `s`: no `client_id`, no `cnf`. */
function oldRefreshToken(s: SessionRecord): string {
  const payload = {
    iss: 'urn:tessera',
    aud: 'urn:tessera',
    sub: s.userId,
    iat: Math.floor(s.rotatedAt / 1000),
    nbf: Math.floor(s.rotatedAt / 1000),
    exp: Math.floor(s.expiresAt / 1000),
    jti: s.currentJti,
    sid: s.id,
    type: 'refresh',
    roles: ['admin'],
  };
  return sign(refreshKey, { alg: refreshKey.alg, typ: 'rt+jwt', kid: refreshKey.kid }, payload);
}

const code = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'accepted',
    (err: unknown) => (err instanceof TesseraError ? err.code : `threw ${String(err)}`),
  );

const cases: { name: string; open: () => { store: SqlSessionStore; schema: string | undefined } }[] = [
  { name: 'sqlite', open: () => ({ store: sqliteStore({ filename: join(root, `case-${++files}`, 'tessera.db') }), schema: undefined }) },
  {
    name: 'postgres',
    open: () => {
      const schema = newSchema();
      schemas.push(schema);
      return { store: postgresStore({ connectionString: PG_BASE, schema }), schema };
    },
  },
];

describe.each(cases)('0002_clients on $name', ({ open }) => {
  it("keeps every session of a database at 0001 as the first-party client's, unbound", async () => {
    const { store, schema } = open();
    onTestFinished(() => store.close());
    await atFirstVersion(store, schema);
    const before = [session({ rotatedAt: T0 }), session({ revokedAt: T0 + 1, reason: 'logout' }), session({ userAgent: null, ip: null })];
    for (const s of before) await insertOldRow(store, schema, s);

    await store.migrate();
    for (const s of before) expect(await store.get(s.id)).toEqual({ ...s, clientId: 'tessera-web', jkt: null });
    // An instance still on the old version during a rolling upgrade writes without the new columns: the default holds.
    const late = session();
    await insertOldRow(store, schema, late);
    expect(await store.get(late.id)).toMatchObject({ clientId: 'tessera-web', jkt: null });
    // And the new columns take what new sessions carry.
    const bound = session({ clientId: 'cli-tool', jkt: 'A'.repeat(43) });
    await store.create(bound);
    expect(await store.get(bound.id)).toEqual(bound);
  });

  it('rotates a refresh token minted before tokens carried client_id, for the first-party client only', async () => {
    const { store, schema } = open();
    onTestFinished(() => store.close());
    await atFirstVersion(store, schema);
    const s = session({ rotatedAt: T0 });
    await insertOldRow(store, schema, s);
    await store.migrate();

    const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0 + 1000), sessions: { store } });
    const token = oldRefreshToken(s);
    expect(auth.verifyRefreshToken(token).client_id).toBeUndefined();
    // Another client is refused before anything rotates: the session stays as it was.
    expect(await code(auth.refresh(token, { clientId: 'cli-tool' }))).toBe('token_invalid');
    expect(await store.get(s.id)).toMatchObject({ currentJti: s.currentJti, revokedAt: null });

    const next = await auth.refresh(token);
    expect(next.refresh.claims).toMatchObject({ client_id: 'tessera-web', roles: ['admin'] });
    expect(next.refresh.claims.cnf).toBeUndefined();
    expect(next.access.claims).toMatchObject({ client_id: 'tessera-web', sid: s.id, roles: ['admin'] });
    expect(await store.get(s.id)).toMatchObject({
      currentJti: next.refresh.claims.jti,
      previousJti: s.currentJti,
      clientId: 'tessera-web',
      jkt: null,
    });
  });
});

// An import racing a registration (Postgres, where a second connection can commit between the import's reads and
// its inserts): the file is rolled back whole and the command says why in a sentence, never a driver message.
import { Readable } from 'node:stream';
import { postgresBackend, type Backend } from '@tessera/test-kit';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { ImportRaceError, importUsers } from '../../src/users/import.js';
import { checkNewUsername } from '../../src/users/username/index.js';
import { makeHashes } from './python.js';

/** Redis logical database of this file (each server test file has its own; this one only clears it). */
const REDIS_DB = 6;

/** Runs `meanwhile` once, right after the import has read which legacy ids and names exist, and before it writes. */
class AfterReads implements KyselyPlugin {
  #results = 0;
  constructor(private readonly meanwhile: () => Promise<void>) {}
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    // The import's first two statements are its reads (legacy ids, then names); the inserts come next.
    if (++this.#results === 2) await this.meanwhile();
    return args.result;
  }
}

describe('tessera users import beside a registration', () => {
  let backend: Backend;
  let database: Database;
  let hash: string;

  beforeAll(async () => {
    backend = await postgresBackend('import_race', REDIS_DB);
    database = await openDatabase(backend.env.TESSERA_DATABASE_URL ?? '');
    [hash = ''] = await makeHashes([{ format: 'passlib-pbkdf2_sha256', password: 'imported passphrase 2026' }]);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    await backend?.cleanup();
  });

  it('rolls the whole file back when a name is taken after the import looked', async () => {
    const taken = checkNewUsername('grace');
    if (!taken.ok) throw new Error('grace is a valid username');
    // Another connection of the pool commits "grace" while the import's transaction is open.
    const register = async (): Promise<void> => {
      await database.db
        .insertInto('tessera_users')
        .values({
          id: 'registered-meanwhile',
          username: taken.key,
          username_key: taken.key,
          username_skeleton: taken.skeleton,
          password_hash: 'x',
          roles: '[]',
          disabled_at: null,
          created_at: 0,
          password_changed_at: 0,
        })
        .execute();
    };
    const lines = [
      { username: 'ada', password_hash: hash, legacy_id: 1 },
      { username: 'grace', password_hash: hash, legacy_id: 2 },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const racing = database.db.withPlugin(new AfterReads(register));
    await expect(importUsers(racing, Readable.from([lines]), { skipInvalid: false, now: Date.now() })).rejects.toBeInstanceOf(ImportRaceError);
    const users = await database.db.selectFrom('tessera_users').select(['id', 'username', 'legacy_id']).execute();
    expect(users).toEqual([{ id: 'registered-meanwhile', username: 'grace', legacy_id: null }]);
  });
});

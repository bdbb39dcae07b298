import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * better-sqlite3 with its prepared statements kept, for Kysely's SQLite dialect, which prepares
 * the SQL text of every query again on each call (about a fifth of a rotation's time). Kysely
 * emits the same text for the same query, so a few dozen statements serve the whole store.
 * Bounded: the least recently used statement goes first.
 */
export function cachingStatements(database: SqliteDatabase, max = 128): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value as string);
      } else {
        statements.delete(sql);
      }
      statements.set(sql, statement);
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}

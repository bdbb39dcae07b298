// Database failures never reach a client as driver codes (docs/architecture.md "Errors"): each is one sentence for the
// log (`databaseProblem`) and 503 `store_unavailable` on the wire (`asRefusal`/`errorAnswer`). Real `pg` errors where
// Postgres can produce them on demand (a refused connection, a statement timeout), the driver's shape otherwise.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort, PG_BASE } from '@tessera/test-kit';
import { databaseProblem } from '../src/db/connect.js';
import { asRefusal, errorAnswer } from '../src/http-errors.js';

const DRIVER_CODES = /ECONNREFUSED|57014|57P01|40001|53300|SQLITE_BUSY|pg_sleep|statement timeout/i;

async function pgError(url: string, sql?: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    if (sql !== undefined) await client.query(sql);
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error('expected the database to fail');
}

/** The wire answer to `err`: 503 store_unavailable, nothing of the driver. */
function expectUnavailable(err: unknown): void {
  const refusal = asRefusal(err);
  expect(refusal?.code).toBe('store_unavailable');
  const answer = errorAnswer(err);
  expect(answer.status).toBe(503);
  expect(answer.body).not.toMatch(DRIVER_CODES);
}

describe('database errors: a sentence in the log, a stable code on the wire', () => {
  it('a refused connection names Postgres, its address and port', async () => {
    const port = await freePort();
    const url = new URL(PG_BASE);
    url.port = String(port);
    const err = await pgError(url.toString());
    expect(databaseProblem(err)).toBe(`Postgres at 127.0.0.1:${port} refused the connection: is it running, and is TESSERA_DATABASE_URL right?`);
    expectUnavailable(err);
  });

  it('a statement past the statement timeout', async () => {
    const err = await pgError(PG_BASE, 'set statement_timeout = 20; select pg_sleep(1)');
    expect((err as { code?: string }).code).toBe('57014');
    expect(databaseProblem(err)).toMatch(/^Postgres cancelled a statement that ran past the statement timeout/);
    expectUnavailable(err);
  });

  it.each([
    ['40001', /serialization failure/],
    ['40P01', /deadlock/],
    ['57P01', /shutting down or starting \(57P01\)/],
    ['53300', /no connection slot left/],
    ['08006', /connection failure \(08006\)/],
    ['SQLITE_BUSY', /SQLite file stayed locked/],
  ])('%s, as the driver throws it, found through the causes', (code, sentence) => {
    const driver = Object.assign(new Error(`driver says ${code}`), { code });
    const wrapped = new Error('The user database did not answer.', { cause: driver });
    expect(databaseProblem(wrapped)).toMatch(sentence);
    expectUnavailable(driver);
  });

  it('pg messages without a code: connect timeout, a connection ended, a client-side query timeout', () => {
    expect(databaseProblem(new Error('Connection terminated due to connection timeout'))).toMatch(/within the connect timeout/);
    expect(databaseProblem(new Error('Connection terminated unexpectedly'))).toMatch(/ended the connection unexpectedly/);
    expect(databaseProblem(new Error('Query read timeout'))).toMatch(/client-side timeout/);
  });

  it('leaves everything else alone: a programming error stays a 500', () => {
    expect(databaseProblem(new TypeError('x is not a function'))).toBeUndefined();
    expect(asRefusal(new TypeError('x is not a function'))).toBeUndefined();
  });
});

import { CompiledQuery, type Compilable, type Kysely } from 'kysely';
import { markHot } from './hot-statements.js';

/** Marks a named value while the query is compiled; never reaches a database. */
const MARK = '\u0000tessera-param:';

/**
 * A query that Kysely builds and compiles once, at construction, and that then runs with new
 * values: the hot verbs (rotate, get) pay for neither on every call. The values are marked by name
 * while compiling, so their positions in the SQL come from Kysely itself, whatever the dialect. Its
 * text is marked hot, so a driver that can (Postgres) keeps it prepared on each connection: list the
 * columns rather than `*`, whose meaning a migration changes under a prepared statement.
 * @example const byId = prepareQuery<{ id: string }, Row>(db, (p) => db.selectFrom('t').select(['id', 'name']).where('id', '=', p.id));
 */
export function prepareQuery<Params extends object, Row>(
  db: Kysely<unknown>,
  build: (params: Params) => Compilable<Row>,
): (values: Params) => Promise<Row[]> {
  const markers = new Proxy({} as Params, { get: (_, name) => MARK + String(name) });
  const { sql, parameters } = build(markers).compile();
  markHot(sql);
  // A slot holds the name of a marked value, or undefined for a constant that Kysely put there itself.
  const slots = parameters.map((value) => (typeof value === 'string' && value.startsWith(MARK) ? value.slice(MARK.length) : undefined));
  return async (values) => {
    const bound = parameters.map((constant, i) => {
      const name = slots[i];
      if (name === undefined) return constant;
      const value = (values as Record<string, unknown>)[name];
      if (value === undefined) throw new TypeError(`The prepared query needs a value for ${name}.`);
      return value;
    });
    const result = await db.executeQuery<Row>(CompiledQuery.raw(sql, bound));
    return result.rows;
  };
}

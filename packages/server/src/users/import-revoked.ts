// `tessera users import --revoked FILE`: the ids (`jti`) of tokens the replaced stack had revoked
// (simplejwt's blacklist, a Flask app's blocklist), one a line, so that they are never exchanged
// (docs/migration.md). Loading the same file again adds nothing: it can be re-run until the cut-over.
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import { textLines } from './json-lines.js';

/** A jti is an opaque printable string (simplejwt and flask-jwt-extended write UUIDs). */
const JTI = /^[\x21-\x7e]{1,255}$/;
const MAX_LINE_BYTES = 1024;
const BATCH = 1000;

export interface RevokedProblem {
  readonly line: number;
  readonly code: 'line_too_long' | 'not_utf8' | 'invalid_jti';
  readonly message: string;
}

export interface RevokedReport {
  /** False when problems refused the file (without `skipInvalid`): nothing was written. */
  readonly committed: boolean;
  /** Ids new to the table. */
  readonly added: number;
  /** Ids read (after refusals), new or already known. */
  readonly read: number;
  readonly problems: readonly RevokedProblem[];
}

export async function importRevoked(
  db: Kysely<ServerDatabase>,
  source: AsyncIterable<Buffer | string>,
  options: { skipInvalid: boolean },
): Promise<RevokedReport> {
  const problems: RevokedProblem[] = [];
  const ids = new Set<string>();
  for await (const line of textLines(source, MAX_LINE_BYTES)) {
    if ('problem' in line)
      problems.push({
        line: line.number,
        code: line.problem,
        message: line.problem === 'not_utf8' ? 'the line is not UTF-8' : 'the line is too long for a jti',
      });
    else if (JTI.test(line.text.trim())) ids.add(line.text.trim());
    else problems.push({ line: line.number, code: 'invalid_jti', message: 'not a jti: 1 to 255 printable characters without spaces' });
  }
  if (problems.length > 0 && !options.skipInvalid) return { committed: false, added: 0, read: ids.size, problems };
  const all = [...ids];
  const added = await db.transaction().execute(async (trx) => {
    let count = 0;
    for (let i = 0; i < all.length; i += BATCH) {
      const rows = await trx
        .insertInto('tessera_legacy_revoked')
        .values(all.slice(i, i + BATCH).map((jti) => ({ jti, revoked_at: null })))
        .onConflict((c) => c.column('jti').doNothing())
        .returning('jti')
        .execute();
      count += rows.length;
    }
    return count;
  });
  return { committed: true, added, read: all.length, problems };
}

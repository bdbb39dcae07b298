// `tessera users import FILE`: accounts from the stack Tessera replaces, one JSON object a line
// ({"username", "password_hash", "legacy_id"?, "disabled"?}), their hashes kept as the source made
// them until each user's first login (hasher.ts). Every line is checked first; the rows go in one
// transaction, so a refused file imports nothing, unless `skipInvalid` leaves out the refused lines.
// A run never changes an existing account: a legacy id imported before is skipped, and a name that
// is (or looks like) an existing user's or another line's is refused, never merged.
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import { textLines } from './json-lines.js';
import { LegacyHashError, parseLegacyHash, type LegacyHashProblem } from './legacy-hashes/index.js';
import { checkNewUsername } from './username/index.js';

/** Longest line read: a user is a few hundred bytes. */
export const MAX_LINE_BYTES = 16 * 1024;
/** Longest legacy id, as text (a primary key, a UUID, a `sub`). */
const MAX_LEGACY_ID = 255;
/** Rows per insert and ids per lookup: under both databases' bound-parameter limits. */
const BATCH = 500;
const FIELDS = new Set(['username', 'password_hash', 'legacy_id', 'disabled']);

export type ImportProblemCode =
  | 'line_too_long'
  | 'not_utf8'
  | 'invalid_json'
  | 'missing_field'
  | 'unknown_field'
  | 'invalid_field'
  | 'invalid_username'
  /** The name, or one that looks like it, is another line's, or the legacy id is. */
  | 'duplicate_in_file'
  /** The name, or one that looks like it, is an existing user's. */
  | 'username_taken'
  | LegacyHashProblem;

export interface ImportProblem {
  readonly line: number;
  readonly code: ImportProblemCode;
  /** One sentence; names the field, never the hash. */
  readonly message: string;
}

export interface ImportReport {
  /** False when problems refused the whole file (without `skipInvalid`): nothing was written. */
  readonly committed: boolean;
  readonly imported: number;
  readonly alreadyImported: readonly { readonly line: number; readonly legacyId: string }[];
  readonly problems: readonly ImportProblem[];
}

interface Candidate {
  readonly line: number;
  /** As written in the file, for messages. */
  readonly name: string;
  readonly key: string;
  readonly skeleton: string;
  readonly passwordHash: string;
  readonly legacyId: string | null;
  readonly disabled: boolean;
}

class LineProblem extends Error {
  constructor(
    readonly code: ImportProblemCode,
    message: string,
  ) {
    super(message);
  }
}

/** Reads, checks and (unless refused) imports the users of `source`. */
export async function importUsers(
  db: Kysely<ServerDatabase>,
  source: AsyncIterable<Buffer | string>,
  options: { skipInvalid: boolean; now: number },
): Promise<ImportReport> {
  const problems: ImportProblem[] = [];
  const candidates: Candidate[] = [];
  const bySkeleton = new Map<string, Candidate>();
  const byLegacyId = new Map<string, Candidate>();
  for await (const line of textLines(source, MAX_LINE_BYTES)) {
    if ('problem' in line) {
      problems.push({
        line: line.number,
        code: line.problem,
        message: line.problem === 'not_utf8' ? 'the line is not UTF-8' : `the line is longer than ${MAX_LINE_BYTES} bytes`,
      });
      continue;
    }
    try {
      const candidate = parseLine(line.number, line.text);
      const sameName = bySkeleton.get(candidate.skeleton);
      if (sameName !== undefined)
        throw new LineProblem(
          'duplicate_in_file',
          `username ${JSON.stringify(candidate.name)} is, or looks like, ${JSON.stringify(sameName.name)} on line ${sameName.line}`,
        );
      const sameId = candidate.legacyId === null ? undefined : byLegacyId.get(candidate.legacyId);
      if (sameId !== undefined)
        throw new LineProblem('duplicate_in_file', `legacy_id ${JSON.stringify(candidate.legacyId)} is also on line ${sameId.line}`);
      bySkeleton.set(candidate.skeleton, candidate);
      if (candidate.legacyId !== null) byLegacyId.set(candidate.legacyId, candidate);
      candidates.push(candidate);
    } catch (err) {
      if (err instanceof LineProblem || err instanceof LegacyHashError) problems.push({ line: line.number, code: err.code, message: err.message });
      else throw err;
    }
  }
  return db.transaction().execute(async (trx) => {
    const alreadyImported: { line: number; legacyId: string }[] = [];
    const existingIds = await existing(trx, 'legacy_id', [...byLegacyId.keys()]);
    const existingNames = await existing(
      trx,
      'username_skeleton',
      candidates.map((c) => c.skeleton),
    );
    const rows: Candidate[] = [];
    for (const candidate of candidates) {
      if (candidate.legacyId !== null && existingIds.has(candidate.legacyId)) {
        alreadyImported.push({ line: candidate.line, legacyId: candidate.legacyId });
        continue;
      }
      const taken = existingNames.get(candidate.skeleton);
      if (taken !== undefined) {
        problems.push({
          line: candidate.line,
          code: 'username_taken',
          message: `username ${JSON.stringify(candidate.name)} is, or looks like, the existing user ${JSON.stringify(taken)}`,
        });
        continue;
      }
      rows.push(candidate);
    }
    problems.sort((a, b) => a.line - b.line);
    if (problems.length > 0 && !options.skipInvalid) return { committed: false, imported: 0, alreadyImported, problems };
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      // A name or legacy_id taken after the reads above (a registration meanwhile) must not surface as a driver
      // error: the conflict skips the row, the count shows it, and throwing rolls the whole file back.
      const inserted = await trx
        .insertInto('tessera_users')
        .values(
          batch.map((c) => ({
            id: randomBytes(12).toString('base64url'),
            username: c.key,
            username_key: c.key,
            username_skeleton: c.skeleton,
            password_hash: c.passwordHash,
            roles: '[]',
            disabled_at: c.disabled ? options.now : null,
            created_at: options.now,
            password_changed_at: options.now,
            legacy_id: c.legacyId,
          })),
        )
        .onConflict((c) => c.doNothing())
        .returning('id')
        .execute();
      if (inserted.length !== batch.length) throw new ImportRaceError();
    }
    return { committed: true, imported: rows.length, alreadyImported, problems };
  });
}

/** Another writer took a name or legacy_id of the file while it was imported: nothing was written. */
export class ImportRaceError extends Error {
  constructor() {
    super('A user with one of these names or legacy ids was created while the import ran, so nothing was imported: run the import again.');
    this.name = 'ImportRaceError';
  }
}

/** One line's user, or a LineProblem / LegacyHashError saying why not. */
function parseLine(number: number, text: string): Candidate {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LineProblem('invalid_json', 'the line is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new LineProblem('invalid_json', 'the line is not a JSON object');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !FIELDS.has(name));
  if (unknown.length > 0) throw new LineProblem('unknown_field', `unknown field(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  for (const name of ['username', 'password_hash'])
    if (fields[name] === undefined || fields[name] === null) throw new LineProblem('missing_field', `the field "${name}" is missing`);
  if (typeof fields.username !== 'string') throw new LineProblem('invalid_field', '"username" is not a string');
  if (typeof fields.password_hash !== 'string') throw new LineProblem('invalid_field', '"password_hash" is not a string');
  if (fields.disabled !== undefined && typeof fields.disabled !== 'boolean')
    throw new LineProblem('invalid_field', '"disabled" is not true or false');
  const name = checkNewUsername(fields.username);
  if (!name.ok) throw new LineProblem('invalid_username', `username ${JSON.stringify(fields.username.slice(0, 80))}: ${name.problem}`);
  parseLegacyHash(fields.password_hash);
  return {
    line: number,
    name: fields.username,
    key: name.key,
    skeleton: name.skeleton,
    passwordHash: fields.password_hash,
    legacyId: legacyId(fields.legacy_id),
    disabled: fields.disabled === true,
  };
}

/** The source's id as text (42 and "42" are one id); integers beyond 2^53 must come as strings, since JSON numbers lose them. */
function legacyId(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new LineProblem('invalid_field', '"legacy_id" is a number but not a safe integer: give it as a string');
    return String(value);
  }
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (typeof value !== 'string' || value === '' || value.length > MAX_LEGACY_ID || /[\u0000-\u001f\u007f]/.test(value))
    throw new LineProblem('invalid_field', `"legacy_id" is not a number or a string of 1 to ${MAX_LEGACY_ID} printable characters`);
  return value;
}

/** Which of `values` rows already have in `column`, mapped to that row's username. */
async function existing(
  trx: Transaction<ServerDatabase>,
  column: 'legacy_id' | 'username_skeleton',
  values: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < values.length; i += BATCH) {
    const rows = await trx
      .selectFrom('tessera_users')
      .select(['username', column])
      .where(column, 'in', values.slice(i, i + BATCH))
      .execute();
    for (const row of rows) {
      const value = (row as Record<string, string | null>)[column];
      if (value !== null && value !== undefined) found.set(value, row.username);
    }
  }
  return found;
}

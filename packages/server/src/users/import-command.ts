// `tessera users import [--skip-invalid] FILE` and `tessera users import --revoked FILE [--skip-invalid]`:
// the reports of import.ts and import-revoked.ts as lines, and an exit code (2 usage, 1 refused or unreadable).
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import { importRevoked } from './import-revoked.js';
import { ImportRaceError, importUsers } from './import.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function importCommand(args: readonly string[], db: Kysely<ServerDatabase>, io: Io, usage: () => number): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { revoked: { type: 'string' }, 'skip-invalid': { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch {
    return usage();
  }
  const { values, positionals } = parsed;
  const skipInvalid = values['skip-invalid'] === true;
  if (positionals.length > 1 || (positionals.length === 0 && values.revoked === undefined)) return usage();
  let code = 0;
  try {
    const file = positionals[0];
    if (file !== undefined) code = await users(db, file, skipInvalid, io);
    if (values.revoked !== undefined && code === 0) code = await revoked(db, values.revoked, skipInvalid, io);
  } catch (err) {
    if (err instanceof ImportRaceError) {
      io.err(err.message);
      return 1;
    }
    const { code: errno } = err as NodeJS.ErrnoException;
    if (errno === 'ENOENT' || errno === 'EACCES' || errno === 'EISDIR') {
      io.err(`Cannot read ${(err as NodeJS.ErrnoException).path ?? 'the file'} (${errno}): nothing imported.`);
      return 1;
    }
    throw err;
  }
  return code;
}

async function users(db: Kysely<ServerDatabase>, file: string, skipInvalid: boolean, io: Io): Promise<number> {
  const report = await importUsers(db, createReadStream(file), { skipInvalid, now: Date.now() });
  for (const p of report.problems) io.err(`${file}:${p.line}: ${p.message} (${p.code})${report.committed ? '; skipped' : ''}`);
  for (const a of report.alreadyImported) io.out(`${file}:${a.line}: legacy_id ${JSON.stringify(a.legacyId)} already imported; skipped`);
  if (!report.committed) {
    io.err(
      `Nothing imported from ${file}: ${report.problems.length} line(s) refused. Fix them, or run again with --skip-invalid to import the other lines.`,
    );
    return 1;
  }
  io.out(
    `Imported ${report.imported} user(s) from ${file}; ${report.alreadyImported.length} already imported` +
      (report.problems.length > 0 ? `; ${report.problems.length} invalid line(s) skipped.` : '.'),
  );
  return 0;
}

async function revoked(db: Kysely<ServerDatabase>, file: string, skipInvalid: boolean, io: Io): Promise<number> {
  const report = await importRevoked(db, createReadStream(file), { skipInvalid });
  for (const p of report.problems) io.err(`${file}:${p.line}: ${p.message} (${p.code})${report.committed ? '; skipped' : ''}`);
  if (!report.committed) {
    io.err(`Nothing loaded from ${file}: ${report.problems.length} line(s) refused. Fix them, or run again with --skip-invalid.`);
    return 1;
  }
  io.out(`Loaded ${report.read} revoked token id(s) from ${file}: ${report.added} new, ${report.read - report.added} already known.`);
  return 0;
}

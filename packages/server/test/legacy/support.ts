// What the cut-over suites share: tokens made by the replaced stacks' own code (make_tokens.py under
// Debian's /usr/bin/python3, which has Django, simplejwt and PyJWT), the export command and revoked-token
// query of docs/migration.md, and imported users seeded with their legacy_id where no export runs.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../../src/db/schema.js';
import type { Runtime } from '../../src/runtime.js';
import { checkNewUsername } from '../../src/users/username/index.js';

/** Debian's interpreter: the `python3` on the PATH lacks Django and simplejwt. */
const PYTHON = '/usr/bin/python3';
const HELPER = join(import.meta.dirname, 'make_tokens.py');
const MIGRATION_DOC = join(import.meta.dirname, '..', '..', '..', '..', 'docs', 'migration.md');

export type LegacyFormatName = 'simplejwt' | 'flask-jwt-extended' | 'authx';
export type Variant = 'plain' | 'expired' | 'no_jti' | 'alg_none' | 'alg_hs512' | 'wrong_key' | 'blacklisted';

export interface TokenSpec {
  name: string;
  format: LegacyFormatName;
  /** The user's key in the old stack: an integer for Django, a string for `sub`. */
  user: number | string;
  kind: 'access' | 'refresh';
  variant?: Variant;
}

/** A secret as an old stack would have it: plain text, 50 characters like Django's SECRET_KEY. */
export function legacySecret(): string {
  return `django-insecure-${randomBytes(25).toString('hex').slice(0, 34)}`;
}

/** What make_tokens.py is asked for besides tokens: the documented queries to run, and the Django users' state. */
export interface DjangoSide {
  /** The revoked-token query of docs/migration.md. */
  revokedSql?: string;
  /** The management command of docs/migration.md. */
  exportCommand?: string;
  /** Django users given a real password hash (the others have none). */
  withPassword?: readonly number[];
  /** Django users with is_active False. */
  inactive?: readonly number[];
}

/** A user line as the documented export writes it. */
export interface ExportedUser {
  username: string;
  password_hash: string;
  legacy_id: string;
  disabled: boolean;
}

/** Runs make_tokens.py once: the tokens by name, the jtis the documented query found revoked, the users the documented command exported. */
export function makeTokens(
  secret: string,
  specs: readonly TokenSpec[],
  django: DjangoSide = {},
): Promise<{ tokens: Record<string, string>; revoked: string[]; exported: ExportedUser[] }> {
  const request = {
    secret,
    tokens: specs,
    revoked_sql: django.revokedSql,
    export_command: django.exportCommand,
    with_password: django.withPassword ?? [],
    inactive: django.inactive ?? [],
  };
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [HELPER], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`make_tokens.py failed: ${String(error)}\n${stderr}`));
      else resolve(JSON.parse(stdout) as { tokens: Record<string, string>; revoked: string[]; exported: ExportedUser[] });
    });
    child.stdin?.end(JSON.stringify(request));
  });
}

/** The first fence of `lang` in docs/migration.md that contains `marker`: the tests run what the guide tells operators to run. */
function documented(lang: string, marker: string): string {
  const doc = readFileSync(MIGRATION_DOC, 'utf8');
  const fences = [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');
  const found = fences.find((text) => text.includes(marker));
  if (found === undefined) throw new Error(`docs/migration.md has no \`\`\`${lang} fence with ${marker}`);
  return found;
}

/** The query of docs/migration.md that reads simplejwt's blacklist. */
export function documentedRevokedSql(): string {
  return documented('sql', 'token_blacklist_blacklistedtoken').trim().replace(/;\s*$/, '');
}

/** The Django management command of docs/migration.md that exports the users. */
export function documentedExportCommand(): string {
  return documented('python', 'class Command(BaseCommand)');
}

/** An imported user: a Tessera account whose legacy_id is the old key as text, credential version 0. */
export async function seedImported(
  runtime: Runtime,
  legacyId: string | number,
  options: { disabled?: boolean; username?: string } = {},
): Promise<string> {
  const name = checkNewUsername(options.username ?? `legacy-${String(legacyId)}-${randomBytes(3).toString('hex')}`);
  if (!name.ok) throw new Error(name.problem);
  const user = await runtime.users.create({ username: name, passwordHash: 'not-a-hash', now: Date.now() });
  if (user === undefined) throw new Error('seed user not created');
  await db(runtime)
    .updateTable('tessera_users')
    .set({ legacy_id: String(legacyId), ...(options.disabled === true ? { disabled_at: Date.now() } : {}) })
    .where('id', '=', user.id)
    .execute();
  return user.id;
}

export function db(runtime: Runtime): Kysely<ServerDatabase> {
  return runtime.database.db;
}

/** An ISO date `days` from now (midnight UTC). */
export function isoDaysAhead(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

// A damaged row in the keys table (docs/architecture.md "Keys"): `tessera serve`, run as a process, stops with one
// sentence naming the key and the way out, never a parser's message or a stack trace; the way out it names
// (`tessera keys revoke <kid>`) works on that database, and the server then starts. Needs the built CLI.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, sqliteBackend, STACK_FRAME, STACK_TRACE } from '@tessera/test-kit';
import { runCli, spawnServer } from './support/harness.js';

const SECRET = Buffer.alloc(32, 3).toString('base64url');
const OTHER_SECRET = Buffer.alloc(32, 4).toString('base64url');

interface Row {
  kid: string;
  purpose: string;
  status: string;
  private_jwk: string;
}

const backends: ReturnType<typeof sqliteBackend>[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.cleanup()));
});

/** A fresh SQLite database whose keys exist (`tessera keys list` creates them), and its settings. */
async function databaseWithKeys(extra: Record<string, string> = {}): Promise<{ env: Record<string, string>; file: string }> {
  const backend = sqliteBackend();
  backends.push(backend);
  const env = { ...backend.env, ...extra };
  const listed = await runCli(['keys', 'list'], env);
  expect(listed.code, listed.stderr).toBe(0);
  return { env, file: backend.file };
}

function currentKey(file: string, purpose: 'access' | 'refresh'): Row {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("select kid, purpose, status, private_jwk from tessera_keys where purpose = ? and status = 'current'").get(purpose) as Row;
  } finally {
    db.close();
  }
}

function overwrite(file: string, kid: string, privateJwk: string): void {
  const db = new Database(file);
  try {
    db.prepare('update tessera_keys set private_jwk = ? where kid = ?').run(privateJwk, kid);
  } finally {
    db.close();
  }
}

/** `tessera serve` as a process: it must stop at once, with exactly `sentence` on stderr. */
async function expectStartRefused(env: Record<string, string>, sentence: string): Promise<void> {
  const result = await runCli(['serve'], { ...env, TESSERA_PORT: String(await freePort()) });
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toBe(sentence);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr).not.toMatch(STACK_TRACE);
  expect(result.stderr).not.toMatch(/JSON at position|Unexpected token|SyntaxError/);
}

/** The sentence for a row that cannot be read, as the operator reads it. */
const unreadable = (kid: string, reason: string): string =>
  `Key ${kid} in the keys table cannot be read (${reason}): restore it from a backup, or withdraw it with \`tessera keys revoke ${kid}\` and restart.`;

/** The way out the sentence names: revoke the key, then the server starts and answers. */
async function revokeAndStart(env: Record<string, string>, kid: string): Promise<void> {
  const revoked = await runCli(['keys', 'revoke', kid], env);
  expect(revoked.stderr).toBe('');
  expect(revoked.code).toBe(0);
  const server = await spawnServer(env);
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  } finally {
    expect(await server.stop(5000)).toBe(0);
  }
}

describe('a damaged key row stops `tessera serve` with one sentence naming the key', () => {
  it('the current access key is not JSON: exit 1, the kid and `tessera keys revoke <kid>`; revoking it lets the server start', async () => {
    const { env, file } = await databaseWithKeys();
    const { kid, private_jwk } = currentKey(file, 'access');
    overwrite(file, kid, private_jwk.slice(0, 40));
    await expectStartRefused(env, unreadable(kid, 'its private key is not valid JSON'));
    await revokeAndStart(env, kid);
  });

  it('the refresh key is JSON but no key: the same sentence, saying so', async () => {
    const { env, file } = await databaseWithKeys();
    const { kid } = currentKey(file, 'refresh');
    overwrite(file, kid, '{"kty":"oct"}');
    await expectStartRefused(env, unreadable(kid, 'its private key is not a usable HS256 key'));
    await revokeAndStart(env, kid);
  });

  it('a sealed row that no longer decrypts while the others do: the row is named as damaged, not the secret', async () => {
    const { env, file } = await databaseWithKeys({ TESSERA_KEYS_SECRET: SECRET });
    const { kid, private_jwk } = currentKey(file, 'access');
    expect(private_jwk).toMatch(/^sealed:v1:/);
    // One character of the ciphertext changed: the GCM tag fails.
    const flipped = private_jwk.slice(0, -2) + (private_jwk.at(-2) === 'A' ? 'B' : 'A') + private_jwk.slice(-1);
    overwrite(file, kid, flipped);
    await expectStartRefused(env, unreadable(kid, 'it does not decrypt, though other keys do with TESSERA_KEYS_SECRET'));
    await revokeAndStart(env, kid);
  });

  it('a wrong TESSERA_KEYS_SECRET is still named as the secret, not as a damaged row', async () => {
    const { env, file } = await databaseWithKeys({ TESSERA_KEYS_SECRET: SECRET });
    const result = await runCli(['serve'], { ...env, TESSERA_KEYS_SECRET: OTHER_SECRET, TESSERA_PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^Key \S+ could not be decrypted: TESSERA_KEYS_SECRET is not the secret it was sealed with\.$/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    // Nothing was changed by the refused start: the right secret still opens every key.
    expect(currentKey(file, 'access').private_jwk).toMatch(/^sealed:v1:/);
    const server = await spawnServer(env);
    expect(await server.stop(5000)).toBe(0);
  });
});

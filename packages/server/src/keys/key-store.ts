// Signing keys kept in the database (docs/architecture.md "Keys"): generated on first start with one winner
// under a unique index, staged rotation (a `next` key is published before it signs), retired keys
// kept until the tokens they signed have expired, and revocation that withdraws a key at once.
import { randomBytes } from 'node:crypto';
import { createKeyRing, exportPrivateJwk, generateKey, generateRefreshKey, importKey, type Algorithm, type Key, type KeyRing } from '@tessera/auth';
import type { Kysely } from 'kysely';
import { ms, type ServerDatabase } from '../db/schema.js';
import type { ServerConfig } from '../settings.js';
import { seal, sealingKey, unseal } from './sealing.js';

export type KeyStatus = 'next' | 'current' | 'retired' | 'revoked';

export interface KeyInfo {
  readonly kid: string;
  readonly alg: string;
  readonly purpose: 'access' | 'refresh';
  readonly status: KeyStatus;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
  readonly expiresAt: number | null;
}

export interface LoadedKeys {
  readonly access: { readonly signing: Key; readonly verifyOnly: readonly Key[] };
  /** The refresh-token keys: the current one signs; a withdrawn one is simply absent. */
  readonly refresh: { readonly signing: Key; readonly verifyOnly: readonly Key[] };
  /** Changes whenever any key row changes: instances compare it to know when to reload. */
  readonly fingerprint: string;
}

export interface KeyStoreOptions {
  alg: Algorithm;
  /** HS256 access tokens: the shared secret from TESSERA_SECRET (not stored). */
  secret: string | undefined;
  sealing: Buffer | undefined;
  /** Seconds a retired access key keeps verifying: the access lifetime plus the leeway. */
  retireFor: number;
}

/** The KeyStore options a configuration implies. */
export function keyStoreOptions(config: ServerConfig): KeyStoreOptions {
  return { alg: config.alg, secret: config.secret, sealing: sealingKey(config.keysSecret), retireFor: config.accessTtl + config.leeway };
}

export class KeyStore {
  readonly #db: Kysely<ServerDatabase>;
  readonly #options: KeyStoreOptions;

  constructor(db: Kysely<ServerDatabase>, options: KeyStoreOptions) {
    this.#db = db;
    this.#options = options;
  }

  /** Makes sure a current access key (unless HS256 uses the shared secret) and a refresh key exist. */
  async ensure(now: number): Promise<void> {
    if (this.#options.secret === undefined) await this.#ensureCurrent('access', now);
    await this.#ensureCurrent('refresh', now);
  }

  /** Reads the live keys into the shapes Tessera takes. */
  async load(now: number): Promise<LoadedKeys> {
    const rows = await this.#db.selectFrom('tessera_keys').selectAll().where('status', 'in', ['next', 'current', 'retired']).execute();
    const live = rows.filter((r) => r.status !== 'retired' || (ms(r.expires_at) ?? 0) > now);
    const toKey = (row: (typeof rows)[number]): Key => readKeyRow(row, rows, this.#options.sealing);
    const refreshRow = live.find((r) => r.purpose === 'refresh' && r.status === 'current');
    if (refreshRow === undefined)
      throw new Error('No current refresh-token key: run `tessera keys generate` or start the server once to create one.');
    let signing: Key;
    const verifyOnly: Key[] = [];
    if (this.#options.secret !== undefined) {
      signing = importKey({ alg: 'HS256', secret: this.#options.secret });
    } else {
      const current = live.find((r) => r.purpose === 'access' && r.status === 'current');
      if (current === undefined) throw new Error('No current access-token key: run `tessera keys generate` or start the server once to create one.');
      signing = toKey(current);
    }
    for (const row of live) if (row.purpose === 'access' && row.status !== 'current') verifyOnly.push(toKey(row).verifyOnly());
    const refreshVerifyOnly = live.filter((r) => r.purpose === 'refresh' && r.status === 'retired').map((r) => toKey(r).verifyOnly());
    // Over the live rows, not all of them: a retired key that has just expired must change the
    // fingerprint too, or instances would keep it verifying (and published) until the next rotation.
    const fingerprint = live
      .map((r) => `${r.kid}:${r.status}:${String(r.expires_at)}`)
      .sort()
      .join('|');
    return {
      access: { signing, verifyOnly },
      refresh: { signing: toKey(refreshRow), verifyOnly: refreshVerifyOnly },
      fingerprint: `${this.#options.alg}|${fingerprint}`,
    };
  }

  /** Applies loaded keys to the rings in place (every Tessera cache keyed on the old rings is dropped). */
  static apply(rings: { access: KeyRing; refresh: KeyRing }, keys: LoadedKeys): void {
    rings.access.replace({ signing: keys.access.signing, verifyOnly: [...keys.access.verifyOnly] });
    rings.refresh.replace({ signing: keys.refresh.signing, verifyOnly: [...keys.refresh.verifyOnly] });
  }

  /** The rings built from loaded keys. */
  static rings(keys: LoadedKeys): { access: KeyRing; refresh: KeyRing } {
    return {
      access: createKeyRing({ signing: keys.access.signing, verifyOnly: [...keys.access.verifyOnly] }),
      refresh: createKeyRing({ signing: keys.refresh.signing, verifyOnly: [...keys.refresh.verifyOnly] }, { purpose: 'refresh' }),
    };
  }

  /** Publishes a new access key as `next` (in the JWKS, not signing yet). */
  async stageNext(now: number): Promise<KeyInfo> {
    this.#assertAsymmetric('stage a new access key');
    await this.#db.deleteFrom('tessera_keys').where('purpose', '=', 'access').where('status', '=', 'next').execute();
    const key = await generateKey(this.#options.alg, { kid: newKid() });
    await this.#insert(key, 'access', 'next', now);
    return this.#info(key.kid);
  }

  /**
   * Promotes the `next` key to signing and retires the current one (kept verifying for the access
   * lifetime). Without a staged key, stages one first; it then signs at once, so tokens may meet
   * verifiers whose JWKS copy is older: stage ahead (`keys generate`) when others cache the JWKS.
   */
  async rotate(now: number): Promise<{ current: KeyInfo; retired: KeyInfo | undefined }> {
    this.#assertAsymmetric('rotate the access key');
    let next = await this.#db
      .selectFrom('tessera_keys')
      .select('kid')
      .where('purpose', '=', 'access')
      .where('status', '=', 'next')
      .executeTakeFirst();
    if (next === undefined) next = { kid: (await this.stageNext(now)).kid };
    const nextKid = next.kid;
    const retired = await this.#db.transaction().execute(async (trx) => {
      const old = await trx
        .updateTable('tessera_keys')
        .set({ status: 'retired', retired_at: now, expires_at: now + this.#options.retireFor * 1000 })
        .where('purpose', '=', 'access')
        .where('status', '=', 'current')
        .returning('kid')
        .executeTakeFirst();
      await trx.updateTable('tessera_keys').set({ status: 'current', activated_at: now }).where('kid', '=', nextKid).execute();
      return old?.kid;
    });
    return { current: await this.#info(nextKid), retired: retired === undefined ? undefined : await this.#info(retired) };
  }

  /** Withdraws a key at once: tokens it signed stop verifying on every instance after reload. */
  async revoke(kid: string, now: number): Promise<KeyInfo | undefined> {
    const row = await this.#db
      .updateTable('tessera_keys')
      .set({ status: 'revoked', retired_at: now, expires_at: now })
      .where('kid', '=', kid)
      .returning('kid')
      .executeTakeFirst();
    if (row === undefined) return undefined;
    // A revoked signing key leaves a gap: a fresh key takes its place at once.
    await this.ensure(now);
    return this.#info(kid);
  }

  async list(): Promise<KeyInfo[]> {
    const rows = await this.#db.selectFrom('tessera_keys').selectAll().orderBy('created_at').execute();
    return rows.map(toInfo);
  }

  async #ensureCurrent(purpose: 'access' | 'refresh', now: number): Promise<void> {
    const existing = await this.#db
      .selectFrom('tessera_keys')
      .select('kid')
      .where('purpose', '=', purpose)
      .where('status', '=', 'current')
      .executeTakeFirst();
    if (existing !== undefined) return;
    const key = purpose === 'refresh' ? await generateRefreshKey({ kid: newKid() }) : await generateKey(this.#options.alg, { kid: newKid() });
    // The partial unique index lets exactly one concurrent starter win; the others keep its key.
    await this.#insert(key, purpose, 'current', now, true);
  }

  async #insert(key: Key, purpose: 'access' | 'refresh', status: KeyStatus, now: number, ignoreConflict = false): Promise<void> {
    const row = {
      kid: key.kid,
      alg: key.alg,
      purpose,
      status,
      private_jwk: seal(JSON.stringify(exportPrivateJwk(key)), key.kid, this.#options.sealing),
      created_at: now,
      activated_at: status === 'current' ? now : null,
      retired_at: null,
      expires_at: null,
    };
    const insert = this.#db.insertInto('tessera_keys').values(row);
    await (ignoreConflict ? insert.onConflict((c) => c.doNothing()) : insert).execute();
  }

  async #info(kid: string): Promise<KeyInfo> {
    return toInfo(await this.#db.selectFrom('tessera_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow());
  }

  #assertAsymmetric(what: string): void {
    if (this.#options.secret !== undefined)
      throw new Error(`Cannot ${what}: with TESSERA_ALG=HS256 the access key is TESSERA_SECRET; change the secret to rotate it.`);
  }
}

/**
 * A key row that cannot be turned back into a key (damaged text, a partial restore, a hand edit): one
 * sentence naming the key and the way out, and never the parser's message, which may quote the row.
 */
/** What `readKeyRow` reads of a row. */
interface StoredKey {
  readonly kid: string;
  readonly alg: string;
  readonly purpose: string;
  readonly private_jwk: string;
}

export class KeyRowError extends Error {
  constructor(
    readonly kid: string,
    reason: string,
  ) {
    super(
      `Key ${kid} in the keys table cannot be read (${reason}): restore it from a backup, or withdraw it with \`tessera keys revoke ${kid}\` and restart.`,
    );
    this.name = 'KeyRowError';
  }
}

/** One stored row as a Key; a row that cannot be read is a KeyRowError naming its kid. */
function readKeyRow(row: StoredKey, others: readonly StoredKey[], sealing: Buffer | undefined): Key {
  let text: string;
  try {
    text = unseal(row.private_jwk, row.kid, sealing);
  } catch (err) {
    throw undecryptable(row, others, sealing, err);
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new KeyRowError(row.kid, 'its private key is not valid JSON');
  }
  try {
    return importKey({ alg: row.alg as Algorithm, jwk: jwk as never, kid: row.kid, purpose: row.purpose as 'access' | 'refresh' });
  } catch {
    throw new KeyRowError(row.kid, `its private key is not a usable ${row.alg} key`);
  }
}

/**
 * Why a sealed row did not open. AES-GCM cannot tell a wrong secret from a damaged row (the tag fails
 * either way), so the other sealed rows decide: if one opens, the secret is right and this row is
 * damaged; if none does, the secret is wrong (`unseal`'s own sentence, as with no secret at all).
 */
function undecryptable(row: StoredKey, others: readonly StoredKey[], sealing: Buffer | undefined, err: unknown): unknown {
  if (sealing === undefined) return err;
  const opensWith = (other: StoredKey, key: Buffer | undefined): boolean => {
    try {
      unseal(other.private_jwk, other.kid, key);
      return true;
    } catch {
      return false;
    }
  };
  // Without a key, `unseal` passes plain rows through and refuses sealed ones.
  const sealed = others.filter((other) => other.kid !== row.kid && !opensWith(other, undefined));
  if (sealed.some((other) => opensWith(other, sealing)))
    return new KeyRowError(row.kid, 'it does not decrypt, though other keys do with TESSERA_KEYS_SECRET');
  if (sealed.length > 0) return err;
  return new KeyRowError(row.kid, 'it does not decrypt with TESSERA_KEYS_SECRET: if that is the secret it was sealed with, the row is damaged');
}

function newKid(): string {
  return randomBytes(9).toString('base64url');
}

function toInfo(row: {
  kid: string;
  alg: string;
  purpose: string;
  status: string;
  created_at: number | string;
  activated_at: number | string | null;
  retired_at: number | string | null;
  expires_at: number | string | null;
}): KeyInfo {
  return {
    kid: row.kid,
    alg: row.alg,
    purpose: row.purpose as 'access' | 'refresh',
    status: row.status as KeyStatus,
    createdAt: ms(row.created_at),
    activatedAt: ms(row.activated_at),
    retiredAt: ms(row.retired_at),
    expiresAt: ms(row.expires_at),
  };
}

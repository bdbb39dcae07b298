// Signing keys kept in the database (docs/architecture.md "Keys"): generated on first start with one winner
// under a unique index, staged rotation (a `next` key is published, then promoted by one instance once
// the publish delay has passed), retired keys kept until the tokens they signed have expired (each row
// records how long those live), and revocation that withdraws a key at once.
import { randomBytes } from 'node:crypto';
import { createKeyRing, exportPrivateJwk, generateKey, generateRefreshKey, importKey, type Algorithm, type Key, type KeyRing } from '@tessera/auth';
import { recordRevocationEvents, type SqlDialectName } from '@tessera/auth/stores/sqlite';
import type { Kysely } from 'kysely';
import { ms, type ServerDatabase } from '../db/schema.js';
import type { ServerConfig } from '../settings.js';
import { isSealed, seal, sealingKey, unseal } from './sealing.js';

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
  /** Seconds the longest-lived token this key signed may live (access lifetime plus leeway); 0: unknown. */
  readonly maxTokenLife: number;
  /** A scheduled `next` key: when instances start signing with it. */
  readonly activatesAt: number | null;
}

export interface LoadedKeys {
  readonly access: { readonly signing: Key; readonly verifyOnly: readonly Key[] };
  /** The refresh-token keys: the current one signs; a withdrawn one is simply absent. */
  readonly refresh: { readonly signing: Key; readonly verifyOnly: readonly Key[] };
  /** Changes whenever any key row changes: instances compare it to know when to reload. */
  readonly fingerprint: string;
  /** A scheduled `next` access key whose time has come, for `promote`. */
  readonly due: string | undefined;
  /** The algorithm of the current access key row (undefined with HS256 over TESSERA_SECRET). */
  readonly currentAlg: string | undefined;
}

export interface KeyStoreOptions {
  alg: Algorithm;
  /** HS256 access tokens: the shared secret from TESSERA_SECRET (not stored). */
  secret: string | undefined;
  sealing: Buffer | undefined;
  /**
   * Seconds the access tokens this process signs live: its access lifetime plus leeway. Recorded on
   * the keys it signs with; never used to retire a key (the row's own record is).
   */
  tokenLife: number;
  /** Seconds `schedule` publishes a key before it signs (TESSERA_KEY_PUBLISH_DELAY). */
  publishDelay: number;
  /** The database behind the Kysely instance: how a withdrawal writes its revocation-feed event. */
  dialect: SqlDialectName;
}

/** The KeyStore options a configuration implies. */
export function keyStoreOptions(config: ServerConfig): KeyStoreOptions {
  return {
    alg: config.alg,
    secret: config.secret,
    sealing: sealingKey(config.keysSecret),
    tokenLife: config.accessTtl + config.leeway,
    publishDelay: config.keyPublishDelay,
    dialect: config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres',
  };
}

/**
 * Instances reread the keys every two seconds: one that has not yet seen a promotion may sign with
 * the old key a moment longer, so a retired key verifies this much past its recorded token lifetime.
 */
const SWITCH_MARGIN_MS = 5_000;

/** A retirement that would stop tokens still in their lifetime from verifying; `force` overrides it. */
export class RetireRefusedError extends Error {
  constructor(readonly kid: string) {
    super(
      `Key ${kid} has no recorded token lifetime (no instance of this version has signed with it), so retiring it could cut live tokens: start a server on this database first, or pass --force to keep it for this command's TESSERA_ACCESS_TTL plus TESSERA_LEEWAY.`,
    );
    this.name = 'RetireRefusedError';
  }
}

/** TESSERA_ALG names another algorithm than the key that signs: refused at start, never ignored. */
export class AlgorithmChangedError extends Error {
  constructor(configured: string, current: string) {
    super(
      `TESSERA_ALG is ${configured} but the signing key is ${current}: run \`tessera keys rotate --alg ${configured}\`, then restart with TESSERA_ALG=${configured}.`,
    );
    this.name = 'AlgorithmChangedError';
  }
}

export interface RotateOptions {
  /** The new key's algorithm (default TESSERA_ALG). */
  alg?: Algorithm;
  /** Retire a current key whose token lifetime is unknown, recording this process's own. */
  force?: boolean;
}

/** A promotion lost to another instance (or the key is no longer due): the transaction rolls back. */
class NotPromoted extends Error {}

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
    const due = live.find((r) => r.purpose === 'access' && r.status === 'next' && r.activates_at !== null && (ms(r.activates_at) ?? 0) <= now);
    return {
      access: { signing, verifyOnly },
      refresh: { signing: toKey(refreshRow), verifyOnly: refreshVerifyOnly },
      fingerprint: `${this.#options.alg}|${fingerprint}`,
      due: this.#options.secret === undefined ? due?.kid : undefined,
      currentAlg: this.#options.secret === undefined ? signing.alg : undefined,
    };
  }

  /**
   * Records that this process signs with `kid`: raises the row's token lifetime to this process's
   * own, in one conditional statement, so the longest lifetime of any signer wins.
   */
  async recordSigning(kid: string): Promise<void> {
    const life = this.#options.tokenLife;
    await this.#db.updateTable('tessera_keys').set({ max_token_life: life }).where('kid', '=', kid).where('max_token_life', '<', life).execute();
  }

  /** Refuses to serve when TESSERA_ALG differs from the signing key's algorithm (HS256 over the secret aside). */
  assertAlgorithm(keys: LoadedKeys): void {
    if (keys.currentAlg !== undefined && keys.currentAlg !== this.#options.alg) throw new AlgorithmChangedError(this.#options.alg, keys.currentAlg);
  }

  /** How many stored private keys are not sealed: a warning at start, and what `encrypt` fixes. */
  async unsealedCount(): Promise<number> {
    const rows = await this.#db.selectFrom('tessera_keys').select('private_jwk').where('status', '!=', 'revoked').execute();
    return rows.filter((r) => !isSealed(r.private_jwk)).length;
  }

  /** Seals every stored private key that is still plain JSON (the refresh key too); answers how many. */
  async encryptAll(): Promise<number> {
    const sealing = this.#options.sealing;
    if (sealing === undefined) throw new Error('Cannot encrypt the keys: set TESSERA_KEYS_SECRET to base64url of at least 32 random bytes.');
    const rows = await this.#db.selectFrom('tessera_keys').select(['kid', 'private_jwk']).execute();
    let count = 0;
    for (const row of rows) {
      if (isSealed(row.private_jwk)) continue;
      // Conditional on the text read, so a row changed meanwhile is left alone rather than overwritten.
      const done = await this.#db
        .updateTable('tessera_keys')
        .set({ private_jwk: seal(row.private_jwk, row.kid, sealing) })
        .where('kid', '=', row.kid)
        .where('private_jwk', '=', row.private_jwk)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) > 0) count += 1;
    }
    return count;
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

  /** Publishes a new access key as `next` (in the JWKS, not signing until a rotation promotes it). */
  async stageNext(now: number, options: { alg?: Algorithm; activatesAt?: number } = {}): Promise<KeyInfo> {
    this.#assertAsymmetric('stage a new access key');
    const alg = options.alg ?? this.#options.alg;
    if (alg === 'HS256') throw new Error('Cannot stage an HS256 access key: its key is TESSERA_SECRET, never stored.');
    await this.#db.deleteFrom('tessera_keys').where('purpose', '=', 'access').where('status', '=', 'next').execute();
    const key = await generateKey(alg, { kid: newKid() });
    await this.#insert(key, 'access', 'next', now, false, options.activatesAt ?? null);
    return this.#info(key.kid);
  }

  /**
   * Publish, then switch: stages a next key unless one is staged (of the algorithm asked for), and
   * schedules it to sign TESSERA_KEY_PUBLISH_DELAY after it was published, so every verifier caching
   * the JWKS has it first. Each instance's key reload promotes it once due (`promote`).
   */
  async schedule(now: number, options: RotateOptions = {}): Promise<{ next: KeyInfo; retiring: KeyInfo | undefined }> {
    this.#assertAsymmetric('rotate the access key');
    const retiring = await this.#checkRetirable(options.force === true);
    const staged = await this.#db
      .selectFrom('tessera_keys')
      .select(['kid', 'alg', 'created_at', 'activates_at'])
      .where('purpose', '=', 'access')
      .where('status', '=', 'next')
      .executeTakeFirst();
    const delay = this.#options.publishDelay * 1000;
    if (staged === undefined || (options.alg !== undefined && staged.alg !== options.alg)) {
      const next = await this.stageNext(now, { ...(options.alg === undefined ? {} : { alg: options.alg }), activatesAt: now + delay });
      return { next, retiring };
    }
    if (staged.activates_at === null)
      await this.#db
        .updateTable('tessera_keys')
        .set({ activates_at: ms(staged.created_at) + delay })
        .where('kid', '=', staged.kid)
        .where('status', '=', 'next')
        .execute();
    return { next: await this.#info(staged.kid), retiring };
  }

  /**
   * Promotes the `next` key to signing at once and retires the current one, kept verifying for its
   * recorded token lifetime. Without a staged key, stages one first; it then signs at once, so tokens
   * may meet verifiers whose JWKS copy is older: `schedule` is the rotation that never does.
   */
  async rotate(now: number, options: RotateOptions = {}): Promise<{ current: KeyInfo; retired: KeyInfo | undefined }> {
    this.#assertAsymmetric('rotate the access key');
    await this.#checkRetirable(options.force === true);
    let next = await this.#db
      .selectFrom('tessera_keys')
      .select(['kid', 'alg'])
      .where('purpose', '=', 'access')
      .where('status', '=', 'next')
      .executeTakeFirst();
    if (next === undefined || (options.alg !== undefined && next.alg !== options.alg))
      next = await this.stageNext(now, options.alg === undefined ? {} : { alg: options.alg });
    const retired = await this.promote(next.kid, now, { onlyIfDue: false });
    if (retired === false) throw new Error(`Key ${next.kid} was promoted or withdrawn meanwhile: see tessera keys list.`);
    return { current: await this.#info(next.kid), retired: retired === undefined ? undefined : await this.#info(retired) };
  }

  /**
   * Makes `kid`, a `next` key, the signing key and retires the current one, in one transaction of
   * conditional statements: of instances promoting at once, exactly one does it (the others roll
   * back), and the unique index `tessera_keys_one_current` holds throughout (the old key leaves
   * `current` first). `signs`: this process signs with it next. Answers the retired kid, undefined when there was no current key, or false
   * when nothing was promoted.
   */
  async promote(kid: string, now: number, options: { onlyIfDue: boolean; signs?: boolean }): Promise<string | undefined | false> {
    try {
      return await this.#db.transaction().execute(async (trx) => {
        const old = await trx
          .selectFrom('tessera_keys')
          .select(['kid', 'max_token_life'])
          .where('purpose', '=', 'access')
          .where('status', '=', 'current')
          .executeTakeFirst();
        if (old !== undefined) {
          const retired = await trx
            .updateTable('tessera_keys')
            .set({ status: 'retired', retired_at: now, expires_at: now + Number(old.max_token_life) * 1000 + SWITCH_MARGIN_MS })
            .where('kid', '=', old.kid)
            .where('status', '=', 'current')
            .executeTakeFirst();
          if (Number(retired.numUpdatedRows) === 0) throw new NotPromoted();
        }
        let promote = trx
          .updateTable('tessera_keys')
          // A promoting instance signs with it at once: its token lifetime is recorded in the same statement
          // (a `next` key has signed nothing, so there is nothing higher to keep).
          .set({ status: 'current', activated_at: now, ...(options.signs === true ? { max_token_life: this.#options.tokenLife } : {}) })
          .where('kid', '=', kid)
          .where('status', '=', 'next');
        if (options.onlyIfDue) promote = promote.where('activates_at', '<=', now);
        const promoted = await promote.executeTakeFirst();
        if (Number(promoted.numUpdatedRows) === 0) throw new NotPromoted();
        return old?.kid;
      });
    } catch (err) {
      if (err instanceof NotPromoted) return false;
      throw err;
    }
  }

  /**
   * Withdraws a key at once: tokens it signed stop verifying on every instance after reload, and on
   * resource servers as soon as the revocation feed carries the `key` event written in the same transaction.
   */
  async revoke(kid: string, now: number): Promise<KeyInfo | undefined> {
    const row = await this.#db.transaction().execute(async (trx) => {
      const withdrawn = await trx
        .updateTable('tessera_keys')
        .set({ status: 'revoked', retired_at: now, expires_at: now })
        .where('kid', '=', kid)
        .where('status', '!=', 'revoked')
        .returning(['kid', 'purpose'])
        .executeTakeFirst();
      // Refresh keys are never published: only an access key's withdrawal matters to resource servers.
      if (withdrawn?.purpose === 'access') await recordRevocationEvents(trx, this.#options.dialect, [{ kind: 'key', ref: kid, at: now }]);
      return withdrawn ?? (await trx.selectFrom('tessera_keys').select('kid').where('kid', '=', kid).executeTakeFirst());
    });
    if (row === undefined) return undefined;
    // A revoked signing key leaves a gap: a fresh key takes its place at once.
    await this.ensure(now);
    return this.#info(kid);
  }

  async list(): Promise<KeyInfo[]> {
    const rows = await this.#db.selectFrom('tessera_keys').selectAll().orderBy('created_at').execute();
    return rows.map(toInfo);
  }

  /**
   * The current access key, if retiring it now is safe: its row records how long its tokens live.
   * Unknown (0) means no instance of this version signed with it; forced, this process's own lifetime
   * is recorded instead.
   */
  async #checkRetirable(force: boolean): Promise<KeyInfo | undefined> {
    const current = await this.#db
      .selectFrom('tessera_keys')
      .select(['kid', 'max_token_life'])
      .where('purpose', '=', 'access')
      .where('status', '=', 'current')
      .executeTakeFirst();
    if (current === undefined) return undefined;
    if (Number(current.max_token_life) === 0) {
      if (!force) throw new RetireRefusedError(current.kid);
      await this.recordSigning(current.kid);
    }
    return this.#info(current.kid);
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

  async #insert(
    key: Key,
    purpose: 'access' | 'refresh',
    status: KeyStatus,
    now: number,
    ignoreConflict = false,
    activatesAt: number | null = null,
  ): Promise<void> {
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
      // A key made current here is signed with by this process's kind of configuration at once.
      max_token_life: status === 'current' ? this.#options.tokenLife : 0,
      activates_at: activatesAt,
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
  max_token_life: number | string;
  activates_at: number | string | null;
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
    maxTokenLife: Number(row.max_token_life),
    activatesAt: ms(row.activates_at),
  };
}

// Argon2id behind a bounded queue: at most `concurrency` hashes run at once, each on a niced worker
// thread (hash-workers.ts), and at most `queueLimit` wait; past that the caller is told to come back
// later instead of every login slowing down together.
import { parseOptions } from '@node-rs/argon2';
import { HashThreadError, HashWorkers } from './hash-workers.js';
import { parseLegacyHash, verifyLegacyHash } from './legacy-hashes/index.js';
import { PASSWORD_MAX_BYTES } from './password-policy.js';

/**
 * OWASP's first row: m = 19 MiB, t = 2, p = 1 (Argon2id is @node-rs/argon2's default algorithm). Changing
 * them makes `verifyLogin` treat hashes made here with the old ones as imported (checked over the typed
 * bytes, not the normalised password): keep the old set recognised as ours when they change.
 */
const PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** A login's check: whether the password matched, and whether the stored hash should now be replaced by today's. */
export interface LoginCheck {
  readonly ok: boolean;
  /** The match was against an imported hash, or an argon2 one with other parameters: store `hash(password)` now. */
  readonly rehash: boolean;
}

/** The hash queue is full: answer 503 and let the client retry. */
export class HasherBusyError extends Error {
  constructor() {
    super('Too many password checks are waiting');
    this.name = 'HasherBusyError';
  }
}

export class PasswordHasher {
  readonly #concurrency: number;
  readonly #queueLimit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #dummy: Promise<string> | undefined;
  readonly #workers: HashWorkers;

  constructor(options: { concurrency: number; queueLimit?: number }) {
    this.#concurrency = options.concurrency;
    this.#queueLimit = options.queueLimit ?? 256;
    this.#workers = new HashWorkers(options.concurrency);
  }

  hash(password: string): Promise<string> {
    return this.#run(() => this.#workers.hash(password, PARAMS));
  }

  /** Verifies in constant time (argon2's own compare); a malformed stored hash is a mismatch. */
  verify(stored: string, password: string): Promise<boolean> {
    // Only argon2's refusal of the stored hash is a mismatch: a stopped thread says nothing about the
    // password, and a "no" would count as a failed login against the account.
    return this.#run(() =>
      this.#workers.verify(stored, password).catch((error: unknown) => {
        if (error instanceof HashThreadError) throw error;
        return false;
      }),
    );
  }

  /** Ends the hash threads (an idle hasher holds no process open, so this is for tidiness and tests). */
  close(): Promise<void> {
    return this.#workers.close();
  }

  /**
   * A login's check of the stored hash. Hashes made here are argon2id over the password as login
   * normalises it (`normalised`, NFKC); a hash imported from another stack (legacy-hashes/) is
   * checked against the password exactly as typed (`typed`, its UTF-8 bytes, 1 to 1024 of them), as
   * the source hashed it. Both run in this queue; a stored hash that does not parse, or asks for more
   * work than the caps allow, is a mismatch after the usual work.
   */
  async verifyLogin(stored: string, typed: string, normalised: string): Promise<LoginCheck> {
    if (isCurrent(stored)) {
      if (await this.verify(stored, normalised)) return { ok: true, rehash: false };
      // An imported argon2id with exactly today's parameters hashed the typed form: only a
      // password NFKC changes can tell the difference, and costs the second check.
      const ok = typed !== normalised && (await this.verify(stored, typed));
      return { ok, rehash: ok };
    }
    const bytes = Buffer.from(typed, 'utf8');
    let legacy;
    try {
      legacy = parseLegacyHash(stored);
    } catch {
      return { ok: await this.verifyNobody(normalised, typed), rehash: false };
    }
    if (bytes.length === 0 || bytes.length > PASSWORD_MAX_BYTES) return { ok: await this.verifyNobody(normalised, typed), rehash: false };
    const ok = await this.#run(() => verifyLegacyHash(legacy, bytes));
    return { ok, rehash: ok };
  }

  /**
   * Spends the same work as a real check for an unknown user, so that "no such user" and "wrong
   * password" take the same time (OWASP Authentication: no quick exit). With the password as typed
   * when NFKC changed it, the second check `verifyLogin` makes for such a password is spent too.
   */
  async verifyNobody(password: string, typed: string = password): Promise<false> {
    this.#dummy ??= this.#workers.hash('tessera-dummy-password', PARAMS);
    const dummy = await this.#dummy;
    await this.verify(dummy, password);
    if (typed !== password) await this.verify(dummy, typed);
    return false;
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#queueLimit) throw new HasherBusyError();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** An argon2id hash with today's parameters: made here (or indistinguishable from one made here). */
function isCurrent(stored: string): boolean {
  if (!stored.startsWith('$argon2id$v=19$')) return false;
  try {
    const options = parseOptions(stored);
    return options.memoryCost === PARAMS.memoryCost && options.timeCost === PARAMS.timeCost && options.parallelism === PARAMS.parallelism;
  } catch {
    return false;
  }
}

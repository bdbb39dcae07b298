// Argon2id behind a bounded queue: at most `concurrency` hashes run at once (libuv has 4 threads
// and the machine 2 cores), and at most `queueLimit` wait; past that the caller is told to come back
// later instead of every login slowing down together.
import { hash, verify } from '@node-rs/argon2';

/** OWASP's first row: m = 19 MiB, t = 2, p = 1 (Argon2id is @node-rs/argon2's default algorithm). */
const PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

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

  constructor(options: { concurrency: number; queueLimit?: number }) {
    this.#concurrency = options.concurrency;
    this.#queueLimit = options.queueLimit ?? 256;
  }

  hash(password: string): Promise<string> {
    return this.#run(() => hash(password, PARAMS));
  }

  /** Verifies in constant time (argon2's own compare); a malformed stored hash is a mismatch. */
  verify(stored: string, password: string): Promise<boolean> {
    return this.#run(() => verify(stored, password).catch(() => false));
  }

  /**
   * Spends the same work as a real check for an unknown user, so that "no such user" and "wrong
   * password" take the same time (OWASP Authentication: no quick exit).
   */
  async verifyNobody(password: string): Promise<false> {
    this.#dummy ??= hash('tessera-dummy-password', PARAMS);
    await this.verify(await this.#dummy, password);
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

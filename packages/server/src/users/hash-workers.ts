// Argon2id on worker threads of their own, niced below the event loop. On libuv's pool a hash competes
// with the event loop as an equal: on 2 cores a login storm doubled the p99 of every other request.
// A niced thread still gets every idle cycle, so logins lose speed only while requests wait for a core.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Argon2id's parameters, as `@node-rs/argon2` takes them. */
export interface HashParams {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/**
 * How much lower the hash threads run (Linux `nice`, per thread; 19 is the lowest). Elsewhere Node
 * can only renice the whole process, so they run at the normal priority.
 */
export const HASH_NICE = 10;

/**
 * The worker, as CommonJS source: one job at a time, each answered by id. `setPriority(n)` without a
 * pid changes the calling thread only on Linux, hence only there.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const argon2 = require(workerData.argon2);
if (workerData.nice > 0) require('node:os').setPriority(workerData.nice);
parentPort.on('message', (job) => {
  try {
    const value = job.op === 'hash' ? argon2.hashSync(job.password, job.params) : argon2.verifySync(job.stored, job.password);
    parentPort.postMessage({ id: job.id, value });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

/** No answer about the password exists: its hash thread stopped, or the hasher is closed (the server's trouble, a 503). */
export class HashThreadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HashThreadError';
  }
}

type Job = { id: number; op: 'hash'; password: string; params: HashParams } | { id: number; op: 'verify'; stored: string; password: string };

interface Pending {
  resolve(value: string | boolean): void;
  reject(error: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * Up to `size` worker threads computing argon2 synchronously, made at first use; the caller bounds how
 * many jobs are in flight (PasswordHasher's queue). An idle pool keeps no process alive.
 * @example const pool = new HashWorkers(1); const hash = await pool.hash('pw', PARAMS); await pool.close();
 */
export class HashWorkers {
  readonly #size: number;
  readonly #threads: Thread[] = [];
  #nextId = 1;
  #closed = false;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  hash(password: string, params: HashParams): Promise<string> {
    return this.#send({ id: this.#nextId++, op: 'hash', password, params }) as Promise<string>;
  }

  /** Whether `password` matches `stored`; a stored hash argon2 cannot read rejects. */
  verify(stored: string, password: string): Promise<boolean> {
    return this.#send({ id: this.#nextId++, op: 'verify', stored, password }) as Promise<boolean>;
  }

  /** Ends the threads; jobs still running are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  #send(job: Job): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new HashThreadError('The password hasher is closed'));
    const thread = this.#pick();
    return new Promise((resolve, reject) => {
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(job.id, { resolve, reject });
      thread.worker.postMessage(job);
    });
  }

  /** The least busy thread, or a new one while the pool is below its size. */
  #pick(): Thread {
    let best: Thread | undefined;
    for (const t of this.#threads) if (best === undefined || t.pending.size < best.pending.size) best = t;
    if (best !== undefined && (best.pending.size === 0 || this.#threads.length >= this.#size)) return best;
    return this.#start();
  }

  #start(): Thread {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { argon2: createRequire(import.meta.url).resolve('@node-rs/argon2'), nice: process.platform === 'linux' ? HASH_NICE : 0 },
    });
    const thread: Thread = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (answer: { id: number; value?: string | boolean; error?: string }) => {
      const waiting = thread.pending.get(answer.id);
      if (waiting === undefined) return;
      thread.pending.delete(answer.id);
      if (thread.pending.size === 0) worker.unref();
      if (answer.error !== undefined) waiting.reject(new Error(answer.error));
      else waiting.resolve(answer.value as string | boolean);
    });
    const fail = (error: Error): void => {
      const index = this.#threads.indexOf(thread);
      if (index >= 0) this.#threads.splice(index, 1);
      for (const waiting of thread.pending.values()) waiting.reject(error);
      thread.pending.clear();
    };
    worker.on('error', (error) => fail(new HashThreadError('A password hash thread failed', { cause: error })));
    worker.on('exit', (code) => fail(new HashThreadError(`A password hash thread stopped (exit code ${code})`)));
    this.#threads.push(thread);
    return thread;
  }
}

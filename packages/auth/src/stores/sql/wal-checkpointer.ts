// SQLite's checkpoint (the write-ahead log copied back into the file, then fsync) on a worker thread with its
// own connection. On the event loop, a checkpoint after a purge's batches held every request for 100-200 ms:
// its cost is the pages it copies and the fsync of them, which a thread of its own pays without stopping them.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What one PASSIVE checkpoint saw: frames in the log when it began, and how many of them are now in the file. */
export interface CheckpointReport {
  readonly log: number;
  readonly copied: number;
}

interface Answer {
  readonly id?: number;
  readonly ready?: true;
  readonly log?: number;
  readonly copied?: number;
  readonly error?: string;
}

/**
 * One worker thread that runs `wal_checkpoint(PASSIVE)` on `filename` when asked, one at a time. A PASSIVE
 * checkpoint takes no write lock, so the store's own connection keeps writing meanwhile. Made per purge and
 * closed after it: an idle store keeps no thread.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(report: CheckpointReport): void; reject(error: Error): void }>();
  #nextId = 1;
  #failure: Error | undefined;

  constructor(filename: string, busyTimeout: number) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(new URL('./wal-checkpoint-worker.cjs', import.meta.url), { workerData: { filename, busyTimeout, driver } });
    this.#worker.unref();
    this.#worker.on('message', (answer: Answer) => {
      if (answer.ready === true || answer.id === undefined) return;
      const waiting = this.#pending.get(answer.id);
      if (waiting === undefined) return;
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (answer.error !== undefined) waiting.reject(new Error(`The SQLite checkpoint thread failed: ${answer.error}`));
      else waiting.resolve({ log: Number(answer.log), copied: Number(answer.copied) });
    });
    const fail = (error: Error): void => {
      this.#failure ??= error;
      for (const waiting of this.#pending.values()) waiting.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', (error) => fail(new Error('The SQLite checkpoint thread failed', { cause: error })));
    this.#worker.on('exit', (code) => fail(new Error(`The SQLite checkpoint thread stopped (exit code ${code})`)));
  }

  /** One PASSIVE checkpoint, begun after every commit made before this call. */
  checkpoint(): Promise<CheckpointReport> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(id);
    });
  }

  /** Ends the thread (a checkpoint it is running completes first: termination waits for the native call). */
  async close(): Promise<void> {
    this.#failure ??= new Error('The SQLite checkpoint thread is closed');
    await this.#worker.terminate();
  }
}

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { PurgeOptions } from '../../core/sessions/store.js';

/** How a batched run sizes its batches. */
export interface BatchTuning {
  /**
   * How long one batch should take, in ms: the size doubles while a batch takes under half of it and halves
   * when one takes over twice as long (a single slow one, an SQLite checkpoint, is not the batch's size).
   */
  readonly budgetMs: number;
  readonly first: number;
  readonly min: number;
  readonly max: number;
  /** One size for every batch, never adapted (tests that need several batches of a few rows). */
  readonly fixed?: number;
}

/** What one batch did: rows it deleted (or pages it freed), and whether another batch may find more. */
export interface BatchOutcome {
  readonly deleted: number;
  readonly more: boolean;
}

/** A batch: deletes at most `size` rows (or frees at most `size` pages). */
export type Batch = (size: number) => Promise<BatchOutcome>;

/**
 * The largest batch stays small: a batch that meets a cold cache reads a random page per row, and its
 * size is all that keeps it far from Postgres' statement timeout then.
 */
export function tuning(budgetMs: number, fixed?: number): BatchTuning {
  return { budgetMs, first: 256, min: 16, max: 2048, ...(fixed === undefined ? {} : { fixed }) };
}

/**
 * Repeats short batches until each job is done, yielding the event loop between two (requests wait
 * at most one batch) and stopping between two when the signal is aborted: every batch is its own
 * statement, so what it deleted stays deleted and a later run finishes the job.
 */
export class BatchedRun {
  readonly #options: PurgeOptions;
  readonly #tuning: BatchTuning;
  #started = false;

  constructor(options: PurgeOptions | undefined, tuning: BatchTuning) {
    this.#options = options ?? {};
    this.#tuning = tuning;
  }

  get stopped(): boolean {
    return this.#options.signal?.aborted === true;
  }

  /** Runs `batch` until it says there is no more (or the run is stopped); answers what it deleted. */
  async repeat(batch: Batch): Promise<number> {
    const { budgetMs, first, min, max, fixed } = this.#tuning;
    let size = fixed ?? first;
    let deleted = 0;
    for (;;) {
      if (this.#started) await yieldToLoop();
      this.#started = true;
      if (this.stopped) return deleted;
      const began = performance.now();
      const outcome = await batch(size);
      const ms = performance.now() - began;
      deleted += outcome.deleted;
      this.#options.onBatch?.({ deleted: outcome.deleted, ms });
      if (!outcome.more) return deleted;
      if (fixed === undefined) size = ms < budgetMs / 2 ? Math.min(max, size * 2) : ms > 2 * budgetMs ? Math.max(min, Math.floor(size / 2)) : size;
    }
  }
}

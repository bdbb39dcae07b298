// SQLite's write-ahead log while a purge deletes: every batch adds pages to it, and something must copy them
// back into the file (a checkpoint) before the log can start again from its beginning. A checkpoint on the
// event loop stalls every request for as long as it copies and syncs, so the copying is done by a thread
// (wal-checkpointer.ts) and the purge waits for it, without blocking, whenever the log grows long.
import { sql, type Kysely } from 'kysely';
import type { SessionDatabase } from './tables.js';
import type { WalCheckpointer } from './wal-checkpointer.js';

/** The log length (pages, 4 KiB each) past which the purge waits until all of it is in the file. */
const LOG_LIMIT_PAGES = 1000;

/**
 * How much the batches may do (rows, or pages for the vacuum) while one checkpoint runs on the thread. A row
 * deleted writes a few pages of log; a checkpoint slowed by a busy disk must not let them pile up unseen.
 */
const WORK_PER_CHECKPOINT = 256;

/** Without a thread (it failed to start or stopped): the connection's own checkpoint, made small enough for a few ms. */
const FALLBACK_CHECKPOINT_PAGES = 200;

/** What a purge on SQLite calls around its batches. */
export interface PurgeLog {
  /** After each batch of `size`: waits, without blocking the loop, while the log is longer than it should be. */
  readonly afterBatch: (size: number) => Promise<void>;
  /** After the last batch: the whole log copied into the file. */
  finish(): Promise<void>;
  /** The purge is over: the last one on this connection gives it back its own automatic checkpoint. */
  release(): Promise<void>;
}

interface Shared {
  running: number;
  readonly ready: Promise<{ readonly pages: number; readonly pacer: Pacer }>;
}

/** The purges running on each connection: they share one checkpoint thread and restore the setting once. */
const purging = new WeakMap<Kysely<SessionDatabase>, Shared>();

/** Starts keeping the log of `db` short for one purge; `thread` makes the checkpoint thread (absent: no file to open). */
export async function keepPurgeLogShort(db: Kysely<SessionDatabase>, thread?: () => WalCheckpointer): Promise<PurgeLog> {
  let shared = purging.get(db);
  if (shared === undefined) {
    const created: Shared = { running: 0, ready: start(db, thread) };
    purging.set(db, created);
    shared = created;
  }
  shared.running++;
  const { pages, pacer } = await shared.ready;
  const entry = shared;
  return {
    afterBatch: (size) => pacer.afterBatch(size),
    finish: () => pacer.finish(),
    async release() {
      if (--entry.running > 0) return;
      purging.delete(db);
      await pacer.close();
      await walAutocheckpoint(db, pages);
    },
  };
}

async function start(db: Kysely<SessionDatabase>, thread?: () => WalCheckpointer): Promise<{ pages: number; pacer: Pacer }> {
  const pages = await walAutocheckpoint(db);
  let checkpointer: WalCheckpointer | undefined;
  try {
    checkpointer = thread?.();
  } catch {
    checkpointer = undefined;
  }
  // The thread's first checkpoint, before the first batch: it has started (no log piles up while it loads the
  // driver) and what the log held already is in the file.
  if (checkpointer !== undefined) {
    try {
      await checkpointer.checkpoint();
    } catch {
      await checkpointer.close();
      checkpointer = undefined;
    }
  }
  const pacer = new Pacer(db, checkpointer);
  // With a thread, the connection itself never checkpoints during the purge: the pacer does it when cheap.
  await walAutocheckpoint(db, checkpointer === undefined ? FALLBACK_CHECKPOINT_PAGES : 0);
  return { pages, pacer };
}

/**
 * Keeps a checkpoint running on the thread beside the batches. When the log has grown past the limit, the
 * purge waits for a checkpoint begun after its last batch, then copies here what the server committed
 * meanwhile (a few pages, hence a short fsync): with the whole log in the file, the next commit starts it
 * again from its beginning. A PASSIVE checkpoint on the thread alone can never get there while commits keep
 * coming, and the log would grow without end.
 */
class Pacer {
  readonly #db: Kysely<SessionDatabase>;
  #thread: WalCheckpointer | undefined;
  #inFlight: Promise<void> | undefined;
  /** The log's length when the last checkpoint began, and the work done since the one in flight began. */
  #log = 0;
  #work = 0;

  constructor(db: Kysely<SessionDatabase>, thread: WalCheckpointer | undefined) {
    this.#db = db;
    this.#thread = thread;
  }

  async afterBatch(size: number): Promise<void> {
    if (this.#thread === undefined) return;
    this.#work += size;
    if (this.#inFlight === undefined) this.#inFlight = this.#pass();
    else if (this.#work >= WORK_PER_CHECKPOINT) await this.#inFlight;
    if (this.#log >= LOG_LIMIT_PAGES) await this.#catchUp();
  }

  async finish(): Promise<void> {
    if (this.#thread !== undefined) await this.#catchUp();
    else await sql`pragma wal_checkpoint(PASSIVE)`.execute(this.#db);
  }

  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    await thread?.close();
  }

  async #catchUp(): Promise<void> {
    // The pass in flight may have begun before the last batch; the one after it covers every frame.
    if (this.#inFlight !== undefined) await this.#inFlight;
    await (this.#inFlight = this.#pass());
    if (this.#thread === undefined) return;
    await sql`pragma wal_checkpoint(PASSIVE)`.execute(this.#db);
    this.#log = 0;
  }

  async #pass(): Promise<void> {
    this.#work = 0;
    try {
      const thread = this.#thread;
      if (thread !== undefined) this.#log = (await thread.checkpoint()).log;
    } catch {
      // The thread is gone: the connection checkpoints for itself again, as it did before there was one.
      const thread = this.#thread;
      this.#thread = undefined;
      await thread?.close();
      await walAutocheckpoint(this.#db, FALLBACK_CHECKPOINT_PAGES);
    } finally {
      this.#inFlight = undefined;
    }
  }
}

/** Reads `wal_autocheckpoint`, or sets it when `pages` is given (a setting of this connection only). */
async function walAutocheckpoint(db: Kysely<SessionDatabase>, pages?: number): Promise<number> {
  if (pages !== undefined) await sql.raw(`pragma wal_autocheckpoint = ${Math.floor(pages)}`).execute(db);
  const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  return Number(rows[0]?.wal_autocheckpoint);
}

// One instance's end of the revocation feed (docs/resource-server.md "The revocation feed"): it reads the
// events table (SQL is the truth) every 250 ms, or at once when the Redis bus announces a revocation, and
// hands each new event to every open stream; a stream catches up from its own cursor first. Heartbeats
// every 5 s; on drain, every stream gets a `retry:` hint and is closed.
import type { Clock, RevocationEvent, SessionStore } from '@tessera/auth';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ServerDatabase } from '../db/schema.js';

/** How often SQL is read when nothing wakes the hub earlier (well inside the 1 s target). */
export const POLL_MS = 250;
/** A heartbeat every 5 s: a verifier that hears nothing for 15 s reconnects. */
export const HEARTBEAT_MS = 5_000;
/** The `retry:` hint sent when the instance drains: reconnect (through the load balancer) after 1 s. */
export const DRAIN_RETRY_MS = 1_000;
/** Clocks of instances and resource servers differ: an event is kept this much longer than tokens may live. */
const SKEW_MARGIN_MS = 60_000;
/** Events read per query. */
const BATCH = 1000;
/** A stream whose client reads slower than this much buffered text is dropped; it reconnects from its cursor. */
const MAX_BUFFERED = 1024 * 1024;
/** How often the longest token lifetime recorded on the keys is read again. */
const WINDOW_REFRESH_MS = 10_000;

/** What the hub writes to: one SSE response. */
export interface FeedStream {
  /** Writes text; false when the client is too slow (the hub then closes it). */
  write(text: string): boolean;
  /** Ends the response. */
  end(): void;
}

interface Attached {
  readonly stream: FeedStream;
  /** The last id sent on this stream. */
  cursor: number;
  /** Events the hub read while the stream was catching up, sent once it has. */
  pending: RevocationEvent[] | undefined;
}

type FeedSource = Required<Pick<SessionStore, 'revocationEvents' | 'revocationSnapshot'>>;

export interface FeedHubOptions {
  readonly store: SessionStore;
  readonly db: Kysely<ServerDatabase>;
  readonly clock: Clock;
  readonly log: Logger;
  /** This instance's access lifetime plus leeway, in seconds: the floor of the window. */
  readonly tokenLife: number;
}

/** Serves the feed to every stream of one instance. */
export class FeedHub {
  readonly #source: FeedSource;
  readonly #options: FeedHubOptions;
  readonly #streams = new Set<Attached>();
  /** The highest id the hub has read. */
  #cursor: number | undefined;
  #starting: Promise<void> | undefined;
  #poll: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #windowMs: number;
  #windowReadAt = 0;
  #closed = false;
  #failing = false;

  constructor(options: FeedHubOptions) {
    const { store } = options;
    if (store.revocationEvents === undefined || store.revocationSnapshot === undefined)
      throw new Error('The session store keeps no revocation events, so the revocation feed cannot be served.');
    this.#source = { revocationEvents: store.revocationEvents.bind(store), revocationSnapshot: store.revocationSnapshot.bind(store) };
    this.#options = options;
    this.#windowMs = options.tokenLife * 1000 + SKEW_MARGIN_MS;
  }

  /** Open streams, for tests and metrics. */
  get size(): number {
    return this.#streams.size;
  }

  /** Reads SQL now rather than at the next poll (a message on the Redis bus). */
  wake(): void {
    if (this.#cursor === undefined || this.#closed) return;
    void this.#read();
  }

  /**
   * Serves one stream: a snapshot of what still matters when `lastEventId` is undefined, else the events
   * after it; then a heartbeat (the client is caught up), then every new event as the hub reads it.
   */
  async attach(stream: FeedStream, lastEventId: number | undefined): Promise<void> {
    await this.#start();
    // Attached before reading, so that nothing the hub reads meanwhile is missed: it waits in `pending`.
    // An id past what this hub has read is from another instance that read further, or from before a restore
    // of the database: either way the snapshot is the complete answer, where resuming could skip events.
    const resume = lastEventId !== undefined && lastEventId <= (this.#cursor ?? 0) ? lastEventId : undefined;
    const attached: Attached = { stream, cursor: resume ?? 0, pending: [] };
    this.#streams.add(attached);
    try {
      if (resume === undefined) {
        const now = this.#options.clock.now();
        const window = await this.#window(now);
        const snapshot = await this.#source.revocationSnapshot(now - window);
        const revoked = snapshot.events.map((event) => item(event, now, window)).filter((i) => i.ttl > 0);
        this.#send(attached, `event: snapshot\nid: ${snapshot.lastId}\ndata: ${JSON.stringify({ revoked })}\n\n`);
        attached.cursor = snapshot.lastId;
      } else {
        for (;;) {
          const batch = await this.#source.revocationEvents(attached.cursor, BATCH);
          await this.#deliver(attached, batch);
          if (batch.length < BATCH) break;
        }
      }
      // What the hub read meanwhile; no await between the last check and going live, so nothing slips between.
      while (attached.pending !== undefined && attached.pending.length > 0) await this.#deliver(attached, attached.pending.splice(0));
      attached.pending = undefined;
      this.#send(attached, heartbeat());
    } catch (err) {
      this.detach(stream);
      throw err;
    }
  }

  /** Forgets a stream (its client went away). */
  detach(stream: FeedStream): void {
    for (const attached of this.#streams) if (attached.stream === stream) this.#streams.delete(attached);
  }

  /** Every stream gets a `retry:` hint and is closed (drain, shutdown); the hub stops reading. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    clearInterval(this.#heartbeat);
    for (const attached of this.#streams) {
      attached.stream.write(`retry: ${DRAIN_RETRY_MS}\n\n`);
      attached.stream.end();
    }
    this.#streams.clear();
  }

  /** The hub's cursor starts at the table's highest id; polling and heartbeats start with it. */
  async #start(): Promise<void> {
    if (this.#closed) throw new Error('The revocation feed is closed (the instance is draining).');
    this.#starting ??= (async () => {
      const { lastId } = await this.#source.revocationSnapshot(Number.MAX_SAFE_INTEGER);
      this.#cursor = lastId;
      this.#poll = setInterval(() => void this.#read(), POLL_MS).unref();
      this.#heartbeat = setInterval(() => {
        if (this.#failing) return;
        for (const attached of this.#streams) if (attached.pending === undefined) this.#send(attached, heartbeat());
      }, HEARTBEAT_MS).unref();
    })().catch((err: unknown) => {
      this.#starting = undefined;
      throw err;
    });
    await this.#starting;
  }

  /** One read at a time; a wake during a read reads once more after it. */
  async #read(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        try {
          for (;;) {
            const batch = await this.#source.revocationEvents(this.#cursor ?? 0, BATCH);
            const last = batch.at(-1);
            if (last === undefined) break;
            this.#cursor = last.id;
            for (const attached of this.#streams) {
              if (attached.pending !== undefined) attached.pending.push(...batch);
              else await this.#deliver(attached, batch);
            }
            if (batch.length < BATCH) break;
          }
          if (this.#failing) this.#options.log.info('revocation feed: reading the events works again');
          this.#failing = false;
        } catch (err) {
          // The database does not answer this instance: heartbeats stop, so verifiers count themselves lost after
          // 15 s and reconnect (perhaps to an instance that can read it), failing closed past their bound. The read is
          // tried again at every poll. Logged once, not four times a second.
          if (!this.#failing) this.#options.log.warn({ err: String(err) }, 'revocation feed: reading the events failed');
          this.#failing = true;
          break;
        }
      } while (this.#again);
    })().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #deliver(attached: Attached, events: readonly RevocationEvent[]): Promise<void> {
    const fresh = events.filter((event) => event.id > attached.cursor);
    const last = fresh.at(-1);
    if (last === undefined) return;
    const now = this.#options.clock.now();
    const window = await this.#window(now);
    let text = '';
    for (const event of fresh) text += `event: revoked\nid: ${event.id}\ndata: ${JSON.stringify(item(event, now, window))}\n\n`;
    attached.cursor = last.id;
    this.#send(attached, text);
  }

  #send(attached: Attached, text: string): void {
    if (!this.#streams.has(attached)) return;
    if (!attached.stream.write(text)) {
      this.#options.log.warn('revocation feed: a client reads too slowly and was disconnected; it resumes from its cursor');
      this.#streams.delete(attached);
      attached.stream.end();
    }
  }

  /**
   * How long an event matters (docs/resource-server.md): the longest access-token lifetime that could
   * still be live, as recorded on the key rows by every signer (access lifetime plus leeway), or this
   * instance's own if longer, plus a margin for clocks.
   */
  async #window(now: number): Promise<number> {
    if (now - this.#windowReadAt < WINDOW_REFRESH_MS) return this.#windowMs;
    const row = await this.#options.db
      .selectFrom('tessera_keys')
      .select((eb) => eb.fn.max('max_token_life').as('life'))
      .executeTakeFirst();
    const recorded = Number(row?.life ?? 0);
    this.#windowMs = Math.max(recorded, this.#options.tokenLife) * 1000 + SKEW_MARGIN_MS;
    this.#windowReadAt = now;
    return this.#windowMs;
  }
}

/** An event as the feed sends it: the opaque id and how many ms it still matters (clocks differ, durations do not). */
function item(event: RevocationEvent, now: number, windowMs: number): { kind: string; ref: string; ttl: number } {
  return { kind: event.kind, ref: event.ref, ttl: event.at + windowMs - now };
}

function heartbeat(): string {
  return 'event: heartbeat\ndata: {}\n\n';
}

/** Whether a writable stream has more buffered than a slow client may hold. */
export function tooFull(writableLength: number): boolean {
  return writableLength > MAX_BUFFERED;
}

// The resource server's end of the revocation feed (docs/resource-server.md "The revocation feed"): a
// Server-Sent Events stream read over `fetch` streaming (so it runs on Node, Bun, Deno and workerd;
// no Node built-ins), holding the revoked session ids and withdrawn key ids until they stop mattering.
import type { Clock } from '../core/clock.js';
import { RevocationsUnavailableError, TokenInvalidError, TokenRevokedError } from '../core/errors.js';

/** What the feed reports, for metrics (a counter per `type`) and logs. */
export type RevocationFeedEvent =
  | { readonly type: 'feed_live'; readonly cursor: string | undefined; readonly snapshot: boolean }
  | { readonly type: 'feed_lost'; readonly reason: string }
  | { readonly type: 'feed_failed'; readonly lostMs: number }
  | { readonly type: 'feed_revoked'; readonly kind: 'session' | 'key' };

/** The feed's settings, resolved by the verifier (milliseconds). */
export interface RevocationFeedSettings {
  /** The auth server's `GET /revocations` URL. */
  readonly url: string;
  /** `TESSERA_REVOCATIONS_TOKEN` of the auth server, sent as `Authorization: Bearer`. */
  readonly token: string;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  /** No event nor heartbeat for this long (the server beats every 5 s): disconnected, reconnect from the cursor (15 000). */
  readonly lostAfterMs: number;
  /** Disconnected (or never synced) for this long: `check` refuses with 503 `revocations_unavailable` (60 000). */
  readonly failClosedAfterMs: number;
  /**
   * The operator's explicit choice to keep accepting tokens on their signature and expiry alone once
   * the feed has failed, instead of refusing them with 503. Off unless set; its name says what it does.
   */
  readonly expiryOnlyWhenFeedFails: boolean;
  /**
   * The longest an event is held, whatever `ttl` the feed sends: the verifier's longest accepted token life plus
   * leeway and a margin for clocks. No token it accepts can outlive that past a revocation, and a broken feed's
   * huge `ttl`s cannot pile entries up for ever. Undefined: the feed's `ttl` as sent.
   */
  readonly maxTtlMs?: number | undefined;
  readonly log: (line: string) => void;
  readonly onEvent: ((event: RevocationFeedEvent) => void) | undefined;
}

/** The defaults a verifier resolves from (milliseconds). */
export const REVOCATION_FEED_DEFAULTS = Object.freeze({ lostAfterMs: 15_000, failClosedAfterMs: 60_000 });

/** How long to wait before reconnecting: the server's `retry:` hint, else from 500 ms doubling to 5 s. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 5_000;
/** The longest `retry:` hint followed. */
const MAX_RETRY_MS = 60_000;
/** A line longer than this is not the feed (a misrouted URL); the connection is dropped. */
const MAX_LINE = 8 * 1024 * 1024;

export type RevocationFeedState = 'connecting' | 'live' | 'lost' | 'failed';

interface Revoked {
  readonly kind: 'session' | 'key';
  readonly ref: string;
  /** Milliseconds until the event stops mattering, as the server counted them when it sent it. */
  readonly ttl: number;
}

/**
 * Follows the auth server's revocation feed. `check` is called by the verifier after the signature
 * and the claims passed; it throws `TokenRevokedError` for a revoked session, `TokenInvalidError` for
 * a withdrawn key, and `RevocationsUnavailableError` (503, never 401: a 401 would send every client
 * into a refresh storm against a server already in trouble) once the feed has been down past
 * `failClosedAfterMs`, unless the operator chose `expiryOnlyWhenFeedFails`.
 * @example const feed = new RevocationFeed(settings); feed.start(); feed.check(claims, kid);
 */
export class RevocationFeed {
  readonly #settings: RevocationFeedSettings;
  /** Revoked session ids and withdrawn key ids, each until (local clock) it stops mattering. */
  readonly #sessions = new Map<string, number>();
  readonly #keys = new Map<string, number>();
  readonly #keyListeners = new Set<(kid: string) => void>();
  #state: RevocationFeedState = 'connecting';
  /** The last event id received: sent as `Last-Event-ID`, valid on every instance of the auth server. */
  #cursor: string | undefined;
  /** Whether a snapshot (or a resume from a cursor) has made the maps complete at least once. */
  #synced = false;
  /** When bytes last arrived, and when the feed was last live (or started). */
  #lastSeen = 0;
  #lastLive = 0;
  #retryMs: number | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  #abort: AbortController | undefined;
  /** The body being read: cancelled on a loss too, in case a runtime's abort does not reach a read in progress. */
  #reader: ReadableStreamDefaultReader<string> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #started = false;
  readonly #waiters = new Set<() => void>();

  constructor(settings: RevocationFeedSettings) {
    this.#settings = settings;
  }

  /** Where the feed stands: `connecting` (never synced yet), `live`, `lost` (reconnecting, still trusted), `failed`. */
  get state(): RevocationFeedState {
    return this.#state;
  }

  /** The last event id received (the cursor a reconnect resumes from). */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  /** Connects, and keeps connecting until `close`. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const now = this.#settings.clock.now();
    this.#lastLive = now;
    this.#lastSeen = now;
    this.#watchdog = unref(setInterval(() => this.#tick(), Math.max(50, Math.min(1000, this.#settings.lostAfterMs / 4))));
    this.#connect();
  }

  /** Resolves once the feed is live (its first snapshot or resume has arrived). */
  async ready(): Promise<void> {
    if (this.#state === 'live') return;
    await new Promise<void>((resolve) => this.#waiters.add(resolve));
  }

  /** Hears every key withdrawal (the JWKS cache forgets the key at once). */
  onKeyWithdrawn(listener: (kid: string) => void): void {
    this.#keyListeners.add(listener);
  }

  /** Refuses a token whose session was revoked or whose key was withdrawn; refuses all with 503 once the feed failed. */
  check(claims: { readonly sid: string }, kid: string | undefined): void {
    const now = this.#settings.clock.now();
    if (!this.#trusted(now)) {
      if (!this.#settings.expiryOnlyWhenFeedFails)
        throw new RevocationsUnavailableError({ retryAfter: Math.ceil(Math.min(this.#backoffMs, MAX_BACKOFF_MS) / 1000) });
    }
    if (kid !== undefined && (this.#keys.get(kid) ?? 0) > now)
      throw new TokenInvalidError({ message: 'The key that signed this token was withdrawn.' });
    if ((this.#sessions.get(claims.sid) ?? 0) > now) throw new TokenRevokedError();
  }

  /** Stops reading and every timer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#reconnect);
    this.#abort?.abort();
    void this.#reader?.cancel().catch(() => undefined);
    await this.#running?.catch(() => undefined);
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Whether the maps can be trusted now: synced and not down past the bound. */
  #trusted(now: number): boolean {
    if (this.#state === 'live') return true;
    if (this.#state === 'failed') return false;
    // Connecting for the first time: nothing is known yet, so nothing can be vouched for.
    if (!this.#synced) return false;
    return now - this.#lastLive < this.#settings.failClosedAfterMs;
  }

  #setState(next: RevocationFeedState): void {
    this.#state = next;
    if (next === 'live') {
      for (const wake of this.#waiters) wake();
      this.#waiters.clear();
    }
  }

  #tick(): void {
    const now = this.#settings.clock.now();
    for (const map of [this.#sessions, this.#keys]) for (const [ref, until] of map) if (until <= now) map.delete(ref);
    if (this.#state === 'live') {
      this.#lastLive = now;
      if (now - this.#lastSeen >= this.#settings.lostAfterMs) this.#lose(`no event nor heartbeat for ${this.#settings.lostAfterMs} ms`);
      return;
    }
    // A connection attempt that hangs (no answer, or an answer and then silence before the snapshot) is
    // dropped too, or the feed would wait on it for ever and never recover once the server is back.
    if (this.#abort !== undefined && !this.#abort.signal.aborted && now - this.#lastSeen >= this.#settings.lostAfterMs)
      this.#lose(`no answer for ${this.#settings.lostAfterMs} ms`);
    if (this.#state !== 'failed' && now - this.#lastLive >= this.#settings.failClosedAfterMs) {
      this.#setState('failed');
      this.#settings.log(
        this.#settings.expiryOnlyWhenFeedFails
          ? 'revocation feed down: accepting tokens on their expiry alone (expiryOnlyWhenFeedFails)'
          : 'revocation feed down: refusing every token with 503 revocations_unavailable until it is back',
      );
      this.#settings.onEvent?.({ type: 'feed_failed', lostMs: now - this.#lastLive });
    }
  }

  /** Drops the connection and reconnects from the cursor after the backoff. */
  #lose(reason: string): void {
    if (this.#closed) return;
    if (this.#state === 'live') {
      this.#setState('lost');
      this.#settings.log(`revocation feed lost (${reason}): reconnecting from its cursor`);
    }
    this.#settings.onEvent?.({ type: 'feed_lost', reason });
    this.#abort?.abort();
    void this.#reader?.cancel().catch(() => undefined);
  }

  #connect(): void {
    if (this.#closed) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#lastSeen = this.#settings.clock.now();
    this.#running = this.#read(abort.signal)
      .catch((err: unknown) => {
        // Aborted: by `#lose` (already reported) or by `close`.
        if (!abort.signal.aborted) this.#lose(err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        if (this.#closed) return;
        if (this.#state === 'live') this.#lose('the server closed the stream');
        const delay = this.#retryMs ?? this.#backoffMs;
        this.#retryMs = undefined;
        this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
        this.#reconnect = unref(setTimeout(() => this.#connect(), delay));
      });
  }

  async #read(signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#settings.token}`, accept: 'text/event-stream' };
    if (this.#cursor !== undefined) headers['last-event-id'] = this.#cursor;
    const response = await this.#settings.fetch(this.#settings.url, { headers, signal });
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      // 401/403: a wrong token; 404: the feed is off (TESSERA_REVOCATIONS_TOKEN unset). Either way the
      // operator must act; meanwhile the feed fails closed after its bound, as for an outage.
      throw new Error(`the feed answered ${response.status}`);
    }
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await response.body.cancel().catch(() => undefined);
      throw new Error('the feed did not answer text/event-stream');
    }
    this.#lastSeen = this.#settings.clock.now();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    this.#reader = reader;
    const parser = new EventStreamParser((event) => this.#dispatch(event));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        this.#lastSeen = this.#settings.clock.now();
        parser.push(value);
      }
    } finally {
      this.#reader = undefined;
      reader.releaseLock();
    }
  }

  /** One event of the stream (RFC-less, per the HTML Standard's "Server-sent events" processing model). */
  #dispatch(event: ParsedEvent): void {
    // Bounded: `retry: 0` from a broken server would reconnect in a tight loop, and a delay past 2^31 ms is run by
    // timers after 1 ms (the same loop); past a minute the feed would have failed closed anyway.
    if (event.retry !== undefined) this.#retryMs = Math.min(Math.max(event.retry, FIRST_BACKOFF_MS), MAX_RETRY_MS);
    if (event.type === 'heartbeat') return this.#live(false);
    if (event.type !== 'snapshot' && event.type !== 'revoked') return;
    let items: Revoked[];
    try {
      items = parseItems(event.type, event.data);
    } catch {
      return this.#lose('an event that is not the feed');
    }
    const now = this.#settings.clock.now();
    if (event.type === 'snapshot') {
      // A snapshot is the whole truth as of its id: what was known before is replaced.
      this.#sessions.clear();
      this.#keys.clear();
    }
    for (const item of items) this.#apply(item, now);
    if (event.id !== undefined) this.#cursor = event.id;
    if (event.type === 'snapshot') this.#live(true);
  }

  #apply(item: Revoked, now: number): void {
    if (item.ttl <= 0) return;
    const map = item.kind === 'session' ? this.#sessions : this.#keys;
    const ttl = Math.min(item.ttl, this.#settings.maxTtlMs ?? item.ttl);
    map.set(item.ref, Math.max(map.get(item.ref) ?? 0, now + ttl));
    this.#settings.onEvent?.({ type: 'feed_revoked', kind: item.kind });
    if (item.kind === 'key') for (const listener of this.#keyListeners) listener(item.ref);
  }

  /**
   * Live once complete: after a snapshot, or on a resume from a cursor at the heartbeat the server sends
   * right after the events missed meanwhile.
   */
  #live(snapshot: boolean): void {
    if (snapshot) this.#synced = true;
    if (!this.#synced || this.#state === 'live') return;
    this.#backoffMs = FIRST_BACKOFF_MS;
    this.#lastLive = this.#settings.clock.now();
    if (this.#state !== 'connecting') this.#settings.log('revocation feed live again');
    this.#setState('live');
    this.#settings.onEvent?.({ type: 'feed_live', cursor: this.#cursor, snapshot });
  }
}

interface ParsedEvent {
  readonly type: string;
  readonly data: string;
  readonly id: string | undefined;
  readonly retry: number | undefined;
}

/** The event-stream format: lines, `field: value`, a blank line ends an event; `:` lines are comments. */
class EventStreamParser {
  #buffer = '';
  #type = '';
  #data: string[] = [];
  /** Characters of `#data` so far. */
  #size = 0;
  #id: string | undefined;
  #retry: number | undefined;
  readonly #emit: (event: ParsedEvent) => void;

  constructor(emit: (event: ParsedEvent) => void) {
    this.#emit = emit;
  }

  push(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/);
      if (end === -1) break;
      // A lone \r at the end of the buffer may be the first half of \r\n: wait for the next chunk.
      if (this.#buffer[end] === '\r' && end === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(this.#buffer.startsWith('\r\n', end) ? end + 2 : end + 1);
      this.#line(line);
    }
    if (this.#buffer.length > MAX_LINE) throw new Error('a line of the feed is too long');
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0 || this.#type !== '' || this.#retry !== undefined)
        this.#emit({ type: this.#type === '' ? 'message' : this.#type, data: this.#data.join('\n'), id: this.#id, retry: this.#retry });
      this.#type = '';
      this.#data = [];
      this.#size = 0;
      this.#id = undefined;
      this.#retry = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#type = value;
    else if (field === 'data') {
      // Lines are bounded one by one; an event without its ending blank line must be bounded as a whole too.
      this.#size += value.length + 1;
      if (this.#size > MAX_LINE) throw new Error('an event of the feed is too long');
      this.#data.push(value);
    } else if (field === 'id' && !value.includes('\0')) this.#id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.#retry = Number(value);
  }
}

/** The items of a `revoked` event (one) or a `snapshot` (`{revoked: [...]}`); anything else throws. */
function parseItems(type: 'snapshot' | 'revoked', data: string): Revoked[] {
  const parsed: unknown = JSON.parse(data);
  const list = type === 'snapshot' ? (parsed as { revoked?: unknown }).revoked : [parsed];
  if (!Array.isArray(list)) throw new TypeError('not a list');
  return list.map((item: unknown) => {
    const { kind, ref, ttl } = (item ?? {}) as Record<string, unknown>;
    if ((kind !== 'session' && kind !== 'key') || typeof ref !== 'string' || typeof ttl !== 'number' || !Number.isFinite(ttl))
      throw new TypeError('not an event');
    return { kind, ref, ttl };
  });
}

/** Node's timers would keep a process alive for the feed alone; other runtimes' timers are numbers. */
function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

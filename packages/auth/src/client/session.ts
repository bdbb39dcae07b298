// The session this client holds: its tokens and their expiry, the counters that tell stale work
// from current, the events that announce changes, and the storage that carries it over a reload.
import type { Transport } from '../protocol/protocol.js';
import type { Held, TokenBody } from './auth-api.js';
import type { ClientError } from './errors.js';
import { peekClaims, type TokenStorage } from './platform.js';
import { text } from './text.js';
import { expiryFrom } from './timing.js';

/** The client's view of the session. */
export interface SessionState {
  readonly signedIn: boolean;
  readonly transport: Transport | undefined;
  /** When the access token expires, on the `now` clock; undefined when unknown (cookie transport after a reload). */
  readonly expiresAt: number | undefined;
  /** The access token's lifetime as issued, in ms. */
  readonly lifetime: number | undefined;
  /** The session id, read from the access token (unverified); undefined in the cookie transport. */
  readonly sid: string | undefined;
}

/** What started a session: a login, a restore after reload, another tab, or an add-on's exchange (`signInWith`). */
export type SignInSource = 'login' | 'restore' | 'tab' | 'exchange';

/** Events and what their listeners receive. */
export interface ClientEvents {
  signedIn: { readonly session: SessionState; readonly source: SignInSource };
  refreshed: { readonly session: SessionState; readonly source: 'self' | 'tab' };
  /** An explicit logout here (`logout`, `logoutAll`) or in another tab (`tab`). */
  signedOut: { readonly reason: 'logout' | 'logoutAll' | 'tab' };
  /** The server refused the session (revoked, expired, reused): signed out. */
  sessionExpired: { readonly error: ClientError };
  /** A refresh could not reach the server or the server was busy; the next try waits `retryIn` ms. */
  refreshFailed: { readonly error: ClientError; readonly retryIn: number };
}

export type Listener<E extends keyof ClientEvents> = (detail: ClientEvents[E]) => void;

/** Everything a login, a refresh or another tab hands over. */
export interface Tokens {
  readonly transport: Transport;
  readonly access: string | undefined;
  readonly refresh: string | undefined;
  readonly csrf: string | undefined;
  readonly sid: string | undefined;
  readonly expiresAt: number | undefined;
  readonly lifetime: number | undefined;
}

/** The tokens held and what is known of them; the client and its parts read and write it directly. */
export class Session implements Held {
  signedIn = false;
  transport: Transport | undefined;
  access: string | undefined;
  refresh: string | undefined;
  csrf: string | undefined;
  sid: string | undefined;
  expiresAt: number | undefined;
  lifetime: number | undefined;
  /** Where in the last quarter of the margin the proactive refresh falls, drawn anew for each token. */
  jitter = Math.random();
  /** Bumped whenever the credentials change: a request sent with older ones retries without a refresh. */
  generation = 0;
  /** Bumped at every sign-in and sign-out: a refresh begun before is stale and is dropped. */
  epoch = 0;

  /** The clock that `expiresAt` and every other time of the client is read on. */
  readonly now: () => number;

  readonly #listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();
  readonly #storage: TokenStorage | undefined;
  readonly #remember: TokenStorage | undefined;
  readonly #key: string;

  /** `storage` keeps bearer tokens, `remember` the last transport, both under keys that start with `key`. */
  constructor(now: () => number, storage: TokenStorage | undefined, remember: TokenStorage | undefined, key: string) {
    this.now = now;
    this.#storage = storage;
    this.#remember = remember;
    this.#key = key;
  }

  /** A frozen snapshot, for callers and listeners. */
  state(): SessionState {
    return Object.freeze({ signedIn: this.signedIn, transport: this.transport, expiresAt: this.expiresAt, lifetime: this.lifetime, sid: this.sid });
  }

  /** Takes a token answer (or a stored one); `expiresAt` overrides the one from `expires_in`. */
  adopt(body: TokenBody, receivedAt: number, transport: Transport, expiresAt?: number): void {
    const timing = expiryFrom(receivedAt, body.expiresIn);
    const sid = body.access === undefined ? undefined : peekClaims(body.access)?.sid;
    this.hold({
      transport,
      access: body.access,
      // Cookie transports keep the refresh token in an HttpOnly cookie, and their CSRF value across refreshes.
      refresh: transport === 'bearer' ? (body.refresh ?? this.refresh) : undefined,
      csrf: body.csrf ?? (transport === 'bearer' ? undefined : this.csrf),
      sid: typeof sid === 'string' ? sid : undefined,
      expiresAt: expiresAt ?? timing.expiresAt,
      lifetime: timing.lifetime,
    });
  }

  /** Signs in with these tokens (a new generation) and keeps them in storage. */
  hold(tokens: Tokens): void {
    Object.assign(this, tokens);
    this.signedIn = true;
    this.jitter = Math.random();
    this.generation++;
    this.#store();
  }

  /** Forgets the session locally (a new epoch: refreshes under way are dropped when they land). */
  clear(): void {
    this.signedIn = false;
    this.transport = undefined;
    this.access = undefined;
    this.refresh = undefined;
    this.csrf = undefined;
    this.sid = undefined;
    this.expiresAt = undefined;
    this.lifetime = undefined;
    this.epoch++;
    this.generation++;
  }

  // ——— events ———

  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<E extends keyof ClientEvents>(event: E, detail: ClientEvents[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<E>)(detail);
      } catch {
        // A failing listener must not break the client's own bookkeeping.
      }
    }
  }

  /** Drops every listener (the client is closed). */
  silence(): void {
    this.#listeners.clear();
  }

  // ——— storage ———

  /** Bearer with `storage` only: the tokens, so they survive a reload. */
  #store(): void {
    if (this.#storage === undefined || this.transport !== 'bearer' || this.expiresAt === undefined) return;
    const saved = { access: this.access, refresh: this.refresh, expiresAt: this.expiresAt, lifetime: this.lifetime };
    const storage = this.#storage;
    quietly(() => storage.setItem(`${this.#key}:tokens`, JSON.stringify(saved)));
  }

  /** The bearer tokens a previous page kept in `storage`, if any. */
  stored(): { body: TokenBody; expiresAt: number } | undefined {
    if (this.#storage === undefined) return undefined;
    try {
      const saved = JSON.parse(this.#storage.getItem(`${this.#key}:tokens`) ?? 'null') as Record<string, unknown> | null;
      if (saved === null || typeof saved.refresh !== 'string' || typeof saved.expiresAt !== 'number' || typeof saved.lifetime !== 'number')
        return undefined;
      const body = {
        expiresIn: saved.lifetime / 1000,
        refresh: saved.refresh,
        access: text(saved.access),
        csrf: undefined,
      };
      return { body, expiresAt: saved.expiresAt };
    } catch {
      return undefined;
    }
  }

  /** Remembers the transport of a login (its name only), for `restore` after a reload. */
  rememberTransport(transport: Transport): void {
    quietly(() => this.#remember?.setItem(`${this.#key}:transport`, transport));
  }

  rememberedTransport(): unknown {
    return quietly(() => this.#remember?.getItem(`${this.#key}:transport`));
  }

  /** Removes the stored tokens, and with `transport` the remembered transport too. */
  forget(transport: boolean): void {
    quietly(() => this.#storage?.removeItem(`${this.#key}:tokens`));
    if (transport) quietly(() => this.#remember?.removeItem(`${this.#key}:transport`));
  }
}

/** Storage may throw (quota, privacy settings): a hint that cannot be kept is not worth an error. */
function quietly<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}

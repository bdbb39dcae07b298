// The Tessera client: login, logout, an authenticated `fetch` and the refresh machinery behind it.
// One refresh at a time (single-flight), one retry per request, never a loop; proactive refresh
// timed from `expires_in`; tabs share results over a BroadcastChannel without any lock.
import type { Transport } from '../protocol/protocol.js';
import { CookieJar } from './cookie-jar.js';
import { ClientError, networkError, peekError, readError } from './errors.js';
import {
  defaultStorage,
  inBrowser,
  onWake,
  openChannel,
  pageCookie,
  pageUrl,
  peekClaims,
  startTimer,
  type ChannelLike,
  type TokenStorage,
} from './platform.js';
import { optional, parseTabMessage, PEER_LEASE_MS, type TabMessage, type TokenNews } from './tabs.js';
import { cooldownAfter, expiryFrom, refreshDueAt, refreshMargin } from './timing.js';

/** The platform `fetch`, or anything with its signature. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of `createClient`. Only `baseUrl` is required. */
export interface ClientOptions {
  /** The auth server, e.g. `'https://auth.example.com/'`; in a page, a path such as `'/'` is read against the page address. */
  baseUrl: string | URL;
  /**
   * The transport to ask for at login, or several in order of preference: when the server refuses
   * one (400), the next is tried. Default `['hybrid', 'cookie', 'bearer']`.
   */
  transport?: Transport | readonly Transport[];
  /** Other origins whose APIs accept these tokens; `fetch` sends credentials to the auth server's origin and these only. */
  apiOrigins?: readonly string[];
  /** Refresh shortly before the access token expires (default true); a refused token is refreshed and retried either way. */
  autoRefresh?: boolean;
  /** The BroadcastChannel that keeps tabs in step, or false. Default: one per auth server in a page; none elsewhere. */
  channel?: string | false;
  /** Where cookies are kept where `fetch` keeps none. Default: a new jar in Node, Bun and Deno; the browser's own in a page. */
  cookieJar?: CookieJar | false;
  /**
   * Bearer only: keep the tokens across page loads in this storage (e.g. `sessionStorage`). Off by
   * default, because any script that runs in the page (an XSS) can read storage and take the
   * refresh token with it; the hybrid transport keeps the refresh token in an HttpOnly cookie instead.
   */
  storage?: TokenStorage;
  /**
   * Where to remember the transport of the last login (its name only, never a token), so a reload
   * knows whether to refresh (hybrid) or ask `/auth/me` (cookie). Default `localStorage` in a page.
   */
  remember?: TokenStorage | false;
  /** The `fetch` to call (default the platform's). */
  fetch?: FetchLike;
  /** The clock, in milliseconds (default `Date.now`); only differences between its readings matter. */
  now?: () => number;
}

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

/** Events and what their listeners receive. */
export interface ClientEvents {
  signedIn: { readonly session: SessionState; readonly source: 'login' | 'restore' | 'tab' };
  refreshed: { readonly session: SessionState; readonly source: 'self' | 'tab' };
  /** An explicit logout here (`logout`, `logoutAll`) or in another tab (`tab`). */
  signedOut: { readonly reason: 'logout' | 'logoutAll' | 'tab' };
  /** The server refused the session (revoked, expired, reused): signed out. */
  sessionExpired: { readonly error: ClientError };
  /** A refresh could not reach the server or the server was busy; the next try waits `retryIn` ms. */
  refreshFailed: { readonly error: ClientError; readonly retryIn: number };
}

/** Credentials for `login` and `register`. */
export interface Credentials {
  username: string;
  password: string;
}

interface TokenBody {
  readonly expiresIn: number;
  readonly access?: string;
  readonly refresh?: string;
  readonly csrf?: string;
}

type Listener<E extends keyof ClientEvents> = (detail: ClientEvents[E]) => void;

const DEFAULT_TRANSPORTS: readonly Transport[] = ['hybrid', 'cookie', 'bearer'];
const CSRF_COOKIES = ['__Host-tessera-csrf', 'tessera-csrf'] as const;
const CSRF_HEADER = 'x-csrf-token';
const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' } as const;
/** A 401 with one of these codes means the session itself is over: refreshing cannot help. */
const SESSION_OVER = new Set(['token_revoked', 'user_invalid', 'refresh_token_reused']);

/**
 * A client for a Tessera auth server.
 * @example
 * const client = createClient({ baseUrl: '/' });
 * await client.restore();
 * if (!client.session.signedIn) await client.login({ username, password });
 * const me = await (await client.fetch('/auth/me')).json();
 */
export class TesseraClient {
  readonly #base: URL;
  readonly #origins: ReadonlySet<string>;
  readonly #preferred: readonly Transport[];
  readonly #auto: boolean;
  readonly #fetchImpl: FetchLike;
  readonly #now: () => number;
  readonly #jar: CookieJar | undefined;
  readonly #storage: TokenStorage | undefined;
  readonly #remember: TokenStorage | undefined;
  readonly #key: string;
  readonly #channel: ChannelLike | undefined;
  readonly #stopWake: () => void;
  readonly #listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();

  #signedIn = false;
  #transport: Transport | undefined;
  #access: string | undefined;
  #refresh: string | undefined;
  #csrf: string | undefined;
  #sid: string | undefined;
  #expiresAt: number | undefined;
  #lifetime: number | undefined;
  #jitter = Math.random();
  /** Bumped whenever the credentials change: a request sent with older ones retries without a refresh. */
  #generation = 0;
  /** Bumped at every sign-in and sign-out: a refresh begun before is stale and is dropped. */
  #epoch = 0;
  #inflight: Promise<SessionState> | undefined;
  #failures = 0;
  #cooldownUntil = 0;
  #peerRefreshingUntil = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: ClientOptions) {
    const page = pageUrl();
    const base = new URL(String(options.baseUrl), page);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#base = base;
    this.#origins = new Set([base.origin, ...(options.apiOrigins ?? []).map((o) => new URL(o).origin)]);
    const transports =
      options.transport === undefined ? DEFAULT_TRANSPORTS : typeof options.transport === 'string' ? [options.transport] : options.transport;
    if (transports.length === 0 || transports.some((t) => !DEFAULT_TRANSPORTS.includes(t)))
      throw new TypeError(`transport must be bearer, cookie or hybrid, or a list of them (got ${JSON.stringify(options.transport)}).`);
    this.#preferred = [...transports];
    this.#auto = options.autoRefresh ?? true;
    if (options.fetch === undefined && typeof globalThis.fetch !== 'function') throw new TypeError('No fetch on this platform: pass options.fetch.');
    this.#fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    const browser = inBrowser();
    this.#jar = options.cookieJar === false ? undefined : (options.cookieJar ?? (browser ? undefined : new CookieJar({ now: this.#now })));
    this.#storage = options.storage;
    this.#remember = options.remember === false ? undefined : (options.remember ?? (browser ? defaultStorage() : undefined));
    this.#key = `tessera:${base.origin}${base.pathname}`;
    const channel = options.channel ?? (browser ? this.#key : false);
    this.#channel = channel === false ? undefined : openChannel(channel);
    if (this.#channel !== undefined) this.#channel.onmessage = (event) => this.#onTabMessage(event.data);
    this.#stopWake = onWake((cause) => {
      // Back online: the cooldown was waiting out a network that is now there.
      if (cause === 'online') this.#cooldownUntil = 0;
      this.#schedule();
    });
  }

  /** The current session, as a snapshot. */
  get session(): SessionState {
    return Object.freeze({
      signedIn: this.#signedIn,
      transport: this.#transport,
      expiresAt: this.#expiresAt,
      lifetime: this.#lifetime,
      sid: this.#sid,
    });
  }

  /**
   * Listens to an event; answers a function that stops listening.
   * @example const stop = client.on('sessionExpired', () => showLogin());
   */
  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /**
   * Creates an account (`POST /auth/register`); does not sign in.
   * @example await client.register({ username: 'ada', password: 'correct horse' });
   */
  async register(credentials: Credentials): Promise<{ id: string; username: string }> {
    const response = await this.#raw(this.#url('auth/register'), {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ username: credentials.username, password: credentials.password }),
    });
    if (!response.ok) throw await readError(response);
    return (await response.json()) as { id: string; username: string };
  }

  /**
   * Logs in with the first transport the server allows, in the order of `options.transport`.
   * @example const session = await client.login({ username, password });
   */
  async login(credentials: Credentials): Promise<SessionState> {
    for (const [index, transport] of this.#preferred.entries()) {
      const response = await this.#raw(this.#url('auth/login'), {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ username: credentials.username, password: credentials.password, transport }),
      });
      const receivedAt = this.#now();
      if (!response.ok) {
        const error = await readError(response);
        // A refused transport answers 400 before the credentials are looked at: try the next one.
        if (response.status === 400 && error.code === 'invalid_request' && index + 1 < this.#preferred.length) continue;
        throw error;
      }
      const body = tokenBody(await response.json().catch(() => undefined));
      if (body === undefined) throw new ClientError('invalid_response', 'The login answer is not a token response', { status: response.status });
      this.#reset();
      // The answer's shape says how the tokens travel, whatever was asked.
      this.#adopt(body, receivedAt, transportOf(body));
      this.#rememberTransport(transportOf(body));
      this.#announce('signedIn');
      this.#emit('signedIn', { session: this.session, source: 'login' });
      return this.session;
    }
    throw new TypeError('unreachable: at least one transport is tried');
  }

  /**
   * After a page load: takes up the session that survived it, if any. Hybrid: one refresh through
   * the cookie. Cookie: asks `/auth/me` (refreshing once if the access cookie has gone). Bearer:
   * only with `storage`. Resolves to the session; signed out when there was none to restore.
   * @example const { signedIn } = await client.restore();
   */
  async restore(): Promise<SessionState> {
    if (this.#signedIn) return this.session;
    const epoch = this.#epoch;
    const stored = this.#loadStored();
    if (stored !== undefined) {
      this.#adopt(stored.body, this.#now(), 'bearer', stored.expiresAt);
      this.#emit('signedIn', { session: this.session, source: 'restore' });
      return this.session;
    }
    const remembered = quietly(() => this.#remember?.getItem(`${this.#key}:transport`));
    const hint = DEFAULT_TRANSPORTS.find((t) => t === remembered);
    if (hint === 'bearer') return this.session;
    const only = this.#preferred.length === 1 ? this.#preferred[0] : undefined;
    if (hint === 'cookie' || (hint === undefined && only === 'cookie')) {
      const me = await this.#raw(this.#url('auth/me'), { method: 'GET', headers: { accept: 'application/json' } });
      if (this.#signedIn || epoch !== this.#epoch) return this.session; // another tab got there first
      if (me.ok) {
        this.#transport = 'cookie';
        this.#signedIn = true;
        this.#generation++;
        this.#emit('signedIn', { session: this.session, source: 'restore' });
        return this.session;
      }
    } else if (hint === undefined && this.#csrfValue() === undefined) {
      return this.session; // no sign of a cookie session: nothing to ask the server
    }
    try {
      return await this.#startRefresh();
    } catch (err) {
      // A session that is gone is simply not restored; an unreachable server is worth telling.
      if (err instanceof ClientError && (err.code === 'network_error' || (err.status ?? 0) >= 500)) throw err;
      return this.session;
    }
  }

  /**
   * A drop-in `fetch` for the auth server's origin (and `apiOrigins`): attaches the access token
   * (or, with cookies, the CSRF header on state-changing methods), refreshes first when the token
   * is about to expire, and on a 401 `token_expired` refreshes once and retries once. Requests to
   * any other origin go out untouched, without credentials. Relative URLs are read against `baseUrl`.
   * @example const response = await client.fetch('/api/orders', { method: 'POST', body: JSON.stringify(order) });
   */
  async fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
    const url = new URL(request?.url ?? String(input), this.#base);
    if (!this.#origins.has(url.origin)) return this.#fetchImpl(input, init);
    if (this.#signedIn && this.#refreshDue()) await this.#autoRefresh().catch(() => undefined);
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const spare = request?.clone();
    const callerAuthorization = new Headers(init.headers ?? request?.headers).has('authorization');
    const send = (from: Request | undefined) => {
      const headers = new Headers(init.headers ?? from?.headers);
      this.#decorate(headers, method);
      return this.#raw(from ?? url, { ...init, headers });
    };
    const generation = this.#generation;
    const response = await send(request);
    if (response.status !== 401 || callerAuthorization || !this.#signedIn) return response;
    const { code, message } = await peekError(response);
    if (code !== undefined && SESSION_OVER.has(code)) {
      if (generation === this.#generation) this.#expire(new ClientError(code, message ?? 'The session has ended', { status: 401 }));
      return response;
    }
    const expired = code === 'token_expired' || (code === 'token_missing' && this.#transport === 'cookie');
    if (!expired || isStream(init.body)) return response;
    // Only a refresh that has not happened since this request went out is worth asking for; the
    // request is sent again once, and only with credentials other than those it was refused with.
    if (generation === this.#generation) await this.#autoRefresh().catch(() => undefined);
    if (!this.#signedIn || generation === this.#generation) return response;
    return send(spare);
  }

  /**
   * The current access token (bearer and hybrid), refreshed first if it is about to expire; for
   * HTTP clients other than `fetch`. Undefined when signed out or in the cookie transport.
   * @example headers.Authorization = `Bearer ${await client.getAccessToken()}`;
   */
  async getAccessToken(): Promise<string | undefined> {
    if (this.#signedIn && this.#refreshDue()) await this.#autoRefresh().catch(() => undefined);
    return this.#access;
  }

  /**
   * Refreshes now (joining one already under way). Rejects with the server's code when refused,
   * in which case the client is signed out and `sessionExpired` fires.
   * @example await client.refresh();
   */
  refresh(): Promise<SessionState> {
    if (!this.#signedIn) return Promise.reject(new ClientError('signed_out', 'There is no session to refresh'));
    return this.#startRefresh();
  }

  /**
   * Ends this session on the server and here, clearing its cookies; other tabs follow. Signed out
   * locally even when the server cannot be reached (then it rejects, so the app can say so).
   * @example await client.logout();
   */
  async logout(): Promise<void> {
    const transport = this.#transport;
    const headers = new Headers({ accept: 'application/json' });
    let body: string | undefined;
    if (this.#refresh !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify({ refresh_token: this.#refresh });
    } else if (transport === 'bearer' && this.#access !== undefined) headers.set('authorization', `Bearer ${this.#access}`);
    else {
      // The refresh cookie names the session. No Authorization header: an expired access token
      // beside it would make the server judge that one and revoke nothing.
      const csrf = this.#csrfValue();
      if (csrf !== undefined) headers.set(CSRF_HEADER, csrf);
    }
    let failure: ClientError | undefined;
    try {
      const response = await this.#raw(this.#url('auth/logout'), { method: 'POST', headers, ...optional('body', body) });
      // 401: no live token was sent, so there was nothing left to end.
      if (!response.ok && response.status !== 401) failure = await readError(response);
    } catch (err) {
      failure = err instanceof ClientError ? err : networkError(err);
    }
    this.#signOut('logout');
    if (failure !== undefined) throw failure;
  }

  /**
   * Ends every session of the user (`POST /auth/logout-all`) and signs out here and in other tabs.
   * @example await client.logoutAll();
   */
  async logoutAll(): Promise<void> {
    if (!this.#signedIn) throw new ClientError('signed_out', 'There is no session to end');
    const response = await this.fetch(this.#url('auth/logout-all'), { method: 'POST' });
    if (!response.ok) throw await readError(response);
    this.#signOut('logoutAll');
  }

  /** Stops timers and listeners and closes the tab channel; the client does nothing after. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#stopWake();
    this.#channel?.close();
    this.#listeners.clear();
  }

  // ——— refresh ———

  #refreshDue(): boolean {
    if (this.#expiresAt === undefined || this.#lifetime === undefined || this.#lifetime === 0) return false;
    return this.#expiresAt - this.#now() <= refreshMargin(this.#lifetime);
  }

  /** An automatic refresh: skipped while the cooldown after a failure lasts. */
  #autoRefresh(): Promise<SessionState> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#now() < this.#cooldownUntil)
      return Promise.reject(new ClientError('refresh_cooldown', 'The last refresh failed; waiting before the next'));
    return this.#startRefresh();
  }

  /** Single flight: every caller shares the refresh under way. */
  #startRefresh(): Promise<SessionState> {
    if (this.#inflight !== undefined) return this.#inflight;
    const run = this.#runRefresh(this.#epoch).finally(() => {
      if (this.#inflight === run) this.#inflight = undefined;
    });
    this.#inflight = run;
    return run;
  }

  async #runRefresh(epoch: number): Promise<SessionState> {
    this.#post({ type: 'refreshing' });
    const headers = new Headers({ accept: 'application/json' });
    let body: string | undefined;
    if (this.#transport === 'bearer') {
      headers.set('content-type', 'application/json');
      body = JSON.stringify({ refresh_token: this.#refresh });
    } else {
      const csrf = this.#csrfValue();
      if (csrf !== undefined) headers.set(CSRF_HEADER, csrf);
    }
    let response: Response;
    try {
      // The refresh call goes straight to the platform fetch: it is never intercepted or retried.
      response = await this.#raw(this.#url('auth/refresh'), { method: 'POST', headers, ...optional('body', body) });
    } catch (err) {
      throw this.#failed(err instanceof ClientError ? err : networkError(err));
    }
    const receivedAt = this.#now();
    if (!response.ok) {
      const error = await readError(response);
      if (response.status >= 500 || response.status === 429 || response.status === 408) throw this.#failed(error);
      if (epoch === this.#epoch && this.#signedIn) this.#expire(error);
      throw error;
    }
    const parsed = tokenBody(await response.json().catch(() => undefined));
    if (parsed === undefined)
      throw this.#failed(new ClientError('invalid_response', 'The refresh answer is not a token response', { status: response.status }));
    if (epoch !== this.#epoch) throw new ClientError('refresh_discarded', 'A logout or a new login happened while refreshing');
    const restored = !this.#signedIn;
    this.#failures = 0;
    this.#cooldownUntil = 0;
    this.#adopt(parsed, receivedAt, transportOf(parsed));
    if (restored) this.#rememberTransport(transportOf(parsed));
    this.#announce(restored ? 'signedIn' : 'refreshed');
    if (restored) this.#emit('signedIn', { session: this.session, source: 'restore' });
    else this.#emit('refreshed', { session: this.session, source: 'self' });
    return this.session;
  }

  /** A refresh that may work later (no answer, 5xx, 429): cool down 1 s, 2 s, 4 s … 60 s, then try again. */
  #failed(error: ClientError): ClientError {
    if (!this.#signedIn) return error;
    this.#failures++;
    const wait = Math.max(cooldownAfter(this.#failures), (error.retryAfter ?? 0) * 1000);
    this.#cooldownUntil = this.#now() + wait;
    this.#emit('refreshFailed', { error, retryIn: wait });
    this.#schedule();
    return error;
  }

  /** Arms the proactive refresh (or re-arms it after a wake-up), from the local clock only. */
  #schedule(): void {
    this.#clearTimer();
    if (this.#closed || !this.#auto || !this.#signedIn || this.#expiresAt === undefined || !this.#lifetime) return;
    const now = this.#now();
    const at = Math.max(refreshDueAt(this.#expiresAt, this.#lifetime, this.#jitter), this.#cooldownUntil, this.#peerRefreshingUntil);
    this.#timer = startTimer(() => this.#onTimer(), at - now);
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#closed || !this.#signedIn || this.#expiresAt === undefined || !this.#lifetime) return;
    const now = this.#now();
    const at = Math.max(refreshDueAt(this.#expiresAt, this.#lifetime, this.#jitter), this.#cooldownUntil, this.#peerRefreshingUntil);
    // A timer may fire early after the token was replaced, or a wake-up may find a lease still running.
    if (at > now) return this.#schedule();
    void this.#autoRefresh().catch(() => undefined);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ——— session state ———

  /** Takes a token answer (or a stored one); `expiresAt` overrides the one from `expires_in`. */
  #adopt(body: TokenBody, receivedAt: number, transport: Transport, expiresAt?: number): void {
    const timing = expiryFrom(receivedAt, body.expiresIn);
    this.#signedIn = true;
    this.#transport = transport;
    this.#access = body.access;
    this.#refresh = transport === 'bearer' ? (body.refresh ?? this.#refresh) : undefined;
    this.#csrf = body.csrf ?? (transport === 'bearer' ? undefined : this.#csrf);
    const sid = body.access === undefined ? undefined : peekClaims(body.access)?.sid;
    this.#sid = typeof sid === 'string' ? sid : undefined;
    this.#expiresAt = expiresAt ?? timing.expiresAt;
    this.#lifetime = timing.lifetime;
    this.#jitter = Math.random();
    this.#generation++;
    this.#store();
    this.#schedule();
  }

  /** Forgets the session locally (a new epoch: refreshes under way are dropped when they land). */
  #reset(): void {
    this.#signedIn = false;
    this.#transport = undefined;
    this.#access = undefined;
    this.#refresh = undefined;
    this.#csrf = undefined;
    this.#sid = undefined;
    this.#expiresAt = undefined;
    this.#lifetime = undefined;
    this.#failures = 0;
    this.#cooldownUntil = 0;
    this.#epoch++;
    this.#generation++;
    this.#clearTimer();
  }

  /** The server refused the session: signed out here only (other tabs find out for themselves). */
  #expire(error: ClientError): void {
    this.#reset();
    quietly(() => this.#storage?.removeItem(`${this.#key}:tokens`));
    this.#emit('sessionExpired', { error });
  }

  /** An explicit logout: signed out here and in the other tabs. */
  #signOut(reason: 'logout' | 'logoutAll'): void {
    const { transport, sid } = { transport: this.#transport, sid: this.#sid };
    this.#reset();
    quietly(() => this.#storage?.removeItem(`${this.#key}:tokens`));
    quietly(() => this.#remember?.removeItem(`${this.#key}:transport`));
    this.#post({ type: 'signedOut', transport, ...optional('sid', sid) });
    this.#emit('signedOut', { reason });
  }

  /** Bearer with `storage` only: the tokens, so they survive a reload. */
  #store(): void {
    if (this.#storage === undefined || this.#transport !== 'bearer' || this.#expiresAt === undefined) return;
    const saved = { access: this.#access, refresh: this.#refresh, expiresAt: this.#expiresAt, lifetime: this.#lifetime };
    const storage = this.#storage;
    quietly(() => storage.setItem(`${this.#key}:tokens`, JSON.stringify(saved)));
  }

  #rememberTransport(transport: Transport): void {
    quietly(() => this.#remember?.setItem(`${this.#key}:transport`, transport));
  }

  #loadStored(): { body: TokenBody; expiresAt: number } | undefined {
    if (this.#storage === undefined) return undefined;
    try {
      const saved = JSON.parse(this.#storage.getItem(`${this.#key}:tokens`) ?? 'null') as Record<string, unknown> | null;
      if (saved === null || typeof saved.refresh !== 'string' || typeof saved.expiresAt !== 'number' || typeof saved.lifetime !== 'number')
        return undefined;
      const body = {
        expiresIn: saved.lifetime / 1000,
        refresh: saved.refresh,
        ...optional('access', typeof saved.access === 'string' ? saved.access : undefined),
      };
      return { body, expiresAt: saved.expiresAt };
    } catch {
      return undefined;
    }
  }

  // ——— tabs ———

  #announce(type: 'signedIn' | 'refreshed'): void {
    const transport = this.#transport;
    if (transport === undefined) return;
    const remaining = this.#expiresAt === undefined ? undefined : Math.max(0, this.#expiresAt - this.#now());
    const news: TokenNews = {
      type,
      transport,
      ...optional('sid', this.#sid),
      ...optional('accessToken', this.#access),
      ...optional('refreshToken', this.#refresh),
      ...optional('csrf', this.#csrf),
      ...optional('remaining', remaining),
      ...optional('lifetime', this.#lifetime),
    };
    this.#post(news);
  }

  #post(message: TabMessage): void {
    try {
      this.#channel?.postMessage(message);
    } catch {
      // A closed channel: the other tabs will refresh for themselves.
    }
  }

  #onTabMessage(data: unknown): void {
    if (this.#closed) return;
    const message = parseTabMessage(data);
    if (message === undefined) return;
    const now = this.#now();
    if (message.type === 'refreshing') {
      // Hold our own proactive refresh while theirs lands, never longer than the margin itself.
      this.#peerRefreshingUntil = now + Math.min(PEER_LEASE_MS, refreshMargin(this.#lifetime ?? Infinity));
      return this.#schedule();
    }
    if (message.type === 'signedOut') {
      if (!this.#signedIn || !this.#sameSession(message.transport, message.sid)) return;
      this.#reset();
      this.#emit('signedOut', { reason: 'tab' });
      return;
    }
    this.#peerRefreshingUntil = 0;
    // A bearer session belongs to the tab that opened it; cookie sessions are the browser's, so every tab's.
    if (this.#signedIn ? !this.#sameSession(message.transport, message.sid) : message.transport === 'bearer') return this.#schedule();
    const expiresAt = message.remaining === undefined ? undefined : now + message.remaining;
    const newer = this.#expiresAt === undefined || expiresAt === undefined || expiresAt > this.#expiresAt;
    if (this.#signedIn && message.type === 'refreshed' && this.#transport === message.transport && !newer) return this.#schedule();
    const wasSignedIn = this.#signedIn;
    if (!wasSignedIn || message.type === 'signedIn') this.#epoch++;
    this.#signedIn = true;
    this.#transport = message.transport;
    this.#access = message.accessToken;
    this.#refresh = message.transport === 'bearer' ? (message.refreshToken ?? this.#refresh) : undefined;
    this.#csrf = message.csrf ?? this.#csrf;
    this.#sid = message.sid;
    this.#expiresAt = expiresAt;
    this.#lifetime = message.lifetime;
    this.#failures = 0;
    this.#cooldownUntil = 0;
    this.#jitter = Math.random();
    this.#generation++;
    this.#store();
    this.#schedule();
    if (wasSignedIn) this.#emit('refreshed', { session: this.session, source: 'tab' });
    else this.#emit('signedIn', { session: this.session, source: 'tab' });
  }

  /**
   * Whether news from another tab concerns this tab's session. Cookie and hybrid tabs share the
   * browser's cookies, hence one session; bearer tabs each hold their own, matched by `sid`.
   */
  #sameSession(transport: Transport | undefined, sid: string | undefined): boolean {
    if (this.#transport === 'bearer' || transport === 'bearer') return sid !== undefined && sid === this.#sid;
    return true;
  }

  // ——— HTTP ———

  #url(path: string): URL {
    return new URL(path, this.#base);
  }

  /** Access token or CSRF header, and the cookie jar's cookies (Node), unless the caller set them. */
  #decorate(headers: Headers, method: string): void {
    if (!this.#signedIn) return;
    if (this.#access !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${this.#access}`);
    if (this.#transport === 'cookie' && !SAFE_METHODS.has(method) && !headers.has(CSRF_HEADER)) {
      const csrf = this.#csrfValue();
      if (csrf !== undefined) headers.set(CSRF_HEADER, csrf);
    }
  }

  /** The CSRF value: the readable cookie first (it follows logins in other tabs), else the last answer's. */
  #csrfValue(): string | undefined {
    for (const name of CSRF_COOKIES) {
      const value = pageCookie(name) ?? this.#jar?.get(this.#base, name);
      if (value !== undefined) return value;
    }
    return this.#csrf;
  }

  /** The platform fetch to a trusted origin: credentials included, the jar read and written. */
  async #raw(target: URL | Request, init: RequestInit): Promise<Response> {
    const url = target instanceof URL ? target : new URL(target.url);
    const headers = new Headers(init.headers ?? (target instanceof URL ? undefined : target.headers));
    const cookie = this.#jar?.header(url);
    if (cookie !== undefined && !headers.has('cookie')) headers.set('cookie', cookie);
    let response: Response;
    try {
      response = await this.#fetchImpl(target instanceof URL ? target.href : target, { credentials: 'include', ...init, headers });
    } catch (err) {
      throw networkError(err);
    }
    const setCookies = (response.headers as { getSetCookie?: () => string[] }).getSetCookie?.() ?? [];
    if (this.#jar !== undefined && setCookies.length > 0) this.#jar.store(url, setCookies);
    return response;
  }

  #emit<E extends keyof ClientEvents>(event: E, detail: ClientEvents[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<E>)(detail);
      } catch {
        // A failing listener must not break the client's own bookkeeping.
      }
    }
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function tokenBody(value: unknown): TokenBody | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.expires_in !== 'number' || !Number.isFinite(v.expires_in)) return undefined;
  const text = (x: unknown) => (typeof x === 'string' && x !== '' ? x : undefined);
  return {
    expiresIn: Math.max(0, v.expires_in),
    ...optional('access', text(v.access_token)),
    ...optional('refresh', text(v.refresh_token)),
    ...optional('csrf', text(v.csrf_token)),
  };
}

/** The transport an answer was given in: bearer has both tokens in the body, hybrid the access token only, cookie none. */
function transportOf(body: TokenBody): Transport {
  return body.refresh !== undefined ? 'bearer' : body.access !== undefined ? 'hybrid' : 'cookie';
}

/** Storage may throw (quota, privacy settings): a hint that cannot be kept is not worth an error. */
function quietly<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}

function isStream(body: RequestInit['body']): boolean {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

/**
 * Creates a client for a Tessera auth server.
 * @example const client = createClient({ baseUrl: 'https://auth.example.com', transport: 'hybrid' });
 */
export function createClient(options: ClientOptions): TesseraClient {
  return new TesseraClient(options);
}

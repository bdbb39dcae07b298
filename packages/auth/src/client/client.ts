// The Tessera client's public class: login, logout, restore and an authenticated `fetch`, composed
// from the session it holds (session.ts), the auth API's requests (auth-api.ts), the refresher that
// keeps it fresh (refresher.ts) and the channel that keeps tabs in step (tabs.ts).
import { isTransport, type Transport } from '../protocol/protocol.js';
import { AuthApi, readTokens, SESSION_OVER, transportOf, type Credentials } from './auth-api.js';
import { ClientError, networkError, peekError, readError } from './errors.js';
import { baseOf, channelOf, fetchOf, jarOf, rememberOf, transportsOf, type AuthSend, type ClientOptions, type FetchLike } from './options.js';
import { inBrowser } from './platform.js';
import { Refresher } from './refresher.js';
import { Session, type ClientEvents, type Listener, type SessionState, type SignInSource } from './session.js';
import { takeUp } from './tab-sync.js';
import { newsOf, TabChannel } from './tabs.js';

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
  readonly #fetchImpl: FetchLike;
  readonly #api: AuthApi;
  readonly #session: Session;
  readonly #refresher: Refresher;
  readonly #tabs: TabChannel;

  constructor(options: ClientOptions) {
    const base = baseOf(options);
    this.#base = base;
    this.#origins = new Set([base.origin, ...(options.apiOrigins ?? []).map((o) => new URL(o).origin)]);
    this.#preferred = transportsOf(options);
    this.#fetchImpl = fetchOf(options);
    const now = options.now ?? Date.now;
    const browser = inBrowser();
    // Storage keys and the default channel name, so that two auth servers never mix.
    const key = `tessera:${base.origin}${base.pathname}`;
    const session = (this.#session = new Session(now, options.storage, rememberOf(options, browser), key));
    this.#api = new AuthApi(base, this.#fetchImpl, jarOf(options, browser, now));
    const refresher = (this.#refresher = new Refresher(session, this.#api, options.autoRefresh ?? true, (message) => this.#tabs.post(message)));
    this.#tabs = new TabChannel(channelOf(options, browser, key), (message) => takeUp(message, session, refresher));
  }

  /** The current session, as a snapshot. */
  get session(): SessionState {
    return this.#session.state();
  }

  /**
   * Listens to an event; answers a function that stops listening.
   * @example const stop = client.on('sessionExpired', () => showLogin());
   */
  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    return this.#session.on(event, listener);
  }

  /**
   * Creates an account (`POST /auth/register`); does not sign in.
   * @example await client.register({ username: 'ada', password: 'correct horse' });
   */
  async register(credentials: Credentials): Promise<{ id: string; username: string }> {
    const response = await this.#api.signIn('register', credentials);
    if (!response.ok) throw await readError(response);
    return (await response.json()) as { id: string; username: string };
  }

  /**
   * Logs in with the first transport the server allows, in the order of `options.transport`.
   * @example const session = await client.login({ username, password });
   */
  async login(credentials: Credentials): Promise<SessionState> {
    const preferred = this.#preferred;
    let index = 0;
    for (const transport of preferred) {
      const response = await this.#api.signIn('login', credentials, transport);
      // A refused transport answers 400 before the credentials are looked at: try the next one.
      if (++index < preferred.length && response.status === 400 && (await peekError(response)).code === 'invalid_request') continue;
      return this.#begin(response, 'login');
    }
    throw new TypeError('no transport'); // transportsOf never answers an empty list
  }

  /**
   * For add-on entries: starts a session from a token answer obtained some other way (e.g. by
   * exchanging an older credential), exactly as `login` does with its own answer. `request` is
   * given `send`, the client's own way to its auth server: a path without a leading `/` is read
   * against `baseUrl`, credentials are included, the cookie jar is read and written, and no
   * answer at all rejects with `network_error`. An error answer rejects with its `ClientError`
   * (the client stays as it was); a token answer replaces any session held, tells the other tabs,
   * arms the refresh and fires `signedIn` with `source`.
   * @example await client.signInWith((send) => send('auth/exchange', { method: 'POST', body }), 'exchange');
   */
  async signInWith(request: (send: AuthSend) => Promise<Response>, source: SignInSource = 'login'): Promise<SessionState> {
    return this.#begin(await request((path, init) => this.#api.send(new URL(path, this.#base), init ?? {})), source);
  }

  /** A login's (or an add-on's) answer: the session it starts, or its error. */
  async #begin(response: Response, source: SignInSource): Promise<SessionState> {
    const receivedAt = this.#session.now();
    if (!response.ok) throw await readError(response);
    const body = await readTokens(response);
    // The answer's shape says how the tokens travel, whatever was asked.
    const used = transportOf(body);
    this.#refresher.reset();
    this.#session.adopt(body, receivedAt, used);
    this.#refresher.schedule();
    this.#session.rememberTransport(used);
    this.#tabs.post(newsOf('signedIn', used, this.#session));
    this.#session.emit('signedIn', { session: this.session, source });
    return this.session;
  }

  /**
   * After a page load: takes up the session that survived it, if any. Hybrid: one refresh through
   * the cookie. Cookie: asks `/auth/me` (refreshing once if the access cookie has gone). Bearer:
   * only with `storage`. Resolves to the session; signed out when there was none to restore.
   * @example const { signedIn } = await client.restore();
   */
  async restore(): Promise<SessionState> {
    const session = this.#session;
    if (session.signedIn) return this.session;
    const epoch = session.epoch;
    const stored = session.stored();
    if (stored !== undefined) {
      session.adopt(stored.body, session.now(), 'bearer', stored.expiresAt);
      this.#refresher.schedule();
      session.emit('signedIn', { session: this.session, source: 'restore' });
      return this.session;
    }
    const remembered = session.rememberedTransport();
    const hint = isTransport(remembered) ? remembered : undefined;
    if (hint === 'bearer') return this.session;
    const only = this.#preferred.length === 1 ? this.#preferred[0] : undefined;
    if (hint === 'cookie' || (hint === undefined && only === 'cookie')) {
      const me = await this.#api.me();
      if (session.signedIn || epoch !== session.epoch) return this.session; // another tab got there first
      if (me.ok) {
        session.transport = 'cookie';
        session.signedIn = true;
        session.generation++;
        session.emit('signedIn', { session: this.session, source: 'restore' });
        return this.session;
      }
    } else if (hint === undefined && this.#api.csrf(session.csrf) === undefined) {
      return this.session; // no sign of a cookie session: nothing to ask the server
    }
    try {
      return await this.#refresher.start();
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
    const session = this.#session;
    if (session.signedIn && this.#refresher.due()) await this.#refresher.auto().catch(() => undefined);
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const spare = request?.clone();
    const callerAuthorization = new Headers(init.headers ?? request?.headers).has('authorization');
    const send = (from: Request | undefined) => {
      const headers = new Headers(init.headers ?? from?.headers);
      this.#api.decorate(headers, method, session);
      return this.#api.send(from ?? url, { ...init, headers });
    };
    const generation = session.generation;
    const response = await send(request);
    if (response.status !== 401 || callerAuthorization || !session.signedIn) return response;
    const { code, message } = await peekError(response);
    if (code !== undefined && SESSION_OVER.has(code)) {
      if (generation === session.generation) this.#refresher.expire(new ClientError(code, message ?? 'The session has ended', { status: 401 }));
      return response;
    }
    const expired = code === 'token_expired' || (code === 'token_missing' && session.transport === 'cookie');
    if (!expired || isStream(init.body)) return response;
    // Only a refresh that has not happened since this request went out is worth asking for; the
    // request is sent again once, and only with credentials other than those it was refused with.
    if (generation === session.generation) await this.#refresher.auto().catch(() => undefined);
    if (!session.signedIn || generation === session.generation) return response;
    return send(spare);
  }

  /**
   * The current access token (bearer and hybrid), refreshed first if it is about to expire; for
   * HTTP clients other than `fetch`. Undefined when signed out or in the cookie transport.
   * @example headers.Authorization = `Bearer ${await client.getAccessToken()}`;
   */
  async getAccessToken(): Promise<string | undefined> {
    if (this.#session.signedIn && this.#refresher.due()) await this.#refresher.auto().catch(() => undefined);
    return this.#session.access;
  }

  /**
   * Refreshes now (joining one already under way). Rejects with the server's code when refused,
   * in which case the client is signed out and `sessionExpired` fires.
   * @example await client.refresh();
   */
  refresh(): Promise<SessionState> {
    if (!this.#session.signedIn) return Promise.reject(signedOut());
    return this.#refresher.start();
  }

  /**
   * Ends this session on the server and here, clearing its cookies; other tabs follow. Signed out
   * locally even when the server cannot be reached (then it rejects, so the app can say so).
   * @example await client.logout();
   */
  async logout(): Promise<void> {
    let failure: ClientError | undefined;
    try {
      const response = await this.#api.session('logout', this.#session);
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
    if (!this.#session.signedIn) throw signedOut();
    const response = await this.fetch(this.#api.url('logout-all'), { method: 'POST' });
    if (!response.ok) throw await readError(response);
    this.#signOut('logoutAll');
  }

  /** Stops timers and listeners and closes the tab channel; the client does nothing after. */
  close(): void {
    this.#refresher.close();
    this.#tabs.close();
    this.#session.silence();
  }

  /** An explicit logout: signed out here and in the other tabs. */
  #signOut(reason: 'logout' | 'logoutAll'): void {
    const { transport, sid } = this.#session;
    this.#refresher.reset();
    this.#session.forget(true);
    this.#tabs.post({ type: 'signedOut', transport, sid });
    this.#session.emit('signedOut', { reason });
  }
}

function signedOut(): ClientError {
  return new ClientError('signed_out', 'Not signed in');
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

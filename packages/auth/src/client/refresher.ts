// Keeps the session fresh: one refresh at a time (single flight), a proactive refresh timed from
// `expires_in` and re-armed after a sleep or a hidden tab, a growing cooldown after failures, and
// the session's end when the server refuses it.
import { readTokens, transportOf, type AuthApi } from './auth-api.js';
import { ClientError, networkError, readError } from './errors.js';
import { onWake, startTimer } from './platform.js';
import type { Session, SessionState } from './session.js';
import { newsOf, type TabMessage } from './tabs.js';
import { cooldownAfter, refreshDueAt, refreshMargin } from './timing.js';

/** Refreshes the session through the auth API, at the right moments and never twice at once. */
export class Refresher {
  readonly #session: Session;
  readonly #api: AuthApi;
  readonly #auto: boolean;
  readonly #tell: (message: TabMessage) => void;
  readonly #stopWake: () => void;
  #inflight: Promise<SessionState> | undefined;
  #failures = 0;
  #cooldownUntil = 0;
  /** Another tab said it is refreshing: our proactive refresh waits until then for its result. */
  #peerRefreshingUntil = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** `auto` arms the proactive refresh; `tell` hands the other tabs a message. */
  constructor(session: Session, api: AuthApi, auto: boolean, tell: (message: TabMessage) => void) {
    this.#session = session;
    this.#api = api;
    this.#auto = auto;
    this.#tell = tell;
    this.#stopWake = onWake((cause) => {
      // Back online: the cooldown was waiting out a network that is now there.
      if (cause === 'online') this.#cooldownUntil = 0;
      this.schedule();
    });
  }

  /** Whether the access token is within the refresh margin of its expiry. */
  due(): boolean {
    const { expiresAt, lifetime } = this.#session;
    if (expiresAt === undefined || lifetime === undefined || lifetime === 0) return false;
    return expiresAt - this.#session.now() <= refreshMargin(lifetime);
  }

  /** An automatic refresh: skipped while the cooldown after a failure lasts. */
  auto(): Promise<SessionState> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#session.now() < this.#cooldownUntil) return Promise.reject(new ClientError('refresh_cooldown', 'Cooling down after a failed refresh'));
    return this.start();
  }

  /** Single flight: every caller shares the refresh under way. */
  start(): Promise<SessionState> {
    if (this.#inflight !== undefined) return this.#inflight;
    const run = this.#exchange(this.#session.epoch).finally(() => {
      if (this.#inflight === run) this.#inflight = undefined;
    });
    this.#inflight = run;
    return run;
  }

  /** New tokens arrived (here or from another tab): no failure is pending any more. */
  succeeded(): void {
    this.#failures = 0;
    this.#cooldownUntil = 0;
  }

  /** Holds the proactive refresh until `until` while another tab refreshes (0: no longer). */
  holdUntil(until: number): void {
    this.#peerRefreshingUntil = until;
  }

  /** Arms the proactive refresh (or re-arms it after a wake-up), from the local clock only. */
  schedule(): void {
    this.#clearTimer();
    const at = this.#dueAt();
    if (at === undefined || !this.#auto) return;
    this.#timer = startTimer(() => this.#onTimer(), at - this.#session.now());
  }

  /** Signs out locally: the session forgotten (refreshes under way are dropped when they land), no timer, no cooldown. */
  reset(): void {
    this.#session.clear();
    this.succeeded();
    this.#clearTimer();
  }

  /** The server refused the session: signed out here only (other tabs find out for themselves). */
  expire(error: ClientError): void {
    this.reset();
    this.#session.forget(false);
    this.#session.emit('sessionExpired', { error });
  }

  /** Stops the timer and the wake-up listeners for good. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#stopWake();
  }

  /** One refresh round trip, for the session of `epoch`. */
  async #exchange(epoch: number): Promise<SessionState> {
    const session = this.#session;
    this.#tell({ type: 'refreshing' });
    let response: Response;
    try {
      // The refresh call goes straight to the platform fetch: it is never intercepted or retried.
      response = await this.#api.session('refresh', session);
    } catch (err) {
      throw this.#failed(err instanceof ClientError ? err : networkError(err));
    }
    const receivedAt = session.now();
    if (!response.ok) {
      const error = await readError(response);
      if (response.status >= 500 || response.status === 429 || response.status === 408) throw this.#failed(error);
      if (epoch === session.epoch && session.signedIn) this.expire(error);
      throw error;
    }
    const parsed = await readTokens(response).catch((err: ClientError) => {
      throw this.#failed(err);
    });
    if (epoch !== session.epoch) throw new ClientError('refresh_discarded', 'Session changed during the refresh');
    const restored = !session.signedIn;
    const transport = transportOf(parsed);
    this.succeeded();
    session.adopt(parsed, receivedAt, transport);
    this.schedule();
    if (restored) session.rememberTransport(transport);
    this.#tell(newsOf(restored ? 'signedIn' : 'refreshed', transport, session));
    if (restored) session.emit('signedIn', { session: session.state(), source: 'restore' });
    else session.emit('refreshed', { session: session.state(), source: 'self' });
    return session.state();
  }

  /** A refresh that may work later (no answer, 5xx, 429): cool down 1 s, 2 s, 4 s … 60 s, then try again. */
  #failed(error: ClientError): ClientError {
    if (!this.#session.signedIn) return error;
    this.#failures++;
    const wait = Math.max(cooldownAfter(this.#failures), (error.retryAfter ?? 0) * 1000);
    this.#cooldownUntil = this.#session.now() + wait;
    this.#session.emit('refreshFailed', { error, retryIn: wait });
    this.schedule();
    return error;
  }

  /** When the next proactive refresh is due, or undefined when none is. */
  #dueAt(): number | undefined {
    const { signedIn, expiresAt, lifetime, jitter } = this.#session;
    if (this.#closed || !signedIn || expiresAt === undefined || !lifetime) return undefined;
    return Math.max(refreshDueAt(expiresAt, lifetime, jitter), this.#cooldownUntil, this.#peerRefreshingUntil);
  }

  #onTimer(): void {
    this.#timer = undefined;
    const at = this.#dueAt();
    if (at === undefined) return;
    // A timer may fire early after the token was replaced, or a wake-up may find a lease still running.
    if (at > this.#session.now()) return this.schedule();
    void this.auto().catch(() => undefined);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

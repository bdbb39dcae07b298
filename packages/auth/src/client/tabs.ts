// Keeps the tabs of one origin in step over a BroadcastChannel. There is no lock: a tab that starts
// a refresh says so, the others hold their own proactive refresh for a moment and adopt the result;
// if the result never comes, they refresh themselves, and the server's reuse grace window makes two
// refreshes at once end on one session.
import { isTransport, type Transport } from '../protocol/protocol.js';
import { text } from './text.js';
import { openChannel, type ChannelLike } from './platform.js';
import type { Session } from './session.js';

/** Tokens and timing one tab hands the others after a login or a refresh. */
export interface TokenNews {
  readonly type: 'signedIn' | 'refreshed';
  readonly transport: Transport;
  readonly sid: string | undefined;
  readonly accessToken: string | undefined;
  /** Bearer only; a cookie transport's refresh token never leaves its HttpOnly cookie. */
  readonly refreshToken: string | undefined;
  readonly csrf: string | undefined;
  /** Milliseconds of life left when the message was sent (clocks of tabs are not compared). */
  readonly remaining: number | undefined;
  readonly lifetime: number | undefined;
}

export type TabMessage =
  | TokenNews
  | { readonly type: 'refreshing' }
  /** An explicit logout (or logout-all) in another tab; refresh failures are never announced. */
  | { readonly type: 'signedOut'; readonly transport: Transport | undefined; readonly sid: string | undefined };

/** How long other tabs hold their proactive refresh after one says it is refreshing. */
export const PEER_LEASE_MS = 3_000;

/** Reads a message from another tab; anything malformed is ignored (undefined). */
export function parseTabMessage(data: unknown): TabMessage | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const transport = isTransport(m.transport) ? m.transport : undefined;
  switch (m.type) {
    case 'refreshing':
      return { type: 'refreshing' };
    case 'signedOut':
      return { type: 'signedOut', transport, sid: text(m.sid) };
    case 'signedIn':
    case 'refreshed':
      if (transport === undefined) return undefined;
      return {
        type: m.type,
        transport,
        sid: text(m.sid),
        accessToken: text(m.accessToken),
        refreshToken: text(m.refreshToken),
        csrf: text(m.csrf),
        remaining: count(m.remaining),
        lifetime: count(m.lifetime),
      };
    default:
      return undefined;
  }
}

/** This tab's end of the channel: sends messages, and hands each well-formed one received to `receive`. */
export class TabChannel {
  readonly #channel: ChannelLike | undefined;
  #closed = false;

  /** Opens the channel `name` (none when undefined or where the platform has no BroadcastChannel). */
  constructor(name: string | undefined, receive: (message: TabMessage) => void) {
    this.#channel = name === undefined ? undefined : openChannel(name);
    if (this.#channel !== undefined)
      this.#channel.onmessage = (event) => {
        const message = this.#closed ? undefined : parseTabMessage(event.data);
        if (message !== undefined) receive(message);
      };
  }

  post(message: TabMessage): void {
    try {
      this.#channel?.postMessage(message);
    } catch {
      // A closed channel: the other tabs will refresh for themselves.
    }
  }

  close(): void {
    this.#closed = true;
    this.#channel?.close();
  }
}

/** The news of a login or a refresh in `transport` that `session` now holds, for the other tabs. */
export function newsOf(type: TokenNews['type'], transport: Transport, session: Session): TokenNews {
  const { expiresAt } = session;
  return {
    type,
    transport,
    sid: session.sid,
    accessToken: session.access,
    refreshToken: session.refresh,
    csrf: session.csrf,
    remaining: expiresAt === undefined ? undefined : Math.max(0, expiresAt - session.now()),
    lifetime: session.lifetime,
  };
}

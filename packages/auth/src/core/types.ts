// Names that several core layers need. They live here, at the bottom, so that no layer imports
// upward (config from sessions, tokens from config) just to name a type.
import type { RevokeReason } from './sessions/store.js';

export type { CookieTransport, Transport } from '../protocol/protocol.js';

/** The two token kinds. */
export type TokenKind = 'access' | 'refresh';

/** Where a token can travel in a request. Never the query string (RFC 6750 §2.3). */
export type TokenLocation = 'header' | 'cookie' | 'body';

/** A session event, for logs and metrics. Never carries a token. */
export type SessionEvent = {
  readonly type: 'session_created' | 'rotated' | 'grace_replay' | 'reuse_detected' | 'session_revoked';
  readonly sid: string;
  readonly sub: string | undefined;
  readonly reason?: RevokeReason;
  readonly at: number;
};

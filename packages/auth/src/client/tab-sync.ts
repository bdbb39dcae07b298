// Takes up what another tab says: holds this tab's refresh while theirs runs, adopts their tokens,
// follows their logout. Above the session and the refresher, which it drives.
import type { Transport } from '../protocol/protocol.js';
import type { Refresher } from './refresher.js';
import type { Session } from './session.js';
import { PEER_LEASE_MS, type TabMessage } from './tabs.js';
import { refreshMargin } from './timing.js';

/** Takes up another tab's message: holds our refresh while theirs runs, adopts their tokens, follows their logout. */
export function takeUp(message: TabMessage, session: Session, refresher: Refresher): void {
  const now = session.now();
  if (message.type === 'refreshing') {
    // Hold our own proactive refresh while theirs lands, never longer than the margin itself.
    refresher.holdUntil(now + Math.min(PEER_LEASE_MS, refreshMargin(session.lifetime ?? Infinity)));
    return refresher.schedule();
  }
  if (message.type === 'signedOut') {
    if (!session.signedIn || !sameSession(session, message.transport, message.sid)) return;
    refresher.reset();
    session.emit('signedOut', { reason: 'tab' });
    return;
  }
  refresher.holdUntil(0);
  // A bearer session belongs to the tab that opened it; cookie sessions are the browser's, so every tab's.
  if (session.signedIn ? !sameSession(session, message.transport, message.sid) : message.transport === 'bearer') return refresher.schedule();
  const expiresAt = message.remaining === undefined ? undefined : now + message.remaining;
  const newer = session.expiresAt === undefined || expiresAt === undefined || expiresAt > session.expiresAt;
  if (session.signedIn && message.type === 'refreshed' && session.transport === message.transport && !newer) return refresher.schedule();
  const wasSignedIn = session.signedIn;
  if (!wasSignedIn || message.type === 'signedIn') session.epoch++;
  session.hold({
    transport: message.transport,
    access: message.accessToken,
    refresh: message.transport === 'bearer' ? (message.refreshToken ?? session.refresh) : undefined,
    csrf: message.csrf ?? session.csrf,
    sid: message.sid,
    expiresAt,
    lifetime: message.lifetime,
  });
  refresher.succeeded();
  refresher.schedule();
  if (wasSignedIn) session.emit('refreshed', { session: session.state(), source: 'tab' });
  else session.emit('signedIn', { session: session.state(), source: 'tab' });
}

/**
 * Whether news from another tab concerns this tab's session. Cookie and hybrid tabs share the
 * browser's cookies, hence one session; bearer tabs each hold their own, matched by `sid`.
 */
function sameSession(session: Session, transport: Transport | undefined, sid: string | undefined): boolean {
  if (session.transport === 'bearer' || transport === 'bearer') return sid !== undefined && sid === session.sid;
  return true;
}

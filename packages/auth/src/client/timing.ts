// When to refresh, as pure functions of what the server said (`expires_in`) and the local clock.
// Times are measured from the moment the answer arrived, never from the token's `exp` against
// the device clock, so a device whose clock is off refreshes on time all the same.

/** The longest margin before expiry at which a refresh starts. */
export const MAX_MARGIN_MS = 60_000;
/** The first cooldown after a failed refresh; it doubles on each further failure. */
export const FIRST_COOLDOWN_MS = 1_000;
/** The longest cooldown. */
export const MAX_COOLDOWN_MS = 60_000;

/**
 * How long before expiry a proactive refresh starts: min(60 s, 20 % of the lifetime).
 * @example refreshMargin(900_000) // 60_000 for a 15-minute token
 */
export function refreshMargin(lifetimeMs: number): number {
  return Math.min(MAX_MARGIN_MS, 0.2 * Math.max(0, lifetimeMs));
}

/**
 * The cooldown after `failures` consecutive failed refreshes: 1 s, 2 s, 4 s … up to 60 s.
 * @example cooldownAfter(3) // 4_000
 */
export function cooldownAfter(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_COOLDOWN_MS, FIRST_COOLDOWN_MS * 2 ** Math.min(failures - 1, 16));
}

/**
 * When a token that the server said lives `expiresIn` seconds expires, in local milliseconds.
 * The server rounds `expires_in` down to whole seconds, so the token lives at least that long.
 * @example expiryFrom(Date.now(), 900).expiresAt
 */
export function expiryFrom(receivedAt: number, expiresIn: number): { expiresAt: number; lifetime: number } {
  const lifetime = Math.max(0, expiresIn) * 1000;
  return { expiresAt: receivedAt + lifetime, lifetime };
}

/**
 * The moment a proactive refresh is due: `margin` before expiry, plus a random part of up to a
 * quarter of the margin (so that tabs holding the same token rarely fire together, and the
 * remaining life is still within the margin when one does).
 */
export function refreshDueAt(expiresAt: number, lifetime: number, jitter: number): number {
  const margin = refreshMargin(lifetime);
  return expiresAt - margin + Math.min(Math.max(jitter, 0), 1) * margin * 0.25;
}

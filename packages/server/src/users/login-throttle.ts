// The throttle policy of the attempts that check a password (login, registration, password change):
// which counters an attempt hits, in which order, and what a success gives back. The counting itself
// is the library's `Throttle` (memory or Redis); docs/architecture.md "The HTTP contract" for why both keys.
import { isIPv4, isIPv6 } from 'node:net';
import { RateLimitedError } from '@tessera/auth';
import type { Throttle, ThrottleResult, ThrottleRule } from '@tessera/auth/stores/memory';
import type { ServerConfig } from '../settings.js';

/** The throttled actions; each has counters of its own. */
export type ThrottledAction = 'login' | 'register' | 'password';

/**
 * What a success gives back. A login or a password change proved the password: its own counters
 * should not hold it against the next ones. A registration proves nothing, and giving its hit back
 * would let one address create accounts without limit.
 */
const SUCCESS_REWARDED: Readonly<Record<ThrottledAction, boolean>> = { login: true, register: false, password: true };

/** One attempt let through; say when it succeeded. */
export interface Attempt {
  /**
   * The attempt succeeded: its account-and-address counter starts over and its address counter
   * gets this one hit back (never more: a success must not clear what other accounts cost the
   * address). Never throws: a failure to record it is reported to `onError`, and the counters just
   * stay as they were.
   */
  succeeded(): Promise<void>;
}

/** The settings the policy reads. */
export type LoginThrottleSettings = Pick<ServerConfig, 'loginLimit' | 'loginIpLimit' | 'throttleIpv6Prefix'>;

/**
 * Throttles password attempts per account-and-address and per address, so that guessing one
 * account is slow and nobody can lock a victim out from elsewhere (a per-account-only counter
 * would let anyone do that).
 * @example const attempt = await throttle.begin('login', username, request.ip); if (ok) await attempt.succeeded();
 */
export class LoginThrottle {
  readonly #throttle: Throttle;
  readonly #pair: ThrottleRule;
  readonly #address: ThrottleRule;
  readonly #ipv6Prefix: number;
  readonly #onError: (error: unknown) => void;

  constructor(throttle: Throttle, settings: LoginThrottleSettings, onError: (error: unknown) => void = () => undefined) {
    this.#throttle = throttle;
    this.#pair = { limit: settings.loginLimit.count, windowMs: settings.loginLimit.window * 1000 };
    this.#address = { limit: settings.loginIpLimit.count, windowMs: settings.loginIpLimit.window * 1000 };
    this.#ipv6Prefix = settings.throttleIpv6Prefix;
    this.#onError = onError;
  }

  /**
   * Counts an attempt before any work is done, so that parallel guesses can never pass the limit;
   * throws `RateLimitedError` (429, with `retryAfter`) when it is refused. The address is counted
   * first, and while it is over its limit no account counter is touched: a flood from one address
   * then creates no new counters.
   */
  async begin(action: ThrottledAction, account: string, ip: string): Promise<Attempt> {
    const network = throttleNetwork(ip, this.#ipv6Prefix);
    const addressKey = `${action}-ip:${network}`;
    const pairKey = `${action}:${account}|${network}`;
    refuseUnless(await this.#throttle.hit(addressKey, this.#address));
    refuseUnless(await this.#throttle.hit(pairKey, this.#pair));
    if (!SUCCESS_REWARDED[action]) return { succeeded: async () => undefined };
    let rewarded = false;
    return {
      succeeded: async () => {
        if (rewarded) return; // one attempt, one hit given back
        rewarded = true;
        const results = await Promise.allSettled([this.#throttle.reset(pairKey), this.#throttle.refund(addressKey)]);
        for (const result of results) if (result.status === 'rejected') this.#onError(result.reason);
      },
    };
  }
}

function refuseUnless(result: ThrottleResult): void {
  if (!result.allowed) throw new RateLimitedError({ retryAfter: result.retryAfterMs / 1000 });
}

/**
 * The network a client address is throttled as: an IPv4 address alone; an IPv6 address as its
 * `/prefix` network (one client usually owns a whole /64, so counting each address would give it
 * 2^64 allowances), written canonically (RFC 5952) so each network has one key; an IPv4-mapped
 * IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket reports IPv4) as the IPv4 address.
 * Anything else (no address known) is used as it is.
 * @example throttleNetwork('2001:DB8:0:0:1:2:3:4', 64) === '2001:db8::/64'
 */
export function throttleNetwork(ip: string, ipv6Prefix: number): string {
  if (isIPv4(ip)) return ip;
  const address = ip.replace(/%.*$/, ''); // a zone names the interface, not the client
  if (!isIPv6(address)) return ip;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  const masked = groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - i * 16));
    return group & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${formatIpv6(masked)}/${ipv6Prefix}`;
}

/** The eight 16-bit groups of a valid IPv6 address (a dotted IPv4 tail is two groups). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [Number.parseInt(piece, 16)];
      const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const [head = '', tail] = address.split('::');
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 §4: lower case, no leading zeros, the first longest run of two or more zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let best = { at: -1, length: 1 };
  for (let i = 0; i < groups.length;) {
    let end = i;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - i > best.length) best = { at: i, length: end - i };
    i = end > i ? end : i + 1;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

import type { Clock } from '../clock.js';
import type { BusMessage } from './store.js';

/**
 * Per-instance memory of which sessions are live, so that a guarded request usually costs no
 * store round trip. "Revoked" is final and kept until evicted; "live" is trusted for as long as the
 * caller says at each lookup (long while a revocation bus delivers, one second while it does not),
 * so a bus that goes down mid-way shortens every answer already cached. Bounded: the oldest go first.
 */
export class LivenessCache {
  readonly #entries = new Map<string, number>(); // sid → when it was found live (ms); REVOKED for revoked
  readonly #max: number;
  readonly #clock: Clock;
  #generation = 0;

  constructor(max: number, clock: Clock) {
    this.#max = max;
    this.#clock = clock;
  }

  /** `true` live (found so less than `trustMs` ago), `false` revoked, `undefined` unknown (ask the store). */
  lookup(sid: string, trustMs: number): boolean | undefined {
    const seen = this.#entries.get(sid);
    if (seen === undefined) return undefined;
    if (seen === REVOKED) return false;
    if (this.#clock.now() - seen < trustMs) return true;
    return undefined;
  }

  /**
   * Bumped by every bus message. A store answer read before a message arrived may be stale, so
   * `markLive` drops it: otherwise a lookup racing a revocation could cache "live" afterwards.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Remembers a "live" answer read at `generation`; never overrides a revocation. */
  markLive(sid: string, generation: number): void {
    if (this.#max === 0 || generation !== this.#generation || this.#entries.get(sid) === REVOKED) return;
    this.#set(sid, this.#clock.now());
  }

  markRevoked(sid: string): void {
    if (this.#max === 0) return;
    this.#set(sid, REVOKED);
  }

  /** Applies a bus message: revoked ids become revoked; a reset forgets every live answer. */
  apply(message: BusMessage): void {
    this.#generation++;
    if (message.type === 'revoked') for (const sid of message.sessionIds) this.markRevoked(sid);
    else for (const [sid, seen] of this.#entries) if (seen !== REVOKED) this.#entries.delete(sid);
  }

  #set(sid: string, value: number): void {
    this.#entries.delete(sid);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(sid, value);
  }
}

const REVOKED = -1;

import { createHmac } from 'node:crypto';
import { encodeBase64url } from '../../internal/base64url.js';
import { stringsEqual } from '../../internal/timing-safe.js';
import type { NonceCheck } from './proof.js';

/** How long one nonce is current; it is accepted through the next step too, so a nonce lives 5 to 10 minutes. */
export const NONCE_STEP_SECONDS = 300;
/** The shortest nonce secret taken: the HMAC key's full strength (RFC 2104 §3). */
export const MIN_NONCE_SECRET_BYTES = 32;

/**
 * Stateless DPoP nonces (RFC 9449 §8): the nonce of a time step is HMAC-SHA256 under the nonce secret of
 * that step's number, so every instance that shares the secret issues and accepts the same nonces without
 * a store, behind any load balancer. The current and the previous step are accepted, so a nonce issued
 * just before a step ends still works for a full step.
 * @example const nonces = new DpopNonces(secret); const n = nonces.current(Date.now()); nonces.accepts(n, Date.now()) // true
 */
export class DpopNonces implements NonceCheck {
  readonly #secret: Uint8Array;
  #cached: { step: number; nonce: string } | undefined;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < MIN_NONCE_SECRET_BYTES) throw new TypeError(`A DPoP nonce secret must have at least ${MIN_NONCE_SECRET_BYTES} bytes.`);
    this.#secret = Uint8Array.from(secret);
  }

  /** The nonce to hand out now (sent as `DPoP-Nonce`). */
  current(nowMs: number): string {
    return this.#of(stepOf(nowMs));
  }

  /** Whether `nonce` is the nonce of the current or the previous step (constant-time comparison). */
  accepts(nonce: string, nowMs: number): boolean {
    const step = stepOf(nowMs);
    // Both comparisons always run, so the time taken does not say which step matched.
    const now = stringsEqual(nonce, this.#of(step));
    const before = stringsEqual(nonce, this.#of(step - 1));
    return now || before;
  }

  #of(step: number): string {
    if (this.#cached?.step === step) return this.#cached.nonce;
    const nonce = encodeBase64url(createHmac('sha256', this.#secret).update(`tessera dpop nonce ${step}`).digest());
    // One step is asked for far more often than any other: keep its nonce.
    if (this.#cached === undefined || step > this.#cached.step) this.#cached = { step, nonce };
    return nonce;
  }
}

function stepOf(nowMs: number): number {
  return Math.floor(nowMs / 1000 / NONCE_STEP_SECONDS);
}

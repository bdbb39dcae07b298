import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { encodeBase64url } from '../../internal/base64url.js';
import { bytesEqual, stringsEqual } from '../../internal/timing-safe.js';
import type { NonceCheck } from './proof.js';

/** How long one nonce is current; it is accepted through the next step too, so a nonce lives 5 to 10 minutes. */
export const NONCE_STEP_SECONDS = 300;
/** The shortest nonce secret taken: the HMAC key's full strength (RFC 2104 §3). */
export const MIN_NONCE_SECRET_BYTES = 32;

/** A nonce secret: bytes or a string (its UTF-8 bytes), or a function answering the current one. */
export type NonceSecretSource = string | Uint8Array | (() => string | Uint8Array);

/** The bytes of a nonce secret value, copied, or undefined when it is neither a string nor bytes of at least 32 bytes. */
export function nonceSecretBytes(value: unknown): Uint8Array | undefined {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value instanceof Uint8Array ? Uint8Array.from(value) : undefined;
  return bytes !== undefined && bytes.byteLength >= MIN_NONCE_SECRET_BYTES ? bytes : undefined;
}

/** One secret in use: the value it came as (to notice a change without work), its bytes, its HMAC key. */
interface NonceKey {
  readonly value: string | Uint8Array;
  readonly bytes: Uint8Array;
  readonly key: KeyObject;
}

/**
 * Stateless DPoP nonces (RFC 9449 §8): the nonce of a time step is HMAC-SHA256 under the nonce secret of
 * that step's number, so every instance that shares the secret issues and accepts the same nonces without
 * a store, behind any load balancer. The current and the previous step are accepted, so a nonce issued
 * just before a step ends still works for a full step.
 *
 * The secret may be a function, asked at each nonce made or checked: when its answer changes (another
 * object, or other bytes), nonces of the secret before are still accepted through the step after the
 * change was seen, so a rotation fails no client mid-flight and instances that reload the secret a few
 * seconds apart still agree. The HMAC key is built once per secret, never per request.
 * @example const nonces = new DpopNonces(secret); const n = nonces.current(Date.now()); nonces.accepts(n, Date.now()) // true
 */
export class DpopNonces implements NonceCheck {
  readonly #source: (() => string | Uint8Array) | undefined;
  #key: NonceKey;
  /** The secret before the last change, accepted while the step is at most `until`. */
  #previous: { key: NonceKey; until: number } | undefined;
  #cached: { step: number; nonce: string } | undefined;

  constructor(secret: NonceSecretSource) {
    this.#source = typeof secret === 'function' ? secret : undefined;
    this.#key = nonceKey(typeof secret === 'function' ? secret() : secret);
  }

  /** The nonce to hand out now (sent as `DPoP-Nonce`). */
  current(nowMs: number): string {
    const step = stepOf(nowMs);
    return this.#of(this.#refresh(step), step);
  }

  /** Whether `nonce` is the nonce of the current or the previous step (constant-time comparison), under the secret or the one just before it. */
  accepts(nonce: string, nowMs: number): boolean {
    const step = stepOf(nowMs);
    const key = this.#refresh(step);
    // Every comparison always runs, so the time taken does not say which step (or secret) matched.
    let ok = stringsEqual(nonce, this.#of(key, step));
    ok = stringsEqual(nonce, this.#of(key, step - 1)) || ok;
    const previous = this.#previous;
    if (previous !== undefined) {
      ok = stringsEqual(nonce, hmac(previous.key, step)) || ok;
      ok = stringsEqual(nonce, hmac(previous.key, step - 1)) || ok;
    }
    return ok;
  }

  /** The secret in use at `step`: asks the function (if any) and, when its answer changed, keeps the one before through the next step. */
  #refresh(step: number): NonceKey {
    if (this.#previous !== undefined && step > this.#previous.until) this.#previous = undefined;
    if (this.#source === undefined) return this.#key;
    const value = this.#source();
    if (value === this.#key.value) return this.#key;
    const bytes = nonceSecretBytes(value);
    if (bytes === undefined)
      throw new TypeError(`The dpop.nonceSecret function must return a string or bytes of at least ${MIN_NONCE_SECRET_BYTES} bytes.`);
    // Another object holding the same bytes is the same secret: remember the object, keep the key.
    if (bytesEqual(bytes, this.#key.bytes)) {
      this.#key = { ...this.#key, value };
      return this.#key;
    }
    // Nonces handed out up to this step under the old secret live through the next step (the usual window).
    this.#previous = { key: this.#key, until: step + 1 };
    this.#key = { value, bytes, key: createSecretKey(bytes) };
    this.#cached = undefined;
    return this.#key;
  }

  #of(key: NonceKey, step: number): string {
    if (this.#cached?.step === step) return this.#cached.nonce;
    const nonce = hmac(key, step);
    // One step is asked for far more often than any other: keep its nonce.
    if (this.#cached === undefined || step > this.#cached.step) this.#cached = { step, nonce };
    return nonce;
  }
}

function nonceKey(value: string | Uint8Array): NonceKey {
  const bytes = nonceSecretBytes(value);
  if (bytes === undefined) throw new TypeError(`A DPoP nonce secret must be a string or bytes of at least ${MIN_NONCE_SECRET_BYTES} bytes.`);
  return { value, bytes, key: createSecretKey(bytes) };
}

function hmac(key: NonceKey, step: number): string {
  return encodeBase64url(createHmac('sha256', key.key).update(`tessera dpop nonce ${step}`).digest());
}

function stepOf(nowMs: number): number {
  return Math.floor(nowMs / 1000 / NONCE_STEP_SECONDS);
}

// The one-time value of the /oauth/authorize forms (RFC 6749 §10.12, RFC 9700 §4.7): an HMAC over the
// authorization request's parameters, the form's step, an expiry and a random nonce, so a value fits one request
// and one step alone; its nonce is claimed once in the database every instance shares, so it serves once. The
// consent step's value also carries who signed in, which is how the second form knows it without a cookie.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { CsrfError } from '@tessera/auth';

/** The two forms: the sign-in, then (for a client that is not first party) the consent. */
export type FormStep = 'sign-in' | 'consent';

/** A form stays usable ten minutes: time to type a password, short enough that an old tab is worth nothing. */
export const FORM_TTL_MS = 10 * 60_000;

/** Who signed in, as the consent form carries it. */
export interface SignedInUser {
  readonly id: string;
  /** The credential version read with the password hash (docs/security.md, the cut-off). */
  readonly credentialVersion: number;
}

/** What a redeemed form value says. */
export interface RedeemedForm {
  readonly step: FormStep;
  /** Present for the consent step. */
  readonly user: SignedInUser | undefined;
}

/** Where used nonces are claimed: the DPoP replay table's contract (`tessera_dpop_proofs`), under a namespace of its own. */
export interface NonceClaims {
  claim(namespace: string, nonce: string, expiresAt: number): Promise<boolean>;
}

/** The namespace of form nonces in the replay table: no key thumbprint contains a colon. */
const NAMESPACE = 'tessera:authorize-form';

/** Longer values are refused before any work: a real one is about 150 characters. */
const MAX_LENGTH = 512;

interface Payload {
  /** Step. */
  s: FormStep;
  /** Nonce, base64url of 16 random bytes. */
  n: string;
  /** Expiry, epoch milliseconds. */
  e: number;
  /** User id and credential version (consent step). */
  u?: string;
  v?: number;
}

/**
 * Issues and redeems the forms' one-time values. The MAC key is derived (HKDF-SHA256, info `tessera authorize
 * form`) from the current refresh-token secret, so every instance agrees without another setting.
 * @example const value = forms.issue('sign-in', params, clock.now()); … await forms.redeem(body.get('form_token'), params, clock.now());
 */
export class AuthorizeForms {
  readonly #secret: () => KeyObject;
  readonly #claims: NonceClaims;
  #cache: { source: KeyObject; key: Buffer } | undefined;

  constructor(secret: () => KeyObject, claims: NonceClaims) {
    this.#secret = secret;
    this.#claims = claims;
  }

  /** A value for the form of `step` of the authorization request `params` (its parameters, names to values). */
  issue(step: FormStep, params: Readonly<Record<string, string>>, now: number, user?: SignedInUser): string {
    const payload: Payload = { s: step, n: randomBytes(16).toString('base64url'), e: now + FORM_TTL_MS };
    if (user !== undefined) {
      payload.u = user.id;
      payload.v = user.credentialVersion;
    }
    const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${encoded}.${this.#mac(encoded, params)}`;
  }

  /**
   * Checks a posted value against the request `params` it was issued for, and claims its nonce; throws
   * `CsrfError` (403 `csrf_failed`) for a missing, forged, expired or already used value, or one of another
   * request. The step is the value's own: the caller acts on it.
   */
  async redeem(value: unknown, params: Readonly<Record<string, string>>, now: number): Promise<RedeemedForm> {
    const refuse = (why: string): never => {
      throw new CsrfError({ message: `The form ${why}: start the sign-in again from the application` });
    };
    if (typeof value !== 'string' || value.length > MAX_LENGTH) return refuse('is missing its one-time value');
    const [encoded, mac, extra] = value.split('.');
    if (encoded === undefined || mac === undefined || extra !== undefined) return refuse('value is malformed');
    const expected = Buffer.from(this.#mac(encoded, params), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return refuse('does not belong to this sign-in');
    const payload = parsePayload(encoded) ?? refuse('value is malformed');
    if (payload.e <= now) refuse('has expired');
    if (!(await this.#claims.claim(NAMESPACE, payload.n, payload.e))) refuse('was already sent once');
    const user = payload.u === undefined || payload.v === undefined ? undefined : { id: payload.u, credentialVersion: payload.v };
    if (payload.s === 'consent' && user === undefined) refuse('value is malformed');
    return { step: payload.s, user };
  }

  /** HMAC-SHA256 over the payload and every parameter of the request, names sorted, each length-prefixed by JSON. */
  #mac(encoded: string, params: Readonly<Record<string, string>>): string {
    const bound = JSON.stringify(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return createHmac('sha256', this.#key()).update(`tessera authorize form\0${encoded}\0${bound}`, 'utf8').digest('base64url');
  }

  #key(): Buffer {
    const source = this.#secret();
    if (this.#cache?.source !== source)
      this.#cache = { source, key: Buffer.from(hkdfSync('sha256', source.export(), new Uint8Array(0), 'tessera authorize form', 32)) };
    return this.#cache.key;
  }
}

function parsePayload(encoded: string): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if ((p.s !== 'sign-in' && p.s !== 'consent') || typeof p.n !== 'string' || typeof p.e !== 'number') return undefined;
  if (p.u !== undefined && typeof p.u !== 'string') return undefined;
  if (p.v !== undefined && typeof p.v !== 'number') return undefined;
  return p as unknown as Payload;
}

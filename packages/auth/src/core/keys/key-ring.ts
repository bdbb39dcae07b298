import type { JsonWebKey } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { exportPublicJwk, type Key, type KeyPurpose } from './key.js';

/** The keys a ring holds: one that signs new access tokens, and older ones that only verify. */
export interface KeyRingInput {
  signing: Key;
  verifyOnly?: readonly Key[];
}

/** A JSON Web Key Set (RFC 7517 §5). */
export interface Jwks {
  keys: JsonWebKey[];
}

/**
 * The access-token keys: one signing key and verify-only keys, each found by `kid`. The ring can
 * be replaced in place (rotation); `version` changes with it so that caches keyed on the old
 * keys are dropped.
 * @example const ring = createKeyRing({ signing: await generateKey('EdDSA') });
 */
export class KeyRing {
  /** What the ring's keys sign: access tokens (published when asymmetric) or refresh tokens (never published). */
  readonly purpose: KeyPurpose;
  #signing!: Key;
  #byKid = new Map<string, Key>();
  #jwks: Jwks = { keys: [] };
  #version = 0;

  constructor(input: KeyRingInput, purpose: KeyPurpose = 'access') {
    this.purpose = purpose;
    this.replace(input);
  }

  /** The key that signs new access tokens. */
  get signingKey(): Key {
    return this.#signing;
  }

  /** Every key, signing key first. */
  get keys(): readonly Key[] {
    return [...this.#byKid.values()];
  }

  /** Increments on every `replace`. */
  get version(): number {
    return this.#version;
  }

  /** The key with this `kid`, if the ring holds it. */
  get(kid: string): Key | undefined {
    return this.#byKid.get(kid);
  }

  /** The public JWKS: asymmetric keys only, never a secret (docs/architecture.md "Tokens"). */
  jwks(): Jwks {
    return { keys: this.#jwks.keys.map((k) => ({ ...k })) };
  }

  /** Swaps in a new set of keys at once (rotation, reload, withdrawal of a compromised key). */
  replace(input: KeyRingInput): void {
    const problems: string[] = [];
    const { signing, verifyOnly = [] } = input;
    if (!signing?.canSign) problems.push('The key ring needs a signing key that holds its private part or secret.');
    const byKid = new Map<string, Key>();
    for (const key of [signing, ...verifyOnly]) {
      if (!key) continue;
      if (key.purpose !== this.purpose)
        problems.push(
          `Key ${key.kid} is a${key.purpose === 'access' ? 'n access' : ' refresh'}-token key and cannot sit in the ${this.purpose}-token key ring.`,
        );
      if (byKid.has(key.kid)) problems.push(`Two keys in the ring share the kid "${key.kid}": each kid must name one key.`);
      byKid.set(key.kid, key);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    this.#signing = signing;
    this.#byKid = byKid;
    // Refresh-token keys are read only by their issuer: that ring publishes nothing.
    this.#jwks = { keys: this.purpose === 'access' ? [...byKid.values()].filter((k) => k.alg !== 'HS256').map(exportPublicJwk) : [] };
    this.#version++;
  }
}

/**
 * Builds a key ring; a single key becomes the signing key.
 * @example const ring = createKeyRing({ signing: current, verifyOnly: [previous.verifyOnly()] });
 */
export function createKeyRing(input: KeyRingInput | Key, options: { purpose?: KeyPurpose } = {}): KeyRing {
  return new KeyRing('signing' in input ? input : { signing: input }, options.purpose ?? 'access');
}

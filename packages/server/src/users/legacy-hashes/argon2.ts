// Argon2 PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, and argon2i/argon2d) from passlib,
// argon2-cffi or Django's argon2$ (which prefixes the PHC string). The raw hash is recomputed with
// the stored parameters by @node-rs/argon2 and compared in constant time here.
import { timingSafeEqual } from 'node:crypto';
import { hashRaw, type Options } from '@node-rs/argon2';
import { base64Bytes, costParameter, LEGACY_HASH_CAPS } from './caps.js';
import { malformed } from './errors.js';

// @node-rs/argon2's Algorithm and Version are `declare const enum`s, which isolated modules cannot
// read: their values, from its index.d.ts.
const ALGORITHMS = { argon2d: 0, argon2i: 1, argon2id: 2 } as const;
const VERSIONS = { 16: 0, 19: 1 } as const;
type Variant = keyof typeof ALGORITHMS;

export interface Argon2Hash {
  readonly kind: 'argon2';
  readonly format: string;
  readonly variant: Variant;
  /** 19 (0x13) or 16 (0x10, strings without `v=`). */
  readonly version: 16 | 19;
  readonly memoryKiB: number;
  readonly time: number;
  readonly parallelism: number;
  readonly salt: Buffer;
  readonly expected: Buffer;
}

/** Parses a PHC string; `format` names where it came from, for messages. */
export function argon2Hash(format: string, phc: string): Argon2Hash {
  const parts = phc.split('$');
  // ['', variant, ('v=19',)? 'm=..,t=..,p=..', salt, hash]
  if (parts[0] !== '' || (parts.length !== 5 && parts.length !== 6)) throw malformed(format, 'not $variant$v=…$m=…,t=…,p=…$salt$hash');
  const variant = parts[1] ?? '';
  if (!(variant in ALGORITHMS)) throw malformed(format, `variant ${variant} is not argon2id, argon2i or argon2d`);
  let version: 16 | 19 = 16;
  if (parts.length === 6) {
    if (parts[2] === 'v=19') version = 19;
    else if (parts[2] !== 'v=16') throw malformed(format, 'version is not v=19 or v=16');
  }
  const [params, salt, expected] = parts.slice(-3);
  const values = new Map((params ?? '').split(',').map((pair) => pair.split('=', 2) as [string, string | undefined]));
  if (values.size !== 3) throw malformed(format, 'parameters are not m=…,t=…,p=…');
  const parallelism = costParameter(format, 'p', values.get('p'), LEGACY_HASH_CAPS.argon2Parallelism);
  const hash: Argon2Hash = {
    kind: 'argon2',
    format,
    variant: variant as Variant,
    version,
    memoryKiB: costParameter(format, 'm', values.get('m'), LEGACY_HASH_CAPS.argon2MemoryKiB, 8 * parallelism),
    time: costParameter(format, 't', values.get('t'), LEGACY_HASH_CAPS.argon2Time),
    parallelism,
    salt: base64Bytes(format, 'the salt', salt),
    expected: base64Bytes(format, 'the hash', expected),
  };
  if (hash.salt.length < 8 || hash.salt.length > 64) throw malformed(format, `a salt of ${hash.salt.length} bytes`);
  if (hash.expected.length < 4 || hash.expected.length > 64) throw malformed(format, `a hash of ${hash.expected.length} bytes`);
  return hash;
}

export async function verifyArgon2(hash: Argon2Hash, password: Buffer): Promise<boolean> {
  const derived = await hashRaw(password, {
    algorithm: ALGORITHMS[hash.variant] as NonNullable<Options['algorithm']>,
    version: VERSIONS[hash.version] as NonNullable<Options['version']>,
    memoryCost: hash.memoryKiB,
    timeCost: hash.time,
    parallelism: hash.parallelism,
    outputLen: hash.expected.length,
    salt: hash.salt,
  });
  return timingSafeEqual(derived, hash.expected);
}

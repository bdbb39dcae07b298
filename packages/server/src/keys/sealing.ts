// Private keys at rest: sealed with AES-256-GCM under a key derived (HKDF-SHA256) from
// TESSERA_KEYS_SECRET when it is set; stored as plain JSON otherwise (the SQLite file is then the
// secret, and is created readable by its owner only).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';

export class KeySealingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySealingError';
  }
}

/** Derives the sealing key; the secret must be base64url of at least 32 random bytes. */
export function sealingKey(secret: string | undefined): Buffer | undefined {
  if (secret === undefined) return undefined;
  const bytes = /^[A-Za-z0-9_-]+$/.test(secret) ? Buffer.from(secret, 'base64url') : Buffer.alloc(0);
  if (bytes.length < 32) throw new KeySealingError('TESSERA_KEYS_SECRET must be base64url of at least 32 random bytes.');
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), 'tessera key sealing v1', 32));
}

/** Whether a stored private key is sealed (plain JSON otherwise). */
export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** Seals a private JWK's JSON text; `kid` is bound as associated data so rows cannot be swapped. */
export function seal(plaintext: string, kid: string, key: Buffer | undefined): string {
  if (key === undefined) return plaintext;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Opens what `seal` made; says clearly when the secret is missing or wrong. */
export function unseal(stored: string, kid: string, key: Buffer | undefined): string {
  if (!stored.startsWith(PREFIX)) return stored;
  if (key === undefined) throw new KeySealingError(`Key ${kid} is stored encrypted: set TESSERA_KEYS_SECRET to the secret it was sealed with.`);
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new KeySealingError(`Key ${kid} could not be decrypted: TESSERA_KEYS_SECRET is not the secret it was sealed with.`);
  }
}

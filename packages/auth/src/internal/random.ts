import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

// One CSPRNG call fills a pool that serves many ids: a token needs two (jti, sid), and a
// randomBytes() call per id costs more than signing an HS256 token. Bytes are never handed out twice.
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** A random identifier of `bytes` CSPRNG bytes (16 bytes = 128 bits), base64url-encoded. */
export function randomId(bytes = 16): string {
  if (bytes > pool.length) return randomFillSync(Buffer.alloc(bytes)).toString('base64url');
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}

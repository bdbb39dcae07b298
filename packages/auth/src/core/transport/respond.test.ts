// Token answers name the scheme the access token must be sent with (RFC 6749 §5.1 `token_type`).
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { generateKey, generateRefreshKey, type Key } from '../keys/key.js';
import { createTessera } from '../tessera.js';
import { TRANSPORTS } from '../../protocol/protocol.js';
import { tokenResult } from './respond.js';

let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  [keys, refreshKey] = await Promise.all([generateKey('EdDSA'), generateRefreshKey()]);
});

describe('tokenResult', () => {
  it("says token_type 'DPoP' for a bound access token (RFC 9449 §5) and 'Bearer' otherwise, in every transport", () => {
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(Date.UTC(2030, 0, 1)) });
    const jkt = randomBytes(32).toString('base64url');
    const bound = auth.createTokenPair({ sub: 'u', jkt, csrf: true });
    const plain = auth.createTokenPair({ sub: 'u', csrf: true });
    for (const transport of TRANSPORTS) {
      const body = (pair: typeof plain) => JSON.parse(tokenResult(auth.config, pair, transport).body as string) as Record<string, unknown>;
      expect(body(bound).token_type).toBe('DPoP');
      expect(body(plain).token_type).toBe('Bearer');
    }
  });
});

// Parsing refusals, each with its stable code: the shapes a hostile or damaged import line takes.
// (Verification is tested against hashes the Python libraries make: test/migration/.)
import { describe, expect, it } from 'vitest';
import { LegacyHashError, parseLegacyHash, type LegacyHashProblem } from './index.js';

const SALT22 = 'abcdefghijklmnopqrstuv';
const CHECKSUM31 = 'abcdefghijklmnopqrstuvwxyz01234';

function problem(stored: string): LegacyHashProblem | 'parsed' {
  try {
    parseLegacyHash(stored);
    return 'parsed';
  } catch (err) {
    if (err instanceof LegacyHashError) return err.code;
    throw err;
  }
}

describe('parseLegacyHash', () => {
  it.each([
    ['', 'legacy_hash_unknown_format'],
    ['md5$salt$0123', 'legacy_hash_unknown_format'],
    ['sha1$salt$0123', 'legacy_hash_unknown_format'],
    ['!QWxhZGRpbjpvcGVuIHNlc2FtZQ', 'legacy_hash_unknown_format'],
    [`$2x$10$${SALT22}${CHECKSUM31}`, 'legacy_hash_unknown_format'],
    ['$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA', 'legacy_hash_unknown_format'],
    ['pbkdf2_sha256$260000$salt', 'legacy_hash_malformed'],
    ['pbkdf2_sha256$-1$salt$AAAAAAAAAAAAAAAAAAAAAA==', 'legacy_hash_malformed'],
    ['pbkdf2_sha256$0$salt$AAAAAAAAAAAAAAAAAAAAAA==', 'legacy_hash_malformed'],
    ['pbkdf2_sha256$1e6$salt$AAAAAAAAAAAAAAAAAAAAAA==', 'legacy_hash_malformed'],
    ['pbkdf2_sha256$1000$salt$not base64!', 'legacy_hash_malformed'],
    ['pbkdf2_sha256$1000$salt$AAAA', 'legacy_hash_malformed'],
    ['pbkdf2_sha256$99999999999999999999999$salt$AAAAAAAAAAAAAAAAAAAAAA==', 'legacy_hash_cost_too_high'],
    ['pbkdf2_sha256$2000001$salt$AAAAAAAAAAAAAAAAAAAAAA==', 'legacy_hash_cost_too_high'],
    ['pbkdf2_sha256$2000000$salt$AAAAAAAAAAAAAAAAAAAAAA==', 'parsed'],
    ['pbkdf2:sha256$salt$00112233445566778899aabbccddeeff', 'legacy_hash_malformed'],
    ['pbkdf2:md5:1000$salt$00112233445566778899aabbccddeeff', 'legacy_hash_malformed'],
    ['pbkdf2:sha256:1000$salt$0011223344556677889XAABBCCDDEEFF', 'legacy_hash_malformed'],
    ['scrypt$salt$00112233445566778899aabbccddeeff', 'legacy_hash_unknown_format'],
    ['scrypt:32768:8$salt$00112233445566778899aabbccddeeff', 'legacy_hash_malformed'],
    ['scrypt:30000:8:1$salt$00112233445566778899aabbccddeeff', 'legacy_hash_malformed'],
    ['scrypt:1048576:1:1$salt$00112233445566778899aabbccddeeff', 'parsed'],
    ['scrypt:1048576:2:1$salt$00112233445566778899aabbccddeeff', 'legacy_hash_cost_too_high'],
    ['scrypt:16384:8:17$salt$00112233445566778899aabbccddeeff', 'legacy_hash_cost_too_high'],
    [`$2b$14$${SALT22}${CHECKSUM31}`, 'parsed'],
    [`$2b$15$${SALT22}${CHECKSUM31}`, 'legacy_hash_cost_too_high'],
    [`$2b$03$${SALT22}${CHECKSUM31}`, 'legacy_hash_malformed'],
    [`$2b$10$${SALT22}${CHECKSUM31}x`, 'legacy_hash_malformed'],
    [`bcrypt$$2b$10$${SALT22}${CHECKSUM31}`, 'parsed'],
    [`bcrypt$2b$10$${SALT22}${CHECKSUM31}`, 'legacy_hash_malformed'],
    ['$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'parsed'],
    ['$argon2id$v=18$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'legacy_hash_malformed'],
    ['$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'legacy_hash_malformed'],
    ['$argon2id$v=19$m=16,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'legacy_hash_malformed'],
    ['$argon2id$v=19$m=65536,t=3,p=4$c2Fsd$aGFzaGhhc2hoYXNo', 'legacy_hash_malformed'],
    ['$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'legacy_hash_cost_too_high'],
    ['argon2$argon2i$m=512,t=2,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'parsed'],
    ['$pbkdf2-sha256$29000$c2FsdA$not.base64!', 'legacy_hash_malformed'],
    [`$pbkdf2-sha256$29000$c2FsdA$${'A'.repeat(43)}`, 'parsed'],
    [`pbkdf2_sha256$1000$salt$${'A'.repeat(600)}`, 'legacy_hash_malformed'],
  ] as const)('%s: %s', (stored, code) => {
    expect(problem(stored)).toBe(code);
  });

  it('names the format and the parameter, never the hash', () => {
    const stored = 'pbkdf2_sha256$1000000000$secretsalt$AAAAAAAAAAAAAAAAAAAAAA==';
    expect(() => parseLegacyHash(stored)).toThrow('Django pbkdf2_sha256 hash: iteration count 1000000000 is over the cap of 2000000');
    try {
      parseLegacyHash(stored);
    } catch (err) {
      expect((err as Error).message).not.toContain('secretsalt');
    }
    expect(() => parseLegacyHash('5f4dcc3b5aa765d61d8327deb882cf99')).toThrow(/^unknown hash format$/);
  });
});

// The TESSERA_LEGACY_* settings: a cut-over names its secret and its end, the end is at most 90 days
// ahead when the server starts, and each problem is one sentence saying how to fix it.
import { sqliteBackend } from '@tessera/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, ServerConfigError } from '../../src/settings.js';
import { runCli } from '../support/harness.js';

const NOW = Date.parse('2027-01-10T12:00:00Z');
const SECRET = 'django-insecure-0123456789abcdef0123456789abcdef';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, NOW);
  } catch (err) {
    if (err instanceof ServerConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('legacy settings', () => {
  it('reads a cut-over: format, secret, algorithm, end, user claim, access', () => {
    const config = loadConfig(
      {
        TESSERA_LEGACY_FORMAT: 'flask-jwt-extended',
        TESSERA_LEGACY_SECRET: SECRET,
        TESSERA_LEGACY_ALG: 'HS512',
        TESSERA_LEGACY_UNTIL: '2027-03-01',
        TESSERA_LEGACY_USER_CLAIM: 'identity',
        TESSERA_LEGACY_ACCESS: 'true',
      },
      NOW,
    );
    expect(config).toMatchObject({
      legacyFormat: 'flask-jwt-extended',
      legacySecret: SECRET,
      legacyAlg: 'HS512',
      legacyUntil: Date.parse('2027-03-01T00:00:00Z'),
      legacyUserClaim: 'identity',
      legacyAccess: true,
    });
    expect(
      loadConfig({ TESSERA_LEGACY_FORMAT: 'authx', TESSERA_LEGACY_SECRET: SECRET, TESSERA_LEGACY_UNTIL: '2027-02-01T08:00:00+02:00' }, NOW)
        .legacyUntil,
    ).toBe(Date.parse('2027-02-01T06:00:00Z'));
  });

  it('refuses a format without its end or its secret', () => {
    expect(problems({ TESSERA_LEGACY_FORMAT: 'simplejwt' })).toEqual([
      'TESSERA_LEGACY_SECRET is required with TESSERA_LEGACY_FORMAT=simplejwt: set it to the key that stack signed its tokens with.',
      'TESSERA_LEGACY_UNTIL is required with TESSERA_LEGACY_FORMAT=simplejwt: set the date the cut-over ends, at most 90 days ahead (e.g. 2027-02-09).',
    ]);
  });

  it('refuses an end more than 90 days ahead, and takes one exactly 90 days ahead or already past', () => {
    const env = { TESSERA_LEGACY_FORMAT: 'simplejwt', TESSERA_LEGACY_SECRET: SECRET };
    expect(problems({ ...env, TESSERA_LEGACY_UNTIL: '2027-04-11' })).toEqual([
      'TESSERA_LEGACY_UNTIL (2027-04-11T00:00:00.000Z) is more than 90 days ahead: choose a date on or before 2027-04-10, so that old tokens stop being honoured soon.',
    ]);
    expect(problems({ ...env, TESSERA_LEGACY_UNTIL: '2027-04-10T12:00:00Z' })).toEqual([]);
    expect(problems({ ...env, TESSERA_LEGACY_UNTIL: '2026-12-01' })).toEqual([]);
  });

  it('refuses bad values, one sentence each, never repeating the secret', () => {
    const found = problems({
      TESSERA_LEGACY_FORMAT: 'django',
      TESSERA_LEGACY_SECRET: 'short-secret',
      TESSERA_LEGACY_ALG: 'none',
      TESSERA_LEGACY_UNTIL: '2027-02-30',
      TESSERA_LEGACY_USER_CLAIM: 'user id',
      TESSERA_LEGACY_ACCESS: 'maybe',
    });
    expect(found).toHaveLength(6);
    for (const [name, expected] of [
      ['TESSERA_LEGACY_FORMAT', 'simplejwt, flask-jwt-extended, authx'],
      ['TESSERA_LEGACY_SECRET', 'at least 32 bytes'],
      ['TESSERA_LEGACY_ALG', 'HS256, HS384, HS512'],
      ['TESSERA_LEGACY_UNTIL', 'ISO 8601 date'],
      ['TESSERA_LEGACY_USER_CLAIM', 'a claim name'],
      ['TESSERA_LEGACY_ACCESS', 'true or false'],
    ] as const)
      expect(found.find((p) => p.startsWith(name)) ?? '', name).toContain(expected);
    expect(found.join('\n')).not.toContain('short-secret');
    // A time without its offset would be read in the server's local zone: refused.
    expect(problems({ TESSERA_LEGACY_FORMAT: 'simplejwt', TESSERA_LEGACY_SECRET: SECRET, TESSERA_LEGACY_UNTIL: '2027-02-01T10:00' })[0]).toMatch(
      /^TESSERA_LEGACY_UNTIL must be an ISO 8601 date/,
    );
  });

  it('refuses cut-over settings without a format, and a user claim AuthX never writes', () => {
    expect(problems({ TESSERA_LEGACY_SECRET: SECRET, TESSERA_LEGACY_ACCESS: 'true' })).toEqual([
      'TESSERA_LEGACY_SECRET is only used with TESSERA_LEGACY_FORMAT: set TESSERA_LEGACY_FORMAT to the stack being replaced, or unset TESSERA_LEGACY_SECRET.',
      'TESSERA_LEGACY_ACCESS is only used with TESSERA_LEGACY_FORMAT: set TESSERA_LEGACY_FORMAT to the stack being replaced, or unset TESSERA_LEGACY_ACCESS.',
    ]);
    expect(
      problems({
        TESSERA_LEGACY_FORMAT: 'authx',
        TESSERA_LEGACY_SECRET: SECRET,
        TESSERA_LEGACY_UNTIL: '2027-02-01',
        TESSERA_LEGACY_USER_CLAIM: 'uid',
      }),
    ).toEqual(['TESSERA_LEGACY_USER_CLAIM must be sub (or unset) with TESSERA_LEGACY_FORMAT=authx: AuthX always names the user in sub.']);
  });

  describe('tessera serve', () => {
    const backend = sqliteBackend();
    afterAll(() => backend.cleanup());

    it('does not start with a cut-over that has no end, or one too far ahead (exit 2, one sentence each)', async () => {
      const env = { ...backend.env, TESSERA_LEGACY_FORMAT: 'simplejwt', TESSERA_LEGACY_SECRET: SECRET };
      const unset = await runCli(['serve'], env);
      expect(unset.code).toBe(2);
      expect(unset.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^TESSERA_LEGACY_UNTIL is required with TESSERA_LEGACY_FORMAT=simplejwt/),
      ]);
      const far = await runCli(['serve'], { ...env, TESSERA_LEGACY_UNTIL: new Date(Date.now() + 91 * 86_400_000).toISOString().slice(0, 10) });
      expect(far.code).toBe(2);
      expect(far.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^TESSERA_LEGACY_UNTIL \(.*\) is more than 90 days ahead/)]);
    });
  });
});

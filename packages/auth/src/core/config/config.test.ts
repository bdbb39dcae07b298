import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { fixedClock } from '../clock.js';
import { resolveConfig, type TesseraOptions } from './config.js';
import { createKeyRing } from '../keys/key-ring.js';
import { generateKey, generateRefreshKey, importKey, type Key } from '../keys/key.js';

let access: Key;
let refresh: Key;
beforeAll(async () => {
  access = await generateKey('EdDSA');
  refresh = await generateRefreshKey();
});

function problems(options: Partial<TesseraOptions>): readonly string[] {
  try {
    resolveConfig({ keys: access, refreshKey: refresh, ...options } as TesseraOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('resolveConfig', () => {
  it('resolves the defaults of docs/architecture.md and freezes the result', () => {
    const config = resolveConfig({ keys: access, refreshKey: refresh });
    expect(config).toMatchObject({ accessTtl: 900, refreshTtl: 604800, sessionMaxAge: 2592000, leeway: 0, reuseGrace: 10 });
    expect(config.cookies.names).toEqual({ access: '__Host-tessera-access', refresh: '__Secure-tessera-refresh', csrf: '__Host-tessera-csrf' });
    expect(config.cookies).toMatchObject({ secure: true, sameSite: 'Lax', refreshPath: '/auth' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.cookies)).toBe(true);
    expect(Object.isFrozen(config.locations.access)).toBe(true);
    expect(config.keys.signingKey).toBe(access);
  });

  it('accepts durations as text or seconds', () => {
    const config = resolveConfig({ keys: access, refreshKey: refresh, accessTtl: 300, refreshTtl: '1d', leeway: '30s', reuseGrace: 0 });
    expect(config).toMatchObject({ accessTtl: 300, refreshTtl: 86400, leeway: 30, reuseGrace: 0 });
  });

  it('reports every problem at once, one sentence each', () => {
    const found = problems({
      accessTtl: 'soon',
      leeway: '2m',
      issuer: '',
      maxTokenLength: 10,
      cookies: { sameSite: 'None' as 'Lax', secure: 'yes' as unknown as boolean },
      publicOrigins: ['https://ok.example', 'https://bad.example/path'],
      locations: { access: ['query' as 'header'] },
    });
    expect(found.length).toBeGreaterThanOrEqual(7);
    for (const fragment of ['accessTtl', 'leeway', 'issuer', 'maxTokenLength', 'sameSite', 'cookies.secure', 'bad.example', 'locations.access']) {
      expect(found.some((p) => p.includes(fragment))).toBe(true);
    }
    const error = (() => {
      try {
        resolveConfig({ keys: access, refreshKey: refresh, accessTtl: 'soon', leeway: '2m' });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(error?.message).toContain('accessTtl');
    expect(error?.message).toContain('leeway');
  });

  it('refuses a leeway above 60 s or not smaller than the access lifetime', () => {
    expect(problems({ leeway: 61 }).some((p) => p.includes('at most 60'))).toBe(true);
    expect(problems({ accessTtl: 30, leeway: 30 }).some((p) => p.includes('smaller than accessTtl'))).toBe(true);
    expect(problems({ accessTtl: 31, leeway: 30 })).toEqual([]);
  });

  it('refuses a refresh lifetime beyond the absolute session lifetime', () => {
    expect(problems({ refreshTtl: '31d' }).some((p) => p.includes('sessionMaxAge'))).toBe(true);
  });

  it('requires keys and a refresh key, and says how to make them', () => {
    const found = problems({ keys: undefined as unknown as Key, refreshKey: undefined as unknown as Key });
    expect(found.some((p) => p.includes('keys is missing') && p.includes('generateKey'))).toBe(true);
    expect(found.some((p) => p.includes('refreshKey is missing') && p.includes('generateRefreshKey'))).toBe(true);
  });

  it('refuses an access key as the refresh key, and one secret serving both kinds', async () => {
    const hs = await generateKey('HS256');
    expect(problems({ refreshKey: hs }).some((p) => p.includes('generateRefreshKey'))).toBe(true);
    const secret = Buffer.alloc(32, 7);
    const sameSecretAccess = importKey({ alg: 'HS256', secret, kid: 'a' });
    const sameSecretRefresh = importKey({ alg: 'HS256', secret, kid: 'r', purpose: 'refresh' });
    expect(problems({ keys: sameSecretAccess, refreshKey: sameSecretRefresh }).some((p) => p.includes('same secret'))).toBe(true);
    const sameKid = importKey({ alg: 'HS256', secret: Buffer.alloc(32, 9), kid: 'r', purpose: 'refresh' });
    expect(
      problems({ keys: createKeyRing(importKey({ alg: 'HS256', secret: Buffer.alloc(32, 8), kid: 'r' })), refreshKey: sameKid }).some((p) =>
        p.includes('shares the kid'),
      ),
    ).toBe(true);
  });

  it('normalises public origins and refuses a bad clock', () => {
    expect(resolveConfig({ keys: access, refreshKey: refresh, publicOrigins: ['https://App.Example:443/'] }).publicOrigins).toEqual([
      'https://app.example',
    ]);
    expect(problems({ clock: {} as never }).some((p) => p.includes('clock'))).toBe(true);
    expect(resolveConfig({ keys: access, refreshKey: refresh, clock: fixedClock(0) }).clock.now()).toBe(0);
  });

  it('drops the cookie prefixes only when Secure is turned off', () => {
    const config = resolveConfig({ keys: access, refreshKey: refresh, cookies: { secure: false } });
    expect(config.cookies.names).toEqual({ access: 'tessera-access', refresh: 'tessera-refresh', csrf: 'tessera-csrf' });
  });
});

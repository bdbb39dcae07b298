import { beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/stores/memory.js';
import { fixedClock } from '../../src/core/clock.js';
import { handleLogout, handleRefresh } from '../../src/core/flows.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import { createTessera } from '../../src/core/tessera.js';

const T0 = Date.UTC(2030, 0, 1);
let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  keys = await generateKey('EdDSA');
  refreshKey = await generateRefreshKey();
});

describe('handleLogout', () => {
  it('revokes the session of a valid refresh token even beside an expired access token as Bearer', async () => {
    const clock = fixedClock(T0);
    const auth = createTessera({ keys, refreshKey, clock, sessions: { store: memoryStore() } });
    const { access, refresh } = await auth.openSession({ sub: 'u' });
    clock.advance(16 * 60 * 1000); // the access token has expired, the refresh token has not
    const body = { refresh_token: refresh.token };
    const result = await handleLogout(auth, { method: 'POST', headers: ['Authorization', `Bearer ${access.token}`], body });
    expect(result.status).toBe(204);
    const after = await handleRefresh(auth, { method: 'POST', headers: [], body });
    expect(JSON.parse(after.body ?? '{}')).toMatchObject({ error: 'token_revoked' });
  });

  it('still refuses a forged Bearer token set aside beside a refresh token', async () => {
    const auth = createTessera({ keys, refreshKey, sessions: { store: memoryStore() } });
    const { refresh } = await auth.openSession({ sub: 'u' });
    const stranger = createTessera({ keys: await generateKey('EdDSA'), refreshKey });
    const forged = stranger.createAccessToken({ sub: 'u' }).token;
    const result = await handleRefresh(auth, {
      method: 'POST',
      headers: ['Authorization', `Bearer ${forged}`],
      body: { refresh_token: refresh.token },
    });
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ error: 'token_invalid' });
  });

  it('answers expires_in in whole seconds left, rounded down', async () => {
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0 + 900), accessTtl: 3 });
    const { expiresIn, claims } = auth.createAccessToken({ sub: 'u' });
    expect(claims.exp - claims.iat).toBe(3);
    expect(expiresIn).toBe(2);
  });
});

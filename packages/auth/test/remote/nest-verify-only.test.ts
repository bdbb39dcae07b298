// NestJS with a remote verifier: a route that needs a full Tessera (`@RequireRefreshToken()`, on a route or on
// its controller) makes the app fail to start, in one sentence, instead of answering 500 at its first request.
import { NestFactory } from '@nestjs/core';
import type { Type } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { Authenticated, RequireRefreshToken, TesseraModule } from '../../src/adapters/nest/index.js';
import { createRemoteVerifier } from '../../src/remote/index.js';
import { controller, nestModule } from '../conformance/apps-nest.js';

const verifier = createRemoteVerifier({
  issuer: 'https://auth.example',
  audience: 'https://api.example',
  jwksUrl: 'http://127.0.0.1:9/jwks.json',
  log: false,
});
afterAll(() => verifier.close());

/** Nest's own start-up (module init), without listening; `abortOnError: false` so a failure rejects instead of exiting. */
async function start(module: Type): Promise<void> {
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  await app.close();
}

const SENTENCE = /^@RequireRefreshToken\(\) on \w+ needs a full Tessera: Login, refresh and logout handlers need a full Tessera/;

describe('NestJS with a remote verifier', () => {
  it('refuses to start with a @RequireRefreshToken() route', async () => {
    const routes = controller([{ method: 'post', path: '/refresh', decorators: [RequireRefreshToken()], run: () => ({ ok: true }) }]);
    await expect(start(nestModule({ imports: [TesseraModule.forRoot({ auth: verifier })], controllers: [routes] }))).rejects.toThrow(SENTENCE);
  });

  it('refuses to start with a @RequireRefreshToken() controller', async () => {
    const routes = controller([{ method: 'get', path: '/x', run: () => ({ ok: true }) }], [RequireRefreshToken()]);
    await expect(start(nestModule({ imports: [TesseraModule.forRoot({ auth: verifier })], controllers: [routes] }))).rejects.toThrow(SENTENCE);
  });

  it('starts with access-token routes only', async () => {
    const routes = controller([{ method: 'get', path: '/me', decorators: [Authenticated()], run: () => ({ ok: true }) }]);
    await start(nestModule({ imports: [TesseraModule.forRoot({ auth: verifier })], controllers: [routes] }));
  });
});

// The adapter conformance suite on Express 5: the app (test/conformance/apps.ts) mounts the routes that
// test/conformance/adapter.ts lists, with the Express adapter's guards and handlers. Then what is
// Express's own: an app that forgot express.json(), Express's default error handler, `authed()`.
import { createServer } from 'node:http';
import { listen, send } from '@tessera/test-kit';
import express, { type ErrorRequestHandler } from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tessera, TesseraHttpError } from '../../src/adapters/express.js';
import { createTessera, generateKey, generateRefreshKey, type Tessera } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { describeAdapter } from '../conformance/adapter.js';
import { makeExpress } from '../conformance/apps.js';

describeAdapter('express', makeExpress);

describe('express: its own ways', () => {
  const newAuth = async (): Promise<Tessera<{ roles: string[] }>> => {
    const auth = createTessera<{ roles: string[] }>({
      keys: await generateKey('EdDSA'),
      refreshKey: await generateRefreshKey(),
      sessions: { store: memoryStore() },
    });
    onTestFinished(() => auth.close());
    return auth;
  };
  const check = (body: unknown) =>
    (body as { password?: unknown } | undefined)?.password === 'pw' ? { sub: 'ada', claims: { roles: ['admin'] } } : null;

  it('says so when express.json() was forgotten, instead of "invalid credentials" or "no token"', async () => {
    const auth = await newAuth();
    const t = tessera(auth);
    const app = express(); // no express.json()
    app.post('/auth/login', t.login(check));
    app.post('/auth/refresh', t.refresh());
    app.post('/auth/logout', t.logout());
    const server = await listen(createServer(app));
    onTestFinished(() => server.close());
    const forgotten = { error: 'invalid_request', message: 'The JSON body was not parsed: mount express.json() before the Tessera handlers' };
    for (const path of ['/auth/login', '/auth/refresh', '/auth/logout']) {
      const answer = await send(server.url, path, { json: { password: 'pw', refresh_token: 'x' } });
      expect([path, answer.status, answer.json]).toEqual([path, 400, forgotten]);
    }
    const form = await send(server.url, '/auth/login', { form: { password: 'pw' } });
    expect([form.status, form.json]).toEqual([415, { error: 'unsupported_media_type', message: 'Send the body as application/json' }]);
    // A token elsewhere still works without a parser; no body at all is still "no token".
    const { refresh } = await auth.openSession({ sub: 'ada' });
    expect((await send(server.url, '/auth/refresh', { method: 'POST', bearer: refresh.token })).status).toBe(200);
    expect((await send(server.url, '/auth/refresh', { method: 'POST' })).json.error).toBe('token_missing');
  });

  it("with errors: 'throw', Express's default handler answers from the error's status and headers", async () => {
    const auth = await newAuth();
    const t = tessera(auth, { errors: 'throw' });
    const app = express().use(express.json());
    app.get('/me', t.required(), (_req, res) => void res.end('ok'));
    const server = await listen(createServer(app));
    onTestFinished(() => server.close());
    const answer = await send(server.url, '/me');
    expect(answer.status).toBe(401);
    expect(answer.header('www-authenticate')).toBe('Bearer');
    expect(answer.header('cache-control')).toBe('no-store');
    // Outside production Express writes err.stack: a refusal is no defect, so it has no frames (no paths) to show.
    expect(process.env.NODE_ENV).not.toBe('production');
    expect(answer.text).toContain('TesseraHttpError: No access token was found');
    expect(answer.text).not.toMatch(/\bat\s|node_modules|adapters/);
  });

  it("the app's error handler gets a TesseraHttpError with status, code, headers, body and the TesseraError as cause", async () => {
    const auth = await newAuth();
    const t = tessera(auth, { errors: 'throw' });
    const seen: TesseraHttpError[] = [];
    const app = express().use(express.json());
    app.get('/admin', t.required({ claims: { roles: 'owner' } }), (_req, res) => void res.end('ok'));
    const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
      if (!(err instanceof TesseraHttpError)) return next(err);
      seen.push(err);
      res.status(err.status).json({ problem: err.code });
    };
    app.use(onError);
    const server = await listen(createServer(app));
    onTestFinished(() => server.close());
    const { access } = await auth.openSession({ sub: 'ada', claims: { roles: ['admin'] } });
    const answer = await send(server.url, '/admin', { bearer: access.token });
    expect([answer.status, answer.json]).toEqual([403, { problem: 'insufficient_scope' }]);
    const [error] = seen;
    expect(error).toMatchObject({ status: 403, statusCode: 403, code: 'insufficient_scope', expose: true });
    expect(error?.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_scope", error_description="The token\'s roles claim does not include owner"',
    );
    expect(JSON.parse(error?.body ?? '')).toEqual({ error: 'insufficient_scope', message: 'The token\'s roles claim does not include "owner"' });
    expect((error?.cause as { code?: string }).code).toBe('insufficient_scope');
  });

  it('authed() hands a handler the identity, typed, and refuses to run where no guard ran', async () => {
    const auth = await newAuth();
    const t = tessera(auth);
    const app = express();
    app.get(
      '/me',
      t.required(),
      t.authed((req, res) => void res.json({ sub: req.auth.sub, roles: req.auth.claims.roles })),
    );
    app.get(
      '/open',
      t.authed((req, res) => void res.json({ sub: req.auth.sub })),
    );
    const server = await listen(createServer(app));
    onTestFinished(() => server.close());
    const { access } = await auth.openSession({ sub: 'ada', claims: { roles: ['admin'] } });
    expect((await send(server.url, '/me', { bearer: access.token })).json).toEqual({ sub: 'ada', roles: ['admin'] });
    expect((await send(server.url, '/open')).status).toBe(500);
  });
});

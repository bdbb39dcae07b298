// AuthX's flow with Tessera on Express: both tokens in the login body, and the refresh token sent
// back as `Authorization: Bearer` (AuthX's JWT_TOKEN_LOCATION = ["headers"]).
//
//   POST /login      {username, password} → {access_token, refresh_token, …}
//   POST /refresh    Authorization: Bearer <refresh token> → a new pair (the old refresh token is spent)
//   GET  /protected  Authorization: Bearer <access token>
import { createTessera, generateKey, generateRefreshKey, type Clock } from '@tessera/auth';
import { tessera } from '@tessera/auth/express';
import { memoryStore } from '@tessera/auth/stores/memory';
import express from 'express';
import { bodyErrors, checkPassword, listen, runIfMain, type Running } from './shared.js';

export async function start(port = 0, options: { clock?: Clock } = {}): Promise<Running> {
  const auth = createTessera({
    keys: await generateKey('EdDSA'),
    refreshKey: await generateRefreshKey(),
    // Headers only, as AuthX is configured here: no cookie can carry a token, so no CSRF to handle.
    locations: { access: ['header'], refresh: ['header'] },
    sessions: { store: memoryStore() },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const t = tessera(auth);

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  app.post('/login', t.login(checkPassword));
  // Unlike AuthX's default, every refresh rotates: replaying a spent refresh token ends the session.
  app.post('/refresh', t.refresh());
  app.get('/protected', t.required(), (req, res) => {
    res.json({ message: `Hello ${t.identity(req).sub}` });
  });
  app.use(bodyErrors());
  return listen(app, port);
}

await runIfMain(import.meta.url, start);

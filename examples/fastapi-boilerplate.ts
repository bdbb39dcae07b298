// FastAPI-boilerplate's auth flow with Tessera on Express: the hybrid transport. The login answers
// the access token in the body (the client keeps it in memory, never in localStorage) and sets the
// refresh token in an HttpOnly cookie that only the refresh and logout routes ever receive.
//
//   POST /api/v1/login     JSON {username, password} → {access_token, …} + refresh cookie
//                          (a form login gets both tokens in the body instead; see below)
//   POST /api/v1/refresh   refresh cookie + X-CSRF-Token (the csrf cookie's value) → new access token, rotated cookie
//   POST /api/v1/logout    revokes the session and clears the cookies
//   GET  /api/v1/users/me  Authorization: Bearer <access token>
import { createTessera, generateKey, generateRefreshKey, type Clock } from '@tessera/auth';
import { tessera } from '@tessera/auth/express';
import { memoryStore } from '@tessera/auth/stores/memory';
import express, { type RequestHandler } from 'express';
import { bodyErrors, checkPassword, findUser, listen, runIfMain, type DemoUser, type Running } from './shared.js';

export async function start(port = 0, options: { clock?: Clock } = {}): Promise<Running> {
  const auth = createTessera({
    keys: await generateKey('EdDSA'),
    refreshKey: await generateRefreshKey(),
    accessTtl: '30m', // ACCESS_TOKEN_EXPIRE_MINUTES
    refreshTtl: '7d', // REFRESH_TOKEN_EXPIRE_DAYS
    // The browser sends the refresh cookie only under this path: to refresh and logout, never to the API.
    cookies: { refreshPath: '/api/v1' },
    // A memory store loses sessions on restart; use the SQL store in production.
    sessions: { store: memoryStore() },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const t = tessera<DemoUser>(auth, { lookupUser: (claims) => findUser(claims.sub) });

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }));

  // A JSON login gets the hybrid split. Any site can post a form to us, so Tessera never sets cookies
  // from a form login (login CSRF): the form (Swagger UI's OAuth2 password flow) gets both tokens in the body.
  const jsonLogin = t.login(checkPassword, { transports: ['hybrid'] });
  const formLogin = t.login(checkPassword, { transports: ['bearer'] });
  const login: RequestHandler = (req, res, next) => (req.is('application/json') ? jsonLogin : formLogin)(req, res, next);

  app.post('/api/v1/login', login);
  app.post('/api/v1/refresh', t.refresh());
  app.post('/api/v1/logout', t.logout());
  app.get('/api/v1/users/me', t.required(), (req, res) => {
    res.json(t.identity(req).user);
  });
  app.use(bodyErrors());
  return listen(app, port);
}

await runIfMain(import.meta.url, start);

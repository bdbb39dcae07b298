// flask-jwt-extended's "basic usage" and "refreshing tokens" examples with Tessera on Express,
// answering errors as flask-jwt-extended does ({"msg": "Token has expired"}), so its clients keep working.
//
//   POST /login      {username, password} → {access_token, refresh_token, …}
//   POST /refresh    Authorization: Bearer <refresh token> → {access_token, refresh_token, …}
//   GET  /protected  Authorization: Bearer <access token> → {logged_in_as}
import { createTessera, generateKey, generateRefreshKey, type Clock } from '@tessera/auth';
import { tessera } from '@tessera/auth/express';
import { memoryStore } from '@tessera/auth/stores/memory';
import express from 'express';
import { bodyErrors, checkPassword, listen, runIfMain, type Running } from './shared.js';

export async function start(port = 0, options: { clock?: Clock } = {}): Promise<Running> {
  const auth = createTessera({
    keys: await generateKey('EdDSA'),
    refreshKey: await generateRefreshKey(),
    accessTtl: '1h', // app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(hours=1)
    refreshTtl: '30d', // JWT_REFRESH_TOKEN_EXPIRES
    locations: { access: ['header'], refresh: ['header'] }, // JWT_TOKEN_LOCATION = ["headers"]
    sessions: { store: memoryStore() },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const t = tessera(auth, { errorFormat: 'flask' });

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  app.post('/login', t.login(checkPassword));
  // @jwt_required(refresh=True). flask-jwt-extended's view mints only a new access token; Tessera also
  // rotates the refresh token, so a stolen one is caught the next time either copy is used.
  app.post('/refresh', t.refresh());
  app.get('/protected', t.required(), (req, res) => {
    res.json({ logged_in_as: t.identity(req).sub });
  });
  app.use(bodyErrors('flask'));
  return listen(app, port);
}

await runIfMain(import.meta.url, start);

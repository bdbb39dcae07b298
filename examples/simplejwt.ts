// djangorestframework-simplejwt's two views with Tessera on Express, same URLs and same JSON shapes,
// so a client written for simplejwt works unchanged:
//
//   POST /api/token/          {username, password} → {access, refresh}   (TokenObtainPairView)
//   POST /api/token/refresh/  {refresh} → {access, refresh}              (TokenRefreshView with
//                             ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION on)
//   GET  /api/me/             Authorization: Bearer <access>
//
// The views map simplejwt's field names onto Tessera's login and refresh; the rotation, its grace
// window and reuse detection (a spent refresh token revokes the session) are Tessera's.
import {
  createTessera,
  generateKey,
  generateRefreshKey,
  handleLogin,
  handleRefresh,
  type AuthRequest,
  type Clock,
  type HttpResult,
} from '@tessera/auth';
import { tessera } from '@tessera/auth/express';
import { memoryStore } from '@tessera/auth/stores/memory';
import express, { type Request, type Response } from 'express';
import { bodyErrors, checkPassword, listen, runIfMain, sendResult, type Running } from './shared.js';

export async function start(port = 0, options: { clock?: Clock } = {}): Promise<Running> {
  const auth = createTessera({
    keys: await generateKey('EdDSA'),
    refreshKey: await generateRefreshKey(),
    accessTtl: '5m', // ACCESS_TOKEN_LIFETIME
    refreshTtl: '1d', // REFRESH_TOKEN_LIFETIME
    // TokenRefreshView reads the refresh token from the body only.
    locations: { access: ['header'], refresh: ['body'] },
    sessions: { store: memoryStore() },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const t = tessera(auth);

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  app.post('/api/token/', async (req, res) => simplejwt(res, await handleLogin(auth, toRequest(req, req.body), checkPassword)));
  app.post('/api/token/refresh/', async (req, res) => {
    const refresh = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>).refresh : undefined;
    // simplejwt's serializer answers a missing field with 400 and the field's name.
    if (refresh === undefined || refresh === '') return void res.status(400).json({ refresh: ['This field is required.'] });
    simplejwt(res, await handleRefresh(auth, toRequest(req, { refresh_token: refresh })));
  });
  app.get('/api/me/', t.required(), (req, res) => {
    res.json({ username: t.identity(req).sub });
  });
  app.use(bodyErrors());
  return listen(app, port);
}

/** Tessera's view of the request, with the body Tessera should read. */
function toRequest(req: Request, body: unknown): AuthRequest {
  return { method: req.method, headers: req.rawHeaders, body, protocol: req.protocol, ...(req.ip === undefined ? {} : { ip: req.ip }) };
}

/** Rewrites Tessera's answer in simplejwt's shapes: {access, refresh}, or {detail, code} for a refusal. */
function simplejwt(res: Response, result: HttpResult): void {
  const body = JSON.parse(result.body ?? '{}') as Record<string, unknown>;
  const shaped = result.status === 200 ? { access: body.access_token, refresh: body.refresh_token } : { detail: body.message, code: body.error };
  sendResult(res, { ...result, body: JSON.stringify(shaped) });
}

await runIfMain(import.meta.url, start);

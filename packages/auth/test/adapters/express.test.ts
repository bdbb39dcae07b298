// The adapter conformance suite on Express 5: the app below mounts the routes that
// test/conformance/adapter.ts lists, with the Express adapter's guards and handlers.
import { createServer } from 'node:http';
import express, { type ErrorRequestHandler, type Response } from 'express';
import { tessera } from '../../src/adapters/express.js';
import type { AdapterOptions } from '../../src/adapters/adapter-kit.js';
import { jsonResult, type HttpResult, type Tessera } from '../../src/index.js';
import {
  ADMIN_CLAIMS,
  BODY_LIMIT,
  bodyErrorResult,
  checkCredentials,
  describeAdapter,
  listen,
  meBody,
  subBody,
  TRANSPORTS,
  type RunningApp,
  type User,
} from '../conformance/adapter.js';

/** Writes an HttpResult as it is (as the adapter does), so the app's own answers match the adapter's bytes. */
function write(res: Response, result: HttpResult): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, typeof value === 'string' ? value : [...value]);
  res.end(result.body);
}

async function makeExpress(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const app = express();
  // Framework extras the other adapters do not add.
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: BODY_LIMIT }));

  const t = tessera<User>(auth, options);
  app.post('/auth/login', t.login(checkCredentials, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get('/me', t.required(), (req, res) => write(res, jsonResult(200, meBody(t.identity(req)))));
  app.post('/me', t.required(), (req, res) => write(res, jsonResult(200, meBody(t.identity(req)))));
  app.get('/optional', t.optional(), (req, res) => write(res, jsonResult(200, subBody(req.auth === null ? null : t.identity(req)))));
  app.post('/fresh', t.fresh(), (req, res) => write(res, jsonResult(200, subBody(t.identity(req)))));
  app.get('/admin', t.required({ claims: ADMIN_CLAIMS }), (req, res) => write(res, jsonResult(200, subBody(t.identity(req)))));
  app.post('/refresh-only', t.refreshRequired(), (req, res) => write(res, jsonResult(200, subBody(t.identity(req)))));

  // body-parser's refusals carry `type`; anything else is a defect and must surface as a failing 500.
  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
    if (type === 'entity.too.large') return write(res, bodyErrorResult('too_large', options));
    if (type === 'entity.parse.failed') return write(res, bodyErrorResult('invalid_json', options));
    next(err);
  };
  app.use(onError);
  return listen(createServer(app));
}

describeAdapter('express', makeExpress);

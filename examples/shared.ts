// What every example needs beside its own flow: a demo user table, writing Tessera's answers with
// Express, the JSON parser's refusals in Tessera's error shape, and starting a server. Each example
// file keeps only the part that differs: its routes and settings.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { errorResult, InvalidRequestError, PayloadTooLargeError, type ErrorFormat, type HttpResult, type LoginIdentity } from '@tessera/auth';
import type { ErrorRequestHandler, Express, Response } from 'express';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

/** The one demo account. */
export const DEMO = { username: 'ada', password: 'correct horse', name: 'Ada Lovelace' } as const;

/** A user as the examples' routes show it. */
export interface DemoUser {
  username: string;
  name: string;
}

interface Stored extends DemoUser {
  salt: Buffer;
  hash: Buffer;
}

// A real app keeps users in a database and hashes with Argon2id (as the Tessera server does);
// scrypt from node:crypto keeps the examples free of native dependencies.
const users = new Map<string, Stored>();
async function addUser(username: string, password: string, name: string): Promise<void> {
  const salt = randomBytes(16);
  users.set(username, { username, name, salt, hash: await scryptAsync(password, salt, 32) });
}
await addUser(DEMO.username, DEMO.password, DEMO.name);
const decoy = { salt: randomBytes(16), hash: randomBytes(32) };

/**
 * The credential check handed to Tessera's login: the identity for good credentials, else null.
 * An unknown user costs the same hash, so the answer time does not tell which usernames exist.
 */
export async function checkPassword(body: unknown): Promise<LoginIdentity | null> {
  const { username, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024) return null;
  const user = users.get(username);
  const hash = await scryptAsync(password, (user ?? decoy).salt, 32);
  return timingSafeEqual(hash, (user ?? decoy).hash) && user !== undefined ? { sub: user.username } : null;
}

/** The user a token names (Tessera's `lookupUser` hook): an unknown or deleted user is refused with 401. */
export function findUser(sub: string): DemoUser | undefined {
  const user = users.get(sub);
  return user === undefined ? undefined : { username: user.username, name: user.name };
}

/** Writes a Tessera answer (status, headers, JSON text) as it is. */
export function sendResult(res: Response, result: HttpResult): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, typeof value === 'string' ? value : [...value]);
  res.end(result.body);
}

/** Answers express.json()'s refusals (malformed JSON, an oversize body) in Tessera's error shape, never as an HTML stack trace. */
export function bodyErrors(format: ErrorFormat = 'tessera'): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
    if (type === 'entity.too.large') return sendResult(res, errorResult(new PayloadTooLargeError(), format));
    if (type === 'entity.parse.failed')
      return sendResult(res, errorResult(new InvalidRequestError({ message: 'The body is not valid JSON' }), format));
    next(err);
  };
}

/** A started example. */
export interface Running {
  url: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1 (`port` 0 picks a free one). */
export async function listen(app: Express, port: number): Promise<Running> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Starts the example when its file is run (`node --import tsx examples/<name>.ts`), not when a test imports it. */
export async function runIfMain(moduleUrl: string, start: (port: number) => Promise<Running>): Promise<void> {
  const script = process.argv[1];
  if (script === undefined || pathToFileURL(script).href !== moduleUrl) return;
  const { url } = await start(Number(process.env.PORT ?? 8000));
  console.log(`listening on ${url} (log in as ${DEMO.username} / ${DEMO.password})`);
}

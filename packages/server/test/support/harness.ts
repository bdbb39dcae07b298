// Shared test support for the server suites: databases (a temporary SQLite file, or a Postgres
// schema plus a Redis logical database of the file's own), servers started in-process on a real
// socket or as `tessera serve` processes, the CLI as a process, and an HTTP helper that fails any
// test the moment the server answers 500 or leaks a stack trace.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@tessera/auth';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { createClient } from 'redis';
import { buildApp } from '../../src/app.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { loadConfig } from '../../src/settings.js';

export const SERVER_DIR = join(import.meta.dirname, '..', '..');
export const CLI = join(SERVER_DIR, 'dist', 'cli.js');
export const PG_BASE = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_HOST = '127.0.0.1:6379';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const RUN = randomBytes(4).toString('hex');
let names = 0;
/** A username no other test of this run uses (the username rules allow letters, digits and . _ @ + -). */
export const uniqueName = (stem = 'u'): string => `${stem}${RUN}${++names}`;
/** A password that passes the rules. */
export const PASSWORD = 'correct horse battery';

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000, everyMs = 25): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return Date.now() - start;
}

// ---------------------------------------------------------------------------------------------
// Databases

/** Where a test's servers keep their state: the env that points at it, and the clean-up. */
export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly env: Readonly<Record<string, string>>;
  cleanup(): Promise<void>;
}

/** A fresh SQLite database in a temporary directory. */
export function sqliteBackend(): Backend & { readonly dir: string; readonly file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-server-'));
  const file = join(dir, 'data', 'tessera.db');
  return {
    name: 'sqlite',
    dir,
    file,
    env: { TESSERA_DATABASE_URL: `sqlite:${file}` },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The URL of a schema of its own: pg sends `options` at startup, so unqualified names resolve there. */
export function schemaUrl(schema: string, base = PG_BASE): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/**
 * A fresh Postgres schema and a Redis logical database (`redisDb`, chosen per test file so files
 * running in parallel never share one), emptied before and after.
 */
export async function postgresBackend(redisDb: number, tag: string): Promise<Backend & { readonly schema: string; readonly redisUrl: string }> {
  const schema = `tessera_srv_${tag}_${RUN}`;
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  await admin.query(`drop schema if exists "${schema}" cascade`);
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  const redisUrl = `redis://${REDIS_HOST}/${redisDb}`;
  await flushRedis(redisUrl);
  return {
    name: 'postgres',
    schema,
    redisUrl,
    // Channels ignore the database number: a prefix of the file's own keeps other files' messages out.
    env: { TESSERA_DATABASE_URL: schemaUrl(schema), TESSERA_REDIS_URL: redisUrl, TESSERA_REDIS_PREFIX: `${schema}:` },
    async cleanup() {
      const client = new pg.Client({ connectionString: PG_BASE });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
      await flushRedis(redisUrl);
    },
  };
}

/** Empties one Redis logical database (only the one this file owns). */
export async function flushRedis(url: string): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  await client.flushDb();
  await client.close();
}

// ---------------------------------------------------------------------------------------------
// Servers

/** Settings every test server starts from: quiet, no background purge, throttling out of the way. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  TESSERA_LOG_LEVEL: 'silent',
  TESSERA_PURGE_INTERVAL: '0',
  TESSERA_LOGIN_LIMIT: '1000/15m',
  TESSERA_LOGIN_IP_LIMIT: '10000/15m',
};

export interface TestServer {
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly runtime: Runtime;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  keyReloadMs?: number;
  /** Replaces parts of the runtime before the app is built (e.g. a hasher with no queue). */
  patch?: (runtime: Runtime) => Runtime;
}

/** Builds the app on a runtime from `env` and listens on a free port of 127.0.0.1. */
export async function startServer(env: Readonly<Record<string, string>>, options: StartOptions = {}): Promise<TestServer> {
  const config = loadConfig({ ...BASE_ENV, ...env });
  const runtime = await createRuntime(config, {
    log: pino({ level: 'silent' }),
    keyReloadMs: options.keyReloadMs ?? 0,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const used = options.patch === undefined ? runtime : options.patch(runtime);
  const app = await buildApp(used);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    origin: url,
    port: address.port,
    runtime: used,
    app,
    async close() {
      await app.close();
      // The runtime closes the session store, which owns the database connection.
      await runtime.close();
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Environment for a child process: this process's PATH and friends, none of its TESSERA_* settings. */
function childEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) base[key] = value;
  return { ...base, ...BASE_ENV, ...env };
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `tessera serve` as its own process and waits until it answers /healthz. */
export async function spawnServer(env: Readonly<Record<string, string>>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: childEnv({ TESSERA_LOG_LEVEL: 'warn', ...env, TESSERA_PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(
    `tessera serve on ${port}`,
    async () => {
      if (dead) throw new Error(`tessera serve exited early:\n${output}`);
      return fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    15_000,
    50,
  );
  return {
    url,
    port,
    child,
    output: () => output,
    async stop() {
      if (!dead) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `tessera` command line as a process. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** What a stack trace looks like in text: a frame line. */
export const STACK_FRAME = /\n\s+at .+[(:]\d+/;

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body as JSON (undefined when it is not JSON). */
  readonly body: unknown;
  readonly setCookies: string[];
  header(name: string): string | null;
}

export interface CallOptions {
  json?: unknown;
  form?: Record<string, string>;
  /** A raw body, sent with `contentType`. */
  raw?: string;
  contentType?: string;
  bearer?: string;
  cookies?: Record<string, string>;
  headers?: Record<string, string>;
}

/** Checks what every answer must satisfy: never a 500, never a stack trace. */
export function assertSane(status: number, text: string, what: string): void {
  if (status >= 500 && status !== 503) throw new Error(`${what} answered ${status}: ${text.slice(0, 300)}`);
  if (STACK_FRAME.test(text) || /"stack"\s*:/.test(text)) throw new Error(`${what} leaked a stack trace: ${text.slice(0, 300)}`);
}

/** One request over a real socket (Node's fetch: no cookie jar, so cookies are passed by hand). */
export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (options.raw !== undefined) {
    body = options.raw;
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  }
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (options.cookies !== undefined)
    headers.cookie = Object.entries(options.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  assertSane(response.status, text, `${method} ${path}`);
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: parsed,
    setCookies: response.headers.getSetCookie(),
    header: (name) => response.headers.get(name),
  };
}

/** The `name=value` pairs of Set-Cookie headers (the last one of a name wins, as in a browser). */
export function cookieJar(setCookies: readonly string[]): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of setCookies) {
    const [pair] = line.split(';');
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq < 0) continue;
    jar[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return jar;
}

/** The Set-Cookie line of one cookie. */
export function setCookieOf(setCookies: readonly string[], name: string): string | undefined {
  return setCookies.find((line) => line.startsWith(`${name}=`));
}

export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

/**
 * A request written byte by byte on a socket, for what fetch cannot send: duplicate headers (a
 * flat raw list) and large bodies the server refuses before reading them.
 */
export function rawCall(base: string, method: string, path: string, rawHeaders: readonly string[], body?: string | Buffer): Promise<RawReply> {
  const url = new URL(base);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close'];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i] as string}: ${rawHeaders[i + 1] as string}`);
  if (body !== undefined) lines.push(`Content-Length: ${payload.length}`);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may answer (413) and close before the whole body is written: that is fine.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(all.slice(0, 200))}`));
        return;
      }
      const [statusLine, ...headerLines] = all.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let text = all.slice(split + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        let out = '';
        let rest = text;
        for (;;) {
          const eol = rest.indexOf('\r\n');
          const size = parseInt(rest.slice(0, eol), 16);
          if (!(size > 0)) break;
          out += rest.slice(eol + 2, eol + 2 + size);
          rest = rest.slice(eol + 2 + size + 2);
        }
        text = out;
      }
      const status = Number(statusLine?.split(' ')[1]);
      try {
        assertSane(status, text, `${method} ${path}`);
        resolve({ status, headers, text });
      } catch (err) {
        reject(err as Error);
      }
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (payload.length > 0) socket.write(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Tokens and accounts

export interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  refresh_expires_in: number;
  csrf_token?: string;
}

export function tokens(reply: Reply): TokenBody {
  if (reply.status !== 200) throw new Error(`expected tokens, got ${reply.status}: ${reply.text}`);
  return reply.body as TokenBody;
}

/** The decoded header and claims of a JWT (no verification: the server does that). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

export function errorOf(reply: Reply | RawReply): string | undefined {
  const body = 'body' in reply ? reply.body : (JSON.parse(reply.text) as unknown);
  return typeof body === 'object' && body !== null ? ((body as { error?: string }).error ?? undefined) : undefined;
}

export async function register(
  base: string,
  username = uniqueName(),
  password = PASSWORD,
): Promise<{ id: string; username: string; password: string }> {
  const reply = await call(base, 'POST', '/auth/register', { json: { username, password } });
  if (reply.status !== 201) throw new Error(`register ${username}: ${reply.status} ${reply.text}`);
  return { ...(reply.body as { id: string; username: string }), password };
}

export async function login(base: string, username: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<TokenBody> {
  return tokens(await call(base, 'POST', '/auth/login', { json: { username, password, ...extra } }));
}

/** A registered user with a bearer session: both tokens. */
export async function account(base: string): Promise<{ id: string; username: string; access: string; refresh: string }> {
  const user = await register(base);
  const pair = await login(base, user.username);
  return { id: user.id, username: user.username, access: pair.access_token!, refresh: pair.refresh_token! };
}

// ---------------------------------------------------------------------------------------------
// Outages

/** A TCP proxy in front of a shared service, cut to simulate an outage (the service is never stopped). */
export interface TcpProxy {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ port: targetPort, host: '127.0.0.1' });
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = (): void => {
    down = true;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port,
    cut,
    restore: () => {
      down = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

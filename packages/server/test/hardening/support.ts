// Support for the hardening suites: backends (a temporary SQLite file, or a Postgres schema and a
// Redis logical database of the file's own, optionally reached through a cuttable TCP proxy),
// servers in-process on a real socket or as `tessera serve` processes, and an HTTP client that
// fails a test the moment an answer is a 5xx it did not allow or carries a stack trace.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@tessera/auth';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { createClient } from 'redis';
import { buildApp } from '../../src/app.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { loadConfig } from '../../src/settings.js';
import { freePort, sleep, waitFor } from '../support/harness.js';

// The plain helpers are the server suites' own; the hardening suites import them from here too.
export { freePort, sleep, waitFor };

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
export const PG_BASE = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_PORT = Number(new URL(PG_BASE).port || '5432');
export const REDIS_PORT = 6379;
/** Distinguishes this run's schemas and usernames from any other run's. */
export const RUN = randomBytes(3).toString('hex');
export const PASSWORD = 'correct horse battery staple';

let serial = 0;
/** A username no other test of this run uses. */
export const uniqueName = (stem = 'h'): string => `${stem}${RUN}${++serial}`;

// ---------------------------------------------------------------------------------------------
// Backends

export interface Backend {
  readonly env: Readonly<Record<string, string>>;
  cleanup(): Promise<void>;
}

/** A fresh SQLite database in a temporary directory. */
export function sqliteBackend(): Backend & { readonly file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-hardening-'));
  const file = join(dir, 'tessera.db');
  return {
    file,
    env: { TESSERA_DATABASE_URL: `sqlite:${file}` },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The Postgres URL of `schema`, on `port` (a proxy's, or Postgres's own). */
export function postgresUrl(schema: string, port = PG_PORT): string {
  const url = new URL(PG_BASE);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Empties one Redis logical database: only ever the one a file owns. */
export async function flushRedis(db: number): Promise<void> {
  const client = createClient({ url: `redis://127.0.0.1:${REDIS_PORT}/${db}` });
  client.on('error', () => undefined);
  await client.connect();
  await client.flushDb();
  await client.close();
}

/**
 * A Postgres schema and a Redis logical database of the file's own, created empty and dropped
 * afterwards. `pgPort`/`redisPort` point the servers at proxies instead of the services.
 */
export async function postgresBackend(
  tag: string,
  redisDb: number,
  ports: { pgPort?: number; redisPort?: number } = {},
): Promise<Backend & { readonly schema: string }> {
  const schema = `hard_${tag}_${RUN}`;
  await admin(`drop schema if exists "${schema}" cascade; create schema "${schema}"`);
  await flushRedis(redisDb);
  return {
    schema,
    env: {
      TESSERA_DATABASE_URL: postgresUrl(schema, ports.pgPort),
      TESSERA_REDIS_URL: `redis://127.0.0.1:${ports.redisPort ?? REDIS_PORT}/${redisDb}`,
      // Channels ignore the database number: a prefix of the file's own keeps other files' messages out.
      TESSERA_REDIS_PREFIX: `${schema}:`,
    },
    async cleanup() {
      await admin(`drop schema if exists "${schema}" cascade`);
      await flushRedis(redisDb);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Servers

/** Quiet, no background purge, throttling far out of the way, every transport allowed. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  TESSERA_LOG_LEVEL: 'silent',
  TESSERA_PURGE_INTERVAL: '0',
  TESSERA_LOGIN_LIMIT: '100000/15m',
  TESSERA_LOGIN_IP_LIMIT: '100000/15m',
  TESSERA_TRANSPORT: 'bearer,cookie,hybrid',
};

export interface TestServer {
  readonly url: string;
  readonly runtime: Runtime;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** Builds the app on a runtime from `env` (over BASE_ENV) and listens on a free port of 127.0.0.1. */
export async function startServer(env: Readonly<Record<string, string>>, options: { clock?: Clock } = {}): Promise<TestServer> {
  const runtime = await createRuntime(loadConfig({ ...BASE_ENV, ...env }), {
    log: pino({ level: 'silent' }),
    keyReloadMs: 0,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const app = await buildApp(runtime);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    runtime,
    app,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** Resident set size in bytes, from /proc (Linux). */
  rss(): number;
}

/** Runs `tessera serve` (the built CLI) as its own process and waits until it answers /healthz. */
export async function spawnServer(env: Readonly<Record<string, string>>, port?: number): Promise<ServerProcess> {
  const listenPort = port ?? (await freePort());
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) childEnv[key] = value;
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...childEnv, ...BASE_ENV, TESSERA_LOG_LEVEL: 'warn', ...env, TESSERA_PORT: String(listenPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let dead = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      dead = true;
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${listenPort}`;
  await waitFor(
    `tessera serve on ${listenPort}`,
    async () => {
      if (dead) throw new Error(`tessera serve exited early:\n${output}`);
      return fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    20_000,
    50,
  );
  return {
    url,
    child,
    exited,
    output: () => output,
    rss: () => processRss(child.pid ?? 0),
  };
}

/** VmRSS of a process in bytes (Linux /proc); 0 when it is gone. */
export function processRss(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Answer {
  readonly status: number;
  readonly text: string;
  /** The body as a JSON object ({} when it is not one). */
  readonly json: Record<string, unknown>;
  /** The wire error code, when the body is `{error, message}`. */
  readonly code: string | undefined;
  header(name: string): string | null;
  readonly setCookie: readonly string[];
}

export interface Req {
  json?: unknown;
  /** A raw body, sent with `contentType` (default application/json). */
  body?: string | Buffer;
  contentType?: string;
  bearer?: string;
  authorization?: string;
  cookies?: Readonly<Record<string, string>>;
  csrf?: string;
  headers?: Readonly<Record<string, string>>;
  /** 503 is a legitimate answer here (a store outage); any other 5xx still fails the test. */
  allow503?: boolean;
  /** Record any answer without judging it (load runs judge the whole record afterwards). */
  unchecked?: boolean;
}

/** What a stack trace or an internal path looks like on the wire. */
export const STACK_TRACE = /\n\s+at |node:internal|node_modules|\.[cm]?[jt]s:\d+:\d+|"stack"\s*:/;

/** Every answer: never a 5xx (503 only where allowed), never a stack trace. */
export function assertSane(status: number, text: string, what: string, allow503 = false): void {
  if (status >= 500 && !(allow503 && status === 503)) throw new Error(`${what} answered ${status}: ${text.slice(0, 300)}`);
  if (STACK_TRACE.test(text)) throw new Error(`${what} leaked a stack trace or an internal path: ${text.slice(0, 300)}`);
}

/** The RFC 6750 §3.1 error each refusal carries in `WWW-Authenticate` (undefined: no error attribute). */
const CHALLENGE: Readonly<Record<string, string>> = {
  token_invalid: 'invalid_token',
  token_expired: 'invalid_token',
  token_not_yet_valid: 'invalid_token',
  token_type_invalid: 'invalid_token',
  token_revoked: 'invalid_token',
  fresh_token_required: 'invalid_token',
  refresh_token_reused: 'invalid_token',
  user_invalid: 'invalid_token',
  invalid_request: 'invalid_request',
  token_conflict: 'invalid_request',
};

/**
 * A refusal as docs/architecture.md words it: the status and stable code, a `{error, message}` JSON body that
 * is never cached, the RFC 6750 challenge on a token refusal, and none of the tokens sent echoed back.
 */
export function expectRefusal(reply: Answer, status: number, code: string, sent: readonly string[] = [], context = ''): void {
  expect({ status: reply.status, code: reply.code }, `${context} ${reply.text}`.trim()).toEqual({ status, code });
  expect(reply.header('content-type')).toMatch(/^application\/json/);
  expect(reply.header('cache-control')).toBe('no-store');
  expect(Object.keys(reply.json).sort()).toEqual(['error', 'message']);
  const challenge = reply.header('www-authenticate');
  const rfc = CHALLENGE[code];
  if (rfc !== undefined) expect(challenge).toMatch(new RegExp(`^Bearer error="${rfc}"`));
  else if (status === 401) expect(challenge).toBe('Bearer');
  for (const token of sent) if (token.length >= 16) expect(reply.text + (challenge ?? '')).not.toContain(token);
}

function jsonObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function answer(status: number, headers: readonly (readonly [string, string])[], text: string): Answer {
  const json = jsonObject(text);
  return {
    status,
    text,
    json,
    code: typeof json.error === 'string' ? json.error : undefined,
    header: (name) => {
      const values = headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
      return values.length === 0 ? null : values.join(', ');
    },
    setCookie: headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v),
  };
}

export function cookieHeader(cookies: Readonly<Record<string, string>>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** One request with fetch (a real socket; no cookie jar, cookies are passed by hand). */
export async function call(base: string, method: string, path: string, req: Req = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | Buffer | undefined;
  if (req.json !== undefined) {
    body = JSON.stringify(req.json);
    headers['content-type'] ??= 'application/json';
  } else if (req.body !== undefined) {
    body = req.body;
    headers['content-type'] ??= req.contentType ?? 'application/json';
  }
  if (req.authorization !== undefined) headers.authorization = req.authorization;
  else if (req.bearer !== undefined) headers.authorization = `Bearer ${req.bearer}`;
  if (req.cookies !== undefined) headers.cookie = cookieHeader(req.cookies);
  if (req.csrf !== undefined) headers['x-csrf-token'] = req.csrf;
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  if (req.unchecked !== true) assertSane(response.status, text, `${method} ${path}`, req.allow503 === true);
  const list: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') list.push([name, value]);
  });
  for (const line of response.headers.getSetCookie()) list.push(['set-cookie', line]);
  return answer(response.status, list, text);
}

/**
 * Writes a request byte for byte on a new socket (`Host`, `Connection: close` and, unless told
 * not to, `Content-Length` added) and reads the whole answer: for what fetch cannot send, such as
 * a header line twice.
 */
export function rawCall(
  base: string,
  requestLine: string,
  headers: readonly (readonly [string, string])[],
  body = '',
  options: { contentLength?: boolean } = {},
): Promise<Answer> {
  const { hostname, port, host } = new URL(base);
  const lines = [requestLine, `Host: ${host}`, ...headers.map(([n, v]) => `${n}: ${v}`), 'Connection: close'];
  if (body !== '' && options.contentLength !== false) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const wire = `${lines.join('\r\n')}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      try {
        const parsed = parseRaw(Buffer.concat(chunks));
        assertSane(parsed.status, parsed.text, requestLine);
        resolve(parsed);
      } catch (err) {
        reject(err as Error);
      }
    };
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err) => {
      // The server may reset after answering (an unread body): what it wrote still counts.
      if (chunks.length > 0) finish();
      else if (!settled) {
        settled = true;
        reject(err);
      }
    });
    socket.write(wire);
  });
}

function parseRaw(data: Buffer): Answer {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP answer: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
  const [statusLine = '', ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = headerLines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  let body = data.subarray(end + 4);
  if (headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return answer(status, headers, body.toString('utf8'));
}

/** The `name=value` pairs of Set-Cookie lines; a cleared cookie (empty value) is dropped. */
export function jarOf(setCookies: readonly string[], jar: Readonly<Record<string, string>> = {}): Record<string, string> {
  const next = new Map(Object.entries(jar));
  for (const line of setCookies) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '') next.delete(name);
    else next.set(name, value);
  }
  return Object.fromEntries(next);
}

// ---------------------------------------------------------------------------------------------
// Accounts and sessions

export type Transport = 'bearer' | 'cookie' | 'hybrid';

export async function register(base: string, username = uniqueName(), password = PASSWORD): Promise<{ id: string; username: string }> {
  const reply = await call(base, 'POST', '/auth/register', { json: { username, password } });
  if (reply.status !== 201) throw new Error(`register ${username}: ${reply.status} ${reply.text}`);
  return reply.json as { id: string; username: string };
}

/** A logged-in session as a client holds it, whatever the transport. */
export interface Session {
  readonly transport: Transport;
  readonly username: string;
  /** The access token (body or cookie). */
  access: string;
  /** The refresh token (body or cookie). */
  refresh: string;
  /** The CSRF value (cookie transports). */
  csrf: string | undefined;
  /** The cookies a browser would now hold. */
  jar: Record<string, string>;
}

export interface CookieNames {
  readonly access: string;
  readonly refresh: string;
  readonly csrf: string;
}

/** Reads the tokens out of a login or refresh answer, per transport. */
export function sessionFrom(reply: Answer, transport: Transport, username: string, names: CookieNames, previous?: Session): Session {
  if (reply.status !== 200) throw new Error(`expected tokens, got ${reply.status}: ${reply.text}`);
  const jar = jarOf(reply.setCookie, { ...previous?.jar });
  const body = reply.json as { access_token?: string; refresh_token?: string; csrf_token?: string };
  const access = body.access_token ?? jar[names.access];
  const refresh = body.refresh_token ?? jar[names.refresh];
  if (access === undefined || refresh === undefined) throw new Error(`no tokens in the ${transport} answer: ${reply.text}`);
  return { transport, username, access, refresh, csrf: body.csrf_token ?? jar[names.csrf] ?? previous?.csrf, jar };
}

export async function login(base: string, username: string, transport: Transport, names: CookieNames, password = PASSWORD): Promise<Session> {
  const reply = await call(base, 'POST', '/auth/login', { json: { username, password, transport } });
  return sessionFrom(reply, transport, username, names);
}

/**
 * The request that presents a session's access token the way its client does: cookie, the cookies
 * and the CSRF header; hybrid, the Bearer token and the cookies a browser sends along; bearer, the
 * Bearer token alone.
 */
export function withAccess(s: Session, extra: Req = {}): Req {
  if (s.transport === 'cookie') return { ...extra, cookies: { ...s.jar, ...extra.cookies }, ...(s.csrf === undefined ? {} : { csrf: s.csrf }) };
  if (s.transport === 'hybrid') return { ...extra, bearer: s.access, cookies: { ...s.jar, ...extra.cookies } };
  return { ...extra, bearer: s.access };
}

/** The request that presents a session's refresh token the way its transport does. */
export function withRefresh(s: Session, extra: Req = {}): Req {
  if (s.transport === 'bearer') return { ...extra, json: { refresh_token: s.refresh } };
  return { ...extra, cookies: { ...s.jar, ...extra.cookies }, ...(s.csrf === undefined ? {} : { csrf: s.csrf }) };
}

/** Rotates a session's refresh token; the session then holds the new pair. */
export async function refresh(base: string, s: Session, names: CookieNames): Promise<Session> {
  const reply = await call(base, 'POST', '/auth/refresh', withRefresh(s));
  return sessionFrom(reply, s.transport, s.username, names, s);
}

/** The decoded claims of a JWT (no verification: the server does that). */
export function claimsOf(token: string): Record<string, unknown> {
  return jsonObject(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `tessera` command line as a process, with `env` over BASE_ENV and none of ours. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) childEnv[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...childEnv, ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  });
}

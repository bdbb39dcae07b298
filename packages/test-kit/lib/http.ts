// HTTP over real sockets: `send` with fetch for ordinary requests, `rawRequest` on a bare `node:net` socket
// for what fetch would merge or refuse (a header line twice, a body the server refuses before reading it),
// both answering one `Answer`; and `call`, which also fails the test the moment an answer is a 5xx or
// carries a stack trace.
import { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import { cookieHeader } from './cookies.js';

/** A request as the suites write it. */
export interface Req {
  /** Default: GET, or POST when there is a body. */
  method?: string;
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Readonly<Record<string, string>>;
  /** A raw body, sent with `contentType` (default application/json). */
  body?: string | Buffer;
  contentType?: string;
  bearer?: string;
  /** The whole Authorization value (wins over `bearer`). */
  authorization?: string;
  /** A Cookie header as written. */
  cookie?: string;
  /** Cookies by name (win over `cookie`). */
  cookies?: Readonly<Record<string, string>>;
  /** The X-CSRF-Token header. */
  csrf?: string;
  headers?: Readonly<Record<string, string>>;
}

/** An answer, from fetch or from a raw socket. */
export interface Answer {
  readonly status: number;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  readonly body: unknown;
  /** The body as a JSON object ({} when it is not one). */
  readonly json: Record<string, unknown>;
  /** The wire error code, when the body is `{error, message}`. */
  readonly code: string | undefined;
  /** Every header line, names in lower case, in order, Set-Cookie lines one by one. */
  readonly headers: readonly (readonly [string, string])[];
  /** The values of a header joined with ', ' (as fetch does); null when absent. */
  header(name: string): string | null;
  readonly setCookie: string[];
}

/** What a stack trace or an internal path looks like on the wire. */
export const STACK_TRACE = /\n\s+at |node:internal|node_modules|\.[cm]?[jt]s:\d+:\d+|"stack"\s*:/;
/** A stack frame line alone. */
export const STACK_FRAME = /\n\s+at .+[(:]\d+/;

/** The text as a JSON object, or {}. */
export function jsonObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Builds an Answer from a status, header lines (lower-case names) and the body text. */
export function toAnswer(status: number, headers: readonly (readonly [string, string])[], text: string): Answer {
  const json = jsonObject(text);
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return {
    status,
    text,
    body,
    json,
    code: typeof json.error === 'string' ? json.error : undefined,
    headers,
    header: (name) => {
      const values = headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
      return values.length === 0 ? null : values.join(', ');
    },
    setCookie: headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v),
  };
}

/** The headers and body fetch sends for `req`. */
function encode(req: Req): { headers: Record<string, string>; body: string | Buffer | undefined } {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | Buffer | undefined;
  if (req.json !== undefined) {
    body = JSON.stringify(req.json);
    headers['content-type'] ??= 'application/json';
  } else if (req.form !== undefined) {
    body = new URLSearchParams(req.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (req.body !== undefined) {
    body = req.body;
    headers['content-type'] = req.contentType ?? headers['content-type'] ?? 'application/json';
  }
  if (req.authorization !== undefined) headers.authorization = req.authorization;
  else if (req.bearer !== undefined) headers.authorization = `Bearer ${req.bearer}`;
  if (req.cookies !== undefined) headers.cookie = cookieHeader(req.cookies);
  else if (req.cookie !== undefined) headers.cookie = req.cookie;
  if (req.csrf !== undefined) headers['x-csrf-token'] = req.csrf;
  return { headers, body };
}

/** One request with fetch (a real socket; no cookie jar: cookies are passed by hand). */
export async function send(base: string, path: string, req: Req = {}): Promise<Answer> {
  const { headers, body } = encode(req);
  const response = await fetch(`${base}${path}`, {
    method: req.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  const list: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') list.push([name, value]);
  });
  for (const line of response.headers.getSetCookie()) list.push(['set-cookie', line]);
  return toAnswer(response.status, list, text);
}

/** Throws when an answer is a 5xx (a 503 only where allowed) or carries a stack trace or an internal path. */
export function assertSane(status: number, text: string, what: string, allow503 = false): void {
  if (status >= 500 && !(allow503 && status === 503)) throw new Error(`${what} answered ${status}: ${text.slice(0, 300)}`);
  if (STACK_TRACE.test(text)) throw new Error(`${what} leaked a stack trace or an internal path: ${text.slice(0, 300)}`);
}

/** How `call` judges an answer. */
export interface Checked {
  /** 503 is a legitimate answer here (a store outage, a full queue); any other 5xx still fails the test. */
  allow503?: boolean;
  /** Record any answer without judging it (load runs judge the whole record afterwards). */
  unchecked?: boolean;
}

/** `send` with `method`, failing the test on a 5xx or a stack trace (see `assertSane`). */
export async function call(base: string, method: string, path: string, req: Req & Checked = {}): Promise<Answer> {
  const answer = await send(base, path, { ...req, method });
  if (req.unchecked !== true) assertSane(answer.status, answer.text, `${method} ${path}`, req.allow503 === true);
  return answer;
}

/** Options of a raw request. */
export interface RawOptions {
  /** Add `Content-Length` for a non-empty body (default true). */
  contentLength?: boolean;
}

/**
 * Writes a request byte for byte on a new socket (`Host`, `Connection: close` and, unless told not to,
 * `Content-Length` added) and reads the whole answer: for what fetch cannot send, such as a header line
 * given twice, or a body the server refuses (and closes on) before reading it.
 */
export function rawRequest(
  base: string,
  requestLine: string,
  headers: readonly (readonly [string, string])[],
  body: string | Buffer = '',
  options: RawOptions = {},
): Promise<Answer> {
  const { hostname, port, host } = new URL(base);
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [requestLine, `Host: ${host}`, ...headers.map(([n, v]) => `${n}: ${v}`), 'Connection: close'];
  if (payload.length > 0 && options.contentLength !== false) lines.push(`Content-Length: ${payload.length}`);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      try {
        resolve(parseRaw(Buffer.concat(chunks)));
      } catch (err) {
        reject(err as Error);
      }
    };
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer (413) and reset before the whole body is written: what it wrote still counts.
      if (chunks.length > 0 || err.code === 'EPIPE' || err.code === 'ECONNRESET') finish();
      else if (!settled) {
        settled = true;
        reject(err);
      }
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (payload.length > 0) socket.write(payload);
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
  return toAnswer(status, headers, body.toString('utf8'));
}

/** `rawRequest`, failing the test on a 5xx or a stack trace like `call`. */
export async function rawCall(
  base: string,
  requestLine: string,
  headers: readonly (readonly [string, string])[],
  body: string | Buffer = '',
  options: RawOptions & Checked = {},
): Promise<Answer> {
  const answer = await rawRequest(base, requestLine, headers, body, options);
  if (options.unchecked !== true) assertSane(answer.status, answer.text, requestLine, options.allow503 === true);
  return answer;
}

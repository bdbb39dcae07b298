// Accounts and sessions on the server's HTTP API (/auth/register, /auth/login, /auth/refresh), per
// transport: where each transport carries the tokens, and the request that presents them the way its
// client does.
import { jarOf } from './cookies.js';
import { call, type Answer, type Req } from './http.js';
import { uniqueName } from './backends.js';

/** A password that passes the server's rules. */
export const PASSWORD = 'correct horse battery';

export type Transport = 'bearer' | 'cookie' | 'hybrid';

/** A token answer's body. */
export interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  refresh_expires_in: number;
  csrf_token?: string;
}

/** The body of a 200 token answer; throws on anything else. */
export function tokens(reply: Answer): TokenBody {
  if (reply.status !== 200) throw new Error(`expected tokens, got ${reply.status}: ${reply.text}`);
  return reply.body as TokenBody;
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

/** Logs in (the server's default transport unless `extra` names one) and answers the token body. */
export async function loginTokens(base: string, username: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<TokenBody> {
  return tokens(await call(base, 'POST', '/auth/login', { json: { username, password, ...extra } }));
}

/** A registered user with a bearer session: both tokens. */
export async function account(base: string): Promise<{ id: string; username: string; access: string; refresh: string }> {
  const user = await register(base);
  const { access_token: access, refresh_token: refresh } = await loginTokens(base, user.username);
  if (access === undefined || refresh === undefined) throw new Error(`login of ${user.username} answered no bearer pair`);
  return { id: user.id, username: user.username, access, refresh };
}

export interface CookieNames {
  readonly access: string;
  readonly refresh: string;
  readonly csrf: string;
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

/** Logs in with `transport` and answers the session. */
export async function loginSession(base: string, username: string, transport: Transport, names: CookieNames, password = PASSWORD): Promise<Session> {
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

// What the server suites add to the test kit (@tessera/test-kit): their settings under every server they
// start, and an HTTP client that fails any test the moment the server answers a 5xx other than 503 (an
// outage or a full queue is an answer these suites check) or leaks a stack trace.
import { call as checkedCall, jarOf, rawCall as checkedRawCall, type Answer, type Req } from '@tessera/test-kit';
import { serversWith } from '@tessera/test-kit/server';

/** Settings every test server starts from: quiet, no background purge, throttling out of the way. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  TESSERA_LOG_LEVEL: 'silent',
  TESSERA_PURGE_INTERVAL: '0',
  TESSERA_LOGIN_LIMIT: '1000/15m',
  TESSERA_LOGIN_IP_LIMIT: '10000/15m',
};

export const { startServer, spawnServer, runCli } = serversWith(BASE_ENV);

/** One request over a real socket (no cookie jar: cookies are passed by hand); a 503 passes, any other 5xx fails. */
export function call(base: string, method: string, path: string, req: Req = {}): Promise<Answer> {
  return checkedCall(base, method, path, { allow503: true, ...req });
}

/** A request written byte by byte on a socket (see the kit's `rawRequest`), checked like `call`. */
export function rawCall(base: string, requestLine: string, headers: readonly (readonly [string, string])[], body?: string): Promise<Answer> {
  return checkedRawCall(base, requestLine, headers, body, { allow503: true });
}

/** The `name=value` pairs of Set-Cookie lines, the last of a name winning; a cleared cookie stays, with its empty value. */
export const cookieJar = (setCookies: readonly string[]): Record<string, string> => jarOf(setCookies, {}, { keepCleared: true });

// @tessera/test-kit: what the suites of every package (and the benchmarks) share, so that no suite imports
// another's sources. This entry loads no server code (it runs the built `tessera` CLI as a process);
// `@tessera/test-kit/server` adds the Tessera server in this process.
export {
  account,
  loginSession,
  loginTokens,
  PASSWORD,
  refresh,
  register,
  sessionFrom,
  tokens,
  withAccess,
  withRefresh,
  type CookieNames,
  type Session,
  type TokenBody,
  type Transport,
} from './lib/accounts.js';
export {
  deleteKeysUnder,
  keysUnder,
  PG_BASE,
  PG_PORT,
  postgresBackend,
  postgresUrl,
  REDIS_PORT,
  REDIS_URL,
  redisPrefixes,
  schemaNames,
  sqliteBackend,
  uniqueName,
  type Backend,
} from './lib/backends.js';
export { cookieHeader, jarOf, parseSetCookie, setCookieOf, type SetCookie } from './lib/cookies.js';
export {
  b64u,
  decodeSegment,
  hmacWith,
  nonCanonicalTail,
  parts,
  patch,
  segment,
  sign,
  signature,
  signSegments,
  withSignature,
  type ForgeKey,
  type Part,
} from './lib/forge.js';
export { call, rawCall, rawRequest, send, STACK_FRAME, STACK_TRACE, type Answer, type Checked, type RawOptions, type Req } from './lib/http.js';
export { claimsOf, decodeJwt } from './lib/jwt.js';
export { listen, listenFastify, type Listening, type RunningApp } from './lib/listen.js';
export { metricSample } from './lib/metrics.js';
export { PACKED_EXTRAS, packedApp, REPO_ROOT, type PackedApp, type PackedOptions } from './lib/packed.js';
export { CLI, runCli, spawnServer, type CliResult, type ServerProcess, type SpawnOptions } from './lib/processes.js';
export { startTcpProxy, type TcpProxy } from './lib/tcp-proxy.js';
export { freePort, sleep, waitFor } from './lib/wait.js';

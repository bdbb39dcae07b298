// The public surface is what the package `exports` map and src/index.ts name, nothing more:
// internals must not be importable, and the export list changes only on purpose.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');

/** Imports a specifier in a plain Node process (Node's resolver, not Vite's). */
async function nodeImport(specifier: string): Promise<string> {
  const script = `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())), (e) => console.log(JSON.stringify(e.code)))`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
  return JSON.parse(stdout) as string;
}

describe('@tessera/auth exports', () => {
  it('names exactly the public API', async () => {
    expect(await nodeImport('@tessera/auth')).toEqual(
      [
        'ALGORITHMS',
        'AdapterKit',
        'CHECKS',
        'ConfigError',
        'CsrfError',
        'DEFAULTS',
        'DPOP_ALGORITHMS',
        'ERRORS',
        'FIRST_PARTY_CLIENT',
        'FreshTokenRequiredError',
        'HeadersTooLargeError',
        'InsufficientScopeError',
        'InvalidClientError',
        'InvalidCredentialsError',
        'InvalidDpopProofError',
        'InvalidGrantError',
        'InvalidScopeError',
        'InvalidRequestError',
        'JwksUnavailableError',
        'LegacyCutoverEndedError',
        'LegacyTokenReusedError',
        'NotFoundError',
        'Key',
        'KeyRing',
        'OriginRefusedError',
        'PayloadTooLargeError',
        'RateLimitedError',
        'RESERVED_CLAIMS',
        'RefreshTokenReusedError',
        'RevocationsUnavailableError',
        'ServerBusyError',
        'StoreUnavailableError',
        'Tessera',
        'TesseraError',
        'TesseraHttpError',
        'TokenConflictError',
        'TokenExpiredError',
        'TokenInvalidError',
        'TokenMissingError',
        'TokenNotYetValidError',
        'TokenRevokedError',
        'TokenTypeError',
        'UnauthorizedClientError',
        'UnsupportedGrantTypeError',
        'UseDpopNonceError',
        'UnsupportedMediaTypeError',
        'UserInvalidError',
        'UsernameTakenError',
        'ValidationError',
        'accessCookie',
        'clearedCookies',
        'createKeyRing',
        'createTessera',
        'errorResponse',
        'errorResult',
        'exportPrivateJwk',
        'exportPublicJwk',
        'fixedClock',
        'frameworkTessera',
        'generateKey',
        'generateRefreshKey',
        'handleLogin',
        'handleLogout',
        'handleRefresh',
        'importKey',
        'importRefreshKey',
        'clientIdOf',
        'jsonResult',
        'jktOf',
        'jwkThumbprint',
        'loggedOutResult',
        'parseDuration',
        'refusalOf',
        'resolveConfig',
        'relationProblems',
        'rotationRefusal',
        'serializeCookie',
        'systemClock',
        'tokenCookies',
        'tokenResult',
        'wwwAuthenticate',
      ].sort(),
    );
  });

  it('offers the wire protocol (browser-safe facts shared by server and client) as its own entry point', async () => {
    expect(await nodeImport('@tessera/auth/protocol')).toEqual([
      'AUTH_PATHS',
      'COOKIE_NAMES',
      'CSRF_HEADER',
      'ERRORS',
      'FIRST_PARTY_CLIENT',
      'SECURE_COOKIE_PREFIX',
      'TRANSPORTS',
      'isTransport',
    ]);
  });

  it('offers the memory store as its own entry point', async () => {
    expect(await nodeImport('@tessera/auth/stores/memory')).toEqual(['memoryBus', 'memoryStore', 'memoryThrottle']);
    // recordRevocationEvents: revocation-feed events in an application's own transaction (the server's key withdrawals).
    expect(await nodeImport('@tessera/auth/stores/sqlite')).toEqual(['recordRevocationEvents', 'sqlStore', 'sqliteStore']);
    expect(await nodeImport('@tessera/auth/stores/postgres')).toEqual(['postgresStore', 'recordRevocationEvents', 'sqlStore']);
    expect(await nodeImport('@tessera/auth/stores/sql')).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(await nodeImport('@tessera/auth/stores/redis')).toEqual(['redisBus', 'redisThrottle']);
  });

  it('offers each framework adapter as its own entry point', async () => {
    expect(await nodeImport('@tessera/auth/client')).toEqual(['ClientError', 'CookieJar', 'TesseraClient', 'createClient', 'readError']);
    expect(await nodeImport('@tessera/auth/client/legacy')).toEqual(['exchangeLegacyToken']);
    expect(await nodeImport('@tessera/auth/client/dpop')).toEqual(['createDpop']);
    expect(await nodeImport('@tessera/auth/remote')).toEqual([
      'ERRORS',
      'InsufficientScopeError',
      'JwksUnavailableError',
      'RemoteVerifier',
      'RevocationsUnavailableError',
      'TesseraError',
      'TokenExpiredError',
      'TokenInvalidError',
      'TokenMissingError',
      'TokenNotYetValidError',
      'TokenRevokedError',
      'TokenTypeError',
      'createRemoteVerifier',
      'nodeBackend',
      'webCryptoBackend',
    ]);
    for (const framework of ['express', 'fastify']) expect(await nodeImport(`@tessera/auth/${framework}`)).toEqual(['TesseraHttpError', 'tessera']);
    expect(await nodeImport('@tessera/auth/hono')).toEqual(['TesseraHTTPException', 'tessera']);
    expect(await nodeImport('@tessera/auth/nest')).toEqual([
      'Auth',
      'Authenticated',
      'Fresh',
      'OptionalAuth',
      'Public',
      'RequireClaims',
      'RequireRefreshToken',
      'RequireScope',
      'TesseraExceptionFilter',
      'TesseraGuard',
      'TesseraHttpException',
      'TesseraModule',
      'TesseraService',
    ]);
  });

  it('keeps internals out of reach', async () => {
    for (const specifier of ['@tessera/auth/dist/internal/json.js', '@tessera/auth/dist/core/tokens/verify.js', '@tessera/auth/src/index.ts']) {
      expect(await nodeImport(specifier)).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
  });

  it('ships ESM with types and no side effects, and every error code in the table has a class', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', 'auth', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({ type: 'module', sideEffects: false, exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } });
    const api = await import('@tessera/auth');
    const classes = Object.values(api as Record<string, unknown>).filter(
      (v): v is new () => InstanceType<typeof api.TesseraError> => typeof v === 'function' && v.prototype instanceof api.TesseraError,
    );
    const codes = classes.map((C) => new C().code).sort();
    expect(codes).toEqual(Object.keys(api.ERRORS).sort());
  });
});

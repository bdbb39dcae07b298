// What `tessera serve` says once it listens: one log line with the facts an operator checks first
// (version, address, stores without their credentials, the signing key, transports) and the
// warnings, each also a line of its own at `warn` so that TESSERA_LOG_LEVEL=warn still shows it.
// A log line rather than a block on stderr: the logs are JSON on stdout, where collectors parse one
// object per line and keep it with the instance's other lines; a multi-line block would reach them as
// unparsed fragments, and a person reads the line through pino-pretty like every other.
import { readFileSync } from 'node:fs';
import { oauthOffLine } from './oauth/issuer.js';
import type { Runtime } from './runtime.js';
import { SETTINGS, unknownVariables } from './settings.js';

/** The facts of the summary line. */
export interface StartupSummary {
  readonly version: string;
  readonly url: string;
  readonly database: string;
  readonly redis: string;
  readonly alg: string;
  readonly kid: string;
  readonly transports: readonly string[];
  /** The OAuth issuer, or `off` (oauth/issuer.ts). */
  readonly oauth: string;
  readonly warnings: readonly string[];
}

/** This package's version, from its package.json (one folder above both `src/` and `dist/`). */
export function serverVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Query parameters whose value is a credential (libpq's `password`, `sslpassword`, and the like). */
const SECRET_PARAM = /pass|secret|token/i;

/** A database or Redis URL without credentials: no userinfo, no password parameter. */
export function redactUrl(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url; // sqlite:<path> carries none
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@').replace(/([?&][^=&]*(?:pass|secret|token)[^=&]*=)[^&]*/gi, '$1***');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '***';
    parsed.password = '';
  }
  for (const name of [...parsed.searchParams.keys()]) if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, '***');
  return parsed.href.replaceAll('%2A%2A%2A', '***');
}

/**
 * The summary of an instance listening at `url`, and the warnings about its configuration, from the
 * settings and the variables in `env`. Only `extra` warnings already logged by whoever found them
 * (the key store's unencrypted keys) are not logged again.
 */
export function startupSummary(runtime: Runtime, url: string, env: Readonly<Record<string, string | undefined>>, logged: readonly string[] = []) {
  const { config } = runtime;
  const own: string[] = [...unknownVariables(env)];
  if (!config.cookieSecure) own.push('TESSERA_COOKIE_SECURE is false: cookies are sent over plain http too; keep it for local development only');
  if (config.issuer === SETTINGS.issuer.default)
    own.push(`TESSERA_ISSUER is the default ${config.issuer}: give each deployment an issuer of its own, so its tokens say where they come from`);
  if (config.corsOrigins.includes('*'))
    own.push('TESSERA_CORS_ORIGINS allows *: any web page may call this server with credentials; list the origins instead');
  const signing = runtime.auth.config.keys.signingKey;
  const summary: StartupSummary = {
    version: serverVersion(),
    url,
    database: redactUrl(config.databaseUrl),
    redis: config.redisUrl === undefined ? 'none' : `${redactUrl(config.redisUrl)} (prefix ${config.redisPrefix})`,
    alg: signing.alg,
    kid: signing.kid,
    transports: config.transports,
    oauth: runtime.oauth === undefined ? 'off' : runtime.oauth.endpoints.issuer,
    warnings: [...logged, ...own],
  };
  // OAuth off is a choice, not a fault: one line at `info` saying how to turn it on (docs/oauth.md "Turning it on").
  const notes = runtime.oauth === undefined ? [oauthOffLine(config.issuer)] : [];
  return { summary, warnings: own, notes };
}

import type { Clock } from '../core/clock.js';
import { JwksUnavailableError, TokenInvalidError } from '../core/errors.js';
import type { KeyBackend, PublicJwk, RemoteAlgorithm, VerifyingKey } from './key-backend.js';

/** What the JWKS cache reports, for metrics (a counter per `type`) and logs. */
export type JwksEvent =
  | { readonly type: 'jwks_fetched'; readonly keys: number; readonly ignored: number; readonly maxAgeSeconds: number; readonly changed: boolean }
  | { readonly type: 'jwks_fetch_failed'; readonly reason: string; readonly staleSeconds: number | undefined }
  | { readonly type: 'jwks_stale_served'; readonly staleSeconds: number }
  | { readonly type: 'jwks_refused_stale'; readonly staleSeconds: number | undefined }
  | { readonly type: 'jwks_key_withdrawn'; readonly kid: string };

/** The cache's settings, resolved by the verifier (milliseconds and bytes). */
export interface JwksSettings {
  readonly url: string;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly backend: KeyBackend;
  readonly algorithms: readonly RemoteAlgorithm[];
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly minCacheMs: number;
  readonly maxCacheMs: number;
  readonly cooldownMs: number;
  readonly maxStaleMs: number;
  readonly log: (line: string) => void;
  readonly onEvent: ((event: JwksEvent) => void) | undefined;
}

/** One JWKS as fetched: its usable keys by `kid`, when it was fetched, and until when it is fresh. */
interface Copy {
  readonly byKid: ReadonlyMap<string, VerifyingKey>;
  /** The key a token without `kid` may use: only when the set holds exactly one usable key. */
  readonly single: VerifyingKey | undefined;
  readonly fetchedAt: number;
  readonly freshUntil: number;
  readonly fingerprint: string;
}

/** Key ids withdrawn on the feed that are remembered (a key's withdrawal is rare: a handful in a deployment's life). */
const MAX_WITHDRAWN = 1024;

/** kty and crv each algorithm takes (RFC 7518 §6, RFC 8037 §2): the key pins the algorithm. */
const FITS: Readonly<Record<RemoteAlgorithm, (jwk: Record<string, unknown>) => boolean>> = {
  EdDSA: (jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519',
  ES256: (jwk) => jwk.kty === 'EC' && jwk.crv === 'P-256',
  RS256: (jwk) => jwk.kty === 'RSA',
};

/**
 * The issuer's JWKS as this process knows it. Fresh for the response's `Cache-Control: max-age`
 * within bounds; past that it is refetched in the background while the known keys keep verifying
 * (stale-while-revalidate), but never used once older than `maxStale`. An unknown `kid` refetches
 * at most once per cooldown; concurrent misses share one fetch.
 */
export class JwksCache {
  readonly #settings: JwksSettings;
  #copy: Copy | undefined;
  #inflight: Promise<void> | undefined;
  /** No background or miss-driven fetch before this time (after a failure). */
  #nextAttemptAt = 0;
  #lastMissFetchAt = Number.NEGATIVE_INFINITY;
  #failing = false;
  #version = 0;
  /** Kids withdrawn by the revocation feed: never trusted again, even from a JWKS copy cached upstream. */
  readonly #withdrawn = new Set<string>();

  constructor(settings: JwksSettings) {
    this.#settings = settings;
  }

  /** Changes whenever the usable keys change, so that caches built on them are dropped. */
  get version(): number {
    return this.#version;
  }

  /**
   * The key for `kid`: synchronously when the copy is usable and holds it, else after a fetch.
   * Throws `token_invalid` for a key the issuer does not publish, `jwks_unavailable` when no copy
   * younger than `maxStale` can be had.
   */
  key(kid: string | undefined): VerifyingKey | Promise<VerifyingKey> {
    const now = this.#settings.clock.now();
    const copy = this.#copy;
    if (copy !== undefined && now - copy.fetchedAt <= this.#settings.maxStaleMs) {
      if (now >= copy.freshUntil) this.#revalidate(now, copy);
      const found = find(copy, kid);
      if (found !== undefined) return found;
    }
    return this.#slow(kid, now);
  }

  /** Fetches now (shared with any fetch in flight); rejects when the fetch fails. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#fetchOnce().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Forgets a key at once (a withdrawal on the revocation feed), and refetches to learn what replaced it. */
  withdraw(kid: string): void {
    this.#withdrawn.add(kid);
    // Withdrawals are rare; a broken feed sending endless ones must not grow this without bound (oldest forgotten).
    if (this.#withdrawn.size > MAX_WITHDRAWN) this.#withdrawn.delete(this.#withdrawn.values().next().value as string);
    const copy = this.#copy;
    if (copy !== undefined && copy.byKid.has(kid)) {
      const byKid = new Map(copy.byKid);
      byKid.delete(kid);
      this.#copy = { ...copy, byKid, single: byKid.size === 1 ? byKid.values().next().value : undefined, fingerprint: `${copy.fingerprint}-${kid}` };
      this.#version++;
    }
    this.#settings.onEvent?.({ type: 'jwks_key_withdrawn', kid });
    this.refresh().catch(() => undefined);
  }

  async #slow(kid: string | undefined, now: number): Promise<VerifyingKey> {
    const { maxStaleMs, cooldownMs } = this.#settings;
    const before = this.#copy;
    if (before === undefined || now - before.fetchedAt > maxStaleMs) {
      // No usable copy: fetch now, but after a failure only once per cooldown, so an outage costs no fetch per request.
      if (this.#inflight === undefined && now < this.#nextAttemptAt) throw this.#unavailable(now);
      try {
        await this.refresh();
      } catch {
        throw this.#unavailable(this.#settings.clock.now());
      }
    } else if (this.#inflight !== undefined || now - this.#lastMissFetchAt >= cooldownMs) {
      // An unknown kid: perhaps a key published since the last fetch. Once per cooldown, so random kids cannot make us a fetch amplifier.
      if (this.#inflight === undefined) this.#lastMissFetchAt = now;
      await this.refresh().catch(() => undefined);
    }
    const copy = this.#copy;
    if (copy === undefined || this.#settings.clock.now() - copy.fetchedAt > maxStaleMs) throw this.#unavailable(this.#settings.clock.now());
    const found = find(copy, kid);
    // While the JWKS cannot be fetched, an unknown kid may be a key published since the copy: 503, not a 401 refresh storm.
    if (found === undefined && this.#failing) throw this.#unavailable(this.#settings.clock.now());
    if (found === undefined) throw new TokenInvalidError({ message: 'Token was signed by an unknown key' });
    return found;
  }

  #unavailable(now: number): JwksUnavailableError {
    const copy = this.#copy;
    const staleSeconds = copy === undefined ? undefined : Math.round((now - copy.fetchedAt) / 1000);
    this.#settings.onEvent?.({ type: 'jwks_refused_stale', staleSeconds });
    const retryAfter = Math.max(1, Math.ceil((this.#nextAttemptAt - now) / 1000));
    return new JwksUnavailableError({
      message:
        copy === undefined
          ? "The issuer's signing keys could not be fetched yet"
          : `The issuer's signing keys could not be refreshed for ${staleSeconds ?? 0} s, longer than maxStale allows`,
      retryAfter,
    });
  }

  /** Stale-while-revalidate: the copy keeps verifying while one background fetch runs. */
  #revalidate(now: number, copy: Copy): void {
    if (this.#failing) this.#settings.onEvent?.({ type: 'jwks_stale_served', staleSeconds: Math.round((now - copy.fetchedAt) / 1000) });
    if (this.#inflight !== undefined || now < this.#nextAttemptAt) return;
    this.refresh().catch(() => undefined);
  }

  async #fetchOnce(): Promise<void> {
    const settings = this.#settings;
    try {
      const { body, maxAgeMs } = await download(settings);
      const now = settings.clock.now();
      const { byKid, ignored } = await this.#keysOf(body);
      const fingerprint = [...byKid.values()].map((k) => `${k.kid ?? ''}:${k.alg}:${k.fingerprint}`).join(',');
      const changed = this.#copy?.fingerprint !== fingerprint;
      if (changed) {
        for (const line of ignored) settings.log(`tessera remote: JWKS key ignored: ${line}.`);
        this.#version++;
      }
      const keys = [...byKid.values()];
      this.#copy = {
        byKid: indexByKid(keys),
        single: keys.length === 1 ? keys[0] : undefined,
        fetchedAt: now,
        freshUntil: now + maxAgeMs,
        fingerprint,
      };
      this.#nextAttemptAt = 0;
      if (this.#failing) settings.log(`tessera remote: JWKS at ${settings.url} reachable again.`);
      this.#failing = false;
      settings.onEvent?.({ type: 'jwks_fetched', keys: keys.length, ignored: ignored.length, maxAgeSeconds: Math.round(maxAgeMs / 1000), changed });
    } catch (err) {
      const now = settings.clock.now();
      this.#nextAttemptAt = now + settings.cooldownMs;
      const reason = err instanceof Error ? err.message : String(err);
      const copy = this.#copy;
      const staleSeconds = copy === undefined ? undefined : Math.round((now - copy.fetchedAt) / 1000);
      settings.log(
        copy === undefined
          ? `tessera remote: JWKS fetch from ${settings.url} failed (${reason}); no keys yet, tokens are refused with 503 jwks_unavailable.`
          : `tessera remote: JWKS fetch from ${settings.url} failed (${reason}); verifying with the copy fetched ${staleSeconds ?? 0} s ago until it is ${Math.round(settings.maxStaleMs / 1000)} s old.`,
      );
      this.#failing = true;
      settings.onEvent?.({ type: 'jwks_fetch_failed', reason, staleSeconds });
      throw err;
    }
  }

  /** The usable keys of a JWKS; each key that cannot serve is ignored with a reason (RFC 7517 §5: unknown members and keys are skipped). */
  async #keysOf(body: unknown): Promise<{ byKid: Map<string, VerifyingKey & { fingerprint: string }>; ignored: string[] }> {
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys))
      throw new Error('the response is not a JWK Set (no "keys" array)');
    const entries = (body as { keys: unknown[] }).keys;
    const ignored: string[] = [];
    const usable: (VerifyingKey & { fingerprint: string })[] = [];
    const seen = new Set<string>();
    await Promise.all(
      entries.map(async (entry, index) => {
        const problem = this.#judge(entry);
        const name = `#${index}${typeof entry === 'object' && entry !== null && typeof (entry as { kid?: unknown }).kid === 'string' ? ` (kid ${String((entry as { kid: string }).kid).slice(0, 64)})` : ''}`;
        if (typeof problem === 'string') {
          ignored.push(`${name}: ${problem}`);
          return;
        }
        try {
          const key = await this.#settings.backend.importKey(problem.jwk, problem.alg, problem.kid);
          usable[index] = { ...key, verify: key.verify.bind(key), fingerprint: JSON.stringify(problem.jwk) };
        } catch (err) {
          ignored.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
    const byKid = new Map<string, VerifyingKey & { fingerprint: string }>();
    const present = usable.filter((k) => k !== undefined);
    for (const key of present) {
      const id = key.kid ?? '';
      // Two keys under one kid: which one signed is ambiguous, so neither is used.
      if (seen.has(id)) {
        byKid.delete(id);
        ignored.push(`kid ${id.slice(0, 64)}: published twice`);
        continue;
      }
      seen.add(id);
      byKid.set(id, key);
    }
    return { byKid, ignored };
  }

  /** Why a JWK is not usable, or what to import: kty, crv, alg, use and key_ops must all agree. */
  #judge(entry: unknown): string | { jwk: PublicJwk; alg: RemoteAlgorithm; kid: string | undefined } {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not a JSON object';
    const jwk = entry as Record<string, unknown>;
    // A shared secret in a public document is no secret, and HS keys are the algorithm-confusion path (RFC 8725 §2.1).
    if (jwk.kty === 'oct') return 'a symmetric key (kty "oct") is never accepted from a JWKS';
    if (jwk.kty !== 'OKP' && jwk.kty !== 'EC' && jwk.kty !== 'RSA') return `kty ${JSON.stringify(jwk.kty)} is not supported`;
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) return 'it holds private material';
    if (jwk.use !== undefined && jwk.use !== 'sig') return `use ${JSON.stringify(jwk.use)} is not "sig"`;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return 'key_ops does not include "verify"';
    if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 256)) return 'kid is not a short string';
    const kid = jwk.kid as string | undefined;
    if (kid !== undefined && this.#withdrawn.has(kid)) return 'withdrawn on the revocation feed';
    // alg absent: the key type decides (Ed25519 → EdDSA, P-256 → ES256, RSA → RS256, the one RSA algorithm accepted).
    const alg = jwk.alg === undefined ? (Object.keys(FITS) as RemoteAlgorithm[]).find((a) => FITS[a](jwk)) : jwk.alg;
    if (alg !== 'EdDSA' && alg !== 'ES256' && alg !== 'RS256')
      return jwk.alg === undefined
        ? `no algorithm fits kty ${String(jwk.kty)}${jwk.crv === undefined ? '' : ` crv ${String(jwk.crv)}`}`
        : `alg ${JSON.stringify(jwk.alg)} is not accepted`;
    if (!FITS[alg](jwk)) return `alg ${alg} does not fit kty ${String(jwk.kty)}${jwk.crv === undefined ? '' : ` crv ${String(jwk.crv)}`}`;
    if (!this.#settings.algorithms.includes(alg)) return `alg ${alg} is not among the algorithms allowed`;
    const material: Record<string, string> = { kty: jwk.kty };
    for (const name of ['crv', 'x', 'y', 'n', 'e'] as const) {
      const value = jwk[name];
      if (value === undefined) continue;
      if (typeof value !== 'string') return `${name} is not a string`;
      material[name] = value;
    }
    return { jwk: material as unknown as PublicJwk, alg, kid };
  }
}

function find(copy: Copy, kid: string | undefined): VerifyingKey | undefined {
  // Without a kid only an unambiguous one-key set can answer (as the local verifier's single-key ring).
  return kid === undefined ? copy.single : copy.byKid.get(kid);
}

function indexByKid(keys: readonly VerifyingKey[]): Map<string, VerifyingKey> {
  const map = new Map<string, VerifyingKey>();
  for (const key of keys) if (key.kid !== undefined) map.set(key.kid, key);
  return map;
}

/** GET the JWKS with a deadline and a size limit; the freshness comes from `Cache-Control` (RFC 9111 §5.2.2.1), within bounds. */
async function download(settings: JwksSettings): Promise<{ body: unknown; maxAgeMs: number }> {
  // Called unbound: workerd's fetch refuses any other `this` ("Illegal invocation").
  const fetchUnbound = settings.fetch;
  const response = await fetchUnbound(settings.url, {
    signal: AbortSignal.timeout(settings.timeoutMs),
    // A JWKS is found at its configured address, not wherever a redirect points: a 3xx is a failed fetch below
    // ('manual', not 'error', which workerd does not take).
    redirect: 'manual',
    headers: { accept: 'application/jwk-set+json, application/json' },
  });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`status ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > settings.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`the response is larger than ${settings.maxBytes} bytes`);
  }
  const bytes = await readCapped(response, settings.maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new Error('the response is not UTF-8 JSON');
  }
  return { body, maxAgeMs: freshness(response.headers.get('cache-control'), settings) };
}

async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`the response is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** max-age within [min, max]; `no-store`/`no-cache` count as 0 (so the minimum), no header as the maximum. */
function freshness(header: string | null, settings: JwksSettings): number {
  let seconds: number | undefined;
  if (header !== null) {
    for (const part of header.toLowerCase().split(',')) {
      const directive = part.trim();
      if (directive === 'no-store' || directive === 'no-cache') seconds = 0;
      const match = /^max-age=(\d{1,10})$/.exec(directive);
      if (match !== null && seconds === undefined) seconds = Number(match[1]);
    }
  }
  const ms = seconds === undefined ? settings.maxCacheMs : seconds * 1000;
  return Math.min(settings.maxCacheMs, Math.max(settings.minCacheMs, ms));
}

import type { ResolvedConfig, ResolvedDpop } from '../config/config.js';
import { InvalidDpopProofError, StoreUnavailableError, TesseraError } from '../errors.js';
import type { AuthRequest } from '../transport/request.js';
import { DpopNonces } from './nonce.js';
import { IAT_WINDOW_SECONDS, verifyDpopProof, type DpopAlgorithm, type DpopProof, type DpopSettings } from './proof.js';
import { ReplayCache } from './replay.js';

/**
 * DPoP as the configuration sets it (RFC 9449): reads the one `DPoP` header of a request, checks the
 * proof against the request's method and URL (`htu` from `dpop.origin`, the issuer, or the request's own
 * origin, plus `request.path`), the nonce and replay. One per `Tessera`: its replay memory and nonce
 * cache are per process.
 * @example const proof = await new DpopChecker(config).forTokenRequest(request); // proof?.jkt binds the tokens
 */
export class DpopChecker {
  readonly #config: DpopCheckerConfig;
  readonly #dpop: ResolvedDpop;
  readonly #settings: DpopSettings;
  readonly #nonces: DpopNonces | undefined;
  readonly #seen = new ReplayCache();
  readonly #algs: string;

  /** Takes the resolved configuration, or any object with its `dpop`, `leeway` and `clock` (a remote verifier's). */
  constructor(config: DpopCheckerConfig) {
    this.#config = config;
    this.#dpop = config.dpop;
    this.#settings = Object.freeze({ algorithms: this.#dpop.algorithms, leeway: config.leeway });
    this.#nonces = this.#dpop.nonceSecret === undefined ? undefined : new DpopNonces(this.#dpop.nonceSecret);
    this.#algs = this.#dpop.algorithms.join(' ');
  }

  /** `off`, `allowed` or `required`, as configured. */
  get mode(): ResolvedDpop['mode'] {
    return this.#dpop.mode;
  }

  /** The algorithms a proof may use (for metadata's `dpop_signing_alg_values_supported`). */
  get algorithms(): readonly DpopAlgorithm[] {
    return this.#dpop.algorithms;
  }

  /** The nonce to send now as `DPoP-Nonce`, or undefined when no nonce secret is configured (RFC 9449 §8.2). */
  nonce(): string | undefined {
    return this.#nonces?.current(this.#config.clock.now());
  }

  /**
   * The proof of a token request (login, refresh, `/oauth/token`), or undefined when none was sent (or
   * mode is `off`: the header is ignored, RFC 9449 §5). Refusals are 400: two `DPoP` headers, no proof
   * under `required`, a bad proof, a missing or stale nonce when a nonce secret is set (`use_dpop_nonce`),
   * a replayed `jti` (in this process, or in the replay store when one is configured).
   */
  async forTokenRequest(request: AuthRequest): Promise<DpopProof | undefined> {
    if (this.#dpop.mode === 'off') return undefined;
    const header = this.#header(request, 400);
    if (header === undefined) {
      if (this.#dpop.mode === 'required') throw this.#refuse('This server requires a DPoP proof (RFC 9449): send a DPoP header', 400);
      return undefined;
    }
    const now = this.#config.clock.now();
    const proof = verifyDpopProof(
      header,
      { method: request.method, url: this.#url(request, 400), nonce: this.#nonces, status: 400 },
      this.#settings,
      now,
    );
    const expiresAt = this.#expiry(proof, now);
    if (!this.#seen.claim(proof.jkt, proof.jti, expiresAt, now)) throw this.#replayed(400);
    const store = this.#dpop.replayStore;
    if (store !== undefined) {
      let first: boolean;
      try {
        first = await store.claim(proof.jkt, proof.jti, expiresAt);
      } catch (err) {
        throw err instanceof TesseraError ? err : new StoreUnavailableError({ message: 'The DPoP replay store cannot be reached', cause: err });
      }
      if (!first) throw this.#replayed(400);
    }
    return proof;
  }

  /**
   * The proof that must come with an access token bound to `jkt` at a guarded route: one `DPoP` header,
   * a valid proof for this request with `ath` of `accessToken`, signed by the bound key, not seen before
   * in this process (and with the nonce when `dpop.resourceNonce` is on). Refusals are 401 (RFC 9449 §7.1).
   */
  forResource(request: AuthRequest, accessToken: string, jkt: string): DpopProof {
    const header = this.#header(request, 401);
    if (header === undefined) throw this.#refuse('This token is DPoP-bound: send a DPoP proof with it', 401);
    const now = this.#config.clock.now();
    const nonce = this.#dpop.resourceNonce ? this.#nonces : undefined;
    const proof = verifyDpopProof(
      header,
      { method: request.method, url: this.#url(request, 401), accessToken, nonce, status: 401 },
      this.#settings,
      now,
    );
    if (proof.jkt !== jkt) throw this.#refuse('The DPoP proof is signed by another key than the one the token is bound to', 401);
    if (!this.#seen.claim(proof.jkt, proof.jti, this.#expiry(proof, now), now)) throw this.#replayed(401);
    return proof;
  }

  /**
   * The URL `htu` must name: the configured origin (or the issuer's), else the request's own scheme and
   * `Host`, followed by the path the adapter reports. Undefined when the request does not say its path.
   */
  url(request: AuthRequest): string | undefined {
    const path = request.path;
    if (typeof path !== 'string' || !path.startsWith('/')) return undefined;
    const origin = this.#dpop.origin ?? ownOrigin(request);
    return origin === undefined ? undefined : origin + path;
  }

  #url(request: AuthRequest, status: 400 | 401): string {
    const url = this.url(request);
    if (url === undefined) throw this.#refuse('The request URL is unknown, so the DPoP proof htu cannot be checked', status);
    return url;
  }

  /** The one `DPoP` header (RFC 9449 §4.3 item 1: exactly one), or undefined. */
  #header(request: AuthRequest, status: 400 | 401): string | undefined {
    let found: string | undefined;
    const headers = request.headers;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length !== 4 || name.toLowerCase() !== 'dpop') continue;
      if (found !== undefined) throw this.#refuse('Send one DPoP header, not several', status);
      found = headers[i + 1] as string;
    }
    return found;
  }

  /** A proof is remembered for as long as its `iat` is acceptable. */
  #expiry(proof: DpopProof, now: number): number {
    return Math.max(now, Math.ceil((proof.iat + IAT_WINDOW_SECONDS + this.#config.leeway) * 1000));
  }

  #replayed(status: 400 | 401): InvalidDpopProofError {
    return this.#refuse('This DPoP proof was already used: make a new proof (a new jti) for every request', status);
  }

  #refuse(message: string, status: 400 | 401): InvalidDpopProofError {
    return new InvalidDpopProofError({ message, status, algs: this.#algs });
  }
}

/** What a `DpopChecker` reads of the configuration. */
export type DpopCheckerConfig = Pick<ResolvedConfig, 'dpop' | 'leeway' | 'clock'>;

/** `scheme://host` of the request itself (cookie checks use the same), when no origin is configured. */
function ownOrigin(request: AuthRequest): string | undefined {
  const protocol = request.protocol;
  if (protocol !== 'http' && protocol !== 'https') return undefined;
  const headers = request.headers;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    if (name === 'host' || name === ':authority') return `${protocol}://${headers[i + 1] as string}`;
  }
  return undefined;
}

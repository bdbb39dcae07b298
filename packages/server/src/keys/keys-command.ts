// `tessera keys generate|rotate|encrypt` (docs/architecture.md "Keys"): stage a key, publish-then-switch
// rotation (or `--now`), and sealing the stored keys after TESSERA_KEYS_SECRET was set. `revoke` and
// `list` read the rows alone and live beside the command line's dispatch.
import { parseArgs } from 'node:util';
import { ALGORITHMS, type Algorithm } from '@tessera/auth';
import type { ServerConfig } from '../settings.js';
import { RetireRefusedError, type KeyStore } from './key-store.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

type Verb = 'generate' | 'rotate' | 'encrypt';

/** Whether `verb` is one of the key verbs this module runs. */
export function isKeyVerb(verb: string | undefined): verb is Verb {
  return verb === 'generate' || verb === 'rotate' || verb === 'encrypt';
}

/** Runs one key verb; answers the exit code (2: a usage mistake, `usage` prints the help). */
export async function keysCommand(
  verb: Verb,
  args: readonly string[],
  keys: KeyStore,
  config: ServerConfig,
  now: number,
  io: Io,
  usage: () => number,
): Promise<number> {
  let values: { alg?: string; now?: boolean; force?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { alg: { type: 'string' }, now: { type: 'boolean' }, force: { type: 'boolean' } },
      allowPositionals: false,
    }));
  } catch {
    return usage();
  }
  if (verb !== 'rotate' && (values.now === true || values.force === true)) return usage();
  if (verb === 'encrypt' && values.alg !== undefined) return usage();
  let alg: Algorithm | undefined;
  if (values.alg !== undefined) {
    const asymmetric = ALGORITHMS.filter((a) => a !== 'HS256');
    if (!(asymmetric as readonly string[]).includes(values.alg)) {
      io.err(`--alg ${values.alg} is not a stored key's algorithm: use one of ${asymmetric.join(', ')} (HS256 takes TESSERA_SECRET instead).`);
      return 2;
    }
    alg = values.alg as Algorithm;
  }
  const options = { ...(alg === undefined ? {} : { alg }), force: values.force === true };
  try {
    if (verb === 'generate') {
      const key = await keys.stageNext(now, alg === undefined ? {} : { alg });
      io.out(`Published ${key.kid} (${key.alg}) in the JWKS; it signs after "tessera keys rotate".`);
      return 0;
    }
    if (verb === 'encrypt') {
      if (config.keysSecret === undefined) {
        io.err('Cannot encrypt the keys: set TESSERA_KEYS_SECRET to base64url of at least 32 random bytes, then run tessera keys encrypt again.');
        return 1;
      }
      const count = await keys.encryptAll();
      io.out(`Encrypted ${count} key(s) with TESSERA_KEYS_SECRET; every stored private key is now sealed.`);
      return 0;
    }
    if (options.force)
      io.err(
        `Warning: --force retires a key whose token lifetime is unknown, keeping it ${config.accessTtl + config.leeway} s (this command's TESSERA_ACCESS_TTL plus TESSERA_LEEWAY): tokens signed to live longer stop verifying early.`,
      );
    if (values.now === true) {
      const { current, retired } = await keys.rotate(now, options);
      io.err(
        `Warning: ${current.kid} signs at once, so verifiers that cached the JWKS before it was published refuse its tokens until they fetch it again; without --now, rotate publishes it TESSERA_KEY_PUBLISH_DELAY ahead.`,
      );
      io.out(
        `Now signing with ${current.kid}.${retired ? ` ${retired.kid} verifies until ${new Date(retired.expiresAt ?? now).toISOString()}.` : ''}`,
      );
      return 0;
    }
    const { next, retiring } = await keys.schedule(now, options);
    const at = new Date(Math.max(next.activatesAt ?? now, now)).toISOString();
    io.out(
      `Published ${next.kid} (${next.alg}) in the JWKS; instances sign with it from ${at}.${retiring ? ` ${retiring.kid} then verifies for at least ${retiring.maxTokenLife} s more.` : ''}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof RetireRefusedError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

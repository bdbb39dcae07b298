// A sign-in by username and password outside /auth/login (the OAuth sign-in form), with /auth/login's rules
// exactly: the same throttle counters (per account-and-address and per address, `login`), the same lookup, the
// same hasher path (`verifyLogin`, imported hashes upgraded) and the same work for an unknown user, a disabled
// account and a wrong password (docs/architecture.md "The HTTP contract"). /auth/login (routes/account.ts) and the
// OAuth sign-in form (oauth/authorize.ts) both call it, so the check exists once.
import type { Runtime } from '../runtime.js';
import { LoginThrottle } from './login-throttle.js';
import { checkNewPassword, normaliseLoginPassword } from './password-policy.js';
import { usernameKey } from './username/index.js';

/** Who signed in, and the credential version read with the hash (docs/security.md, the cut-off). */
export interface SignedIn {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
  readonly credentialVersion: number;
}

/** The account a throttle counts for a login name as typed: look-alike spellings count as one (as /auth/login). */
function throttleAccount(value: unknown): string {
  return typeof value === 'string' && value.length <= 1024 ? usernameKey(value) : 'invalid';
}

/**
 * Checks a username and password: /auth/login's check, and the OAuth sign-in form's.
 * @example const user = await new PasswordSignIn(runtime).check(form.username, form.password, request.ip);
 */
export class PasswordSignIn {
  readonly #runtime: Runtime;
  readonly #throttle: LoginThrottle;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
    this.#throttle = new LoginThrottle(runtime.throttle, runtime.config, (err) => runtime.log.warn({ err: String(err) }, 'throttle reset failed'));
  }

  /**
   * The user when the password is right, undefined otherwise (unknown user, disabled account, wrong password:
   * the same answer after the same work). Throws `RateLimitedError` (429) before any work once the attempt
   * is over a limit, and the hasher's busy error when its queue is full.
   */
  async check(username: unknown, typed: unknown, ip: string): Promise<SignedIn | undefined> {
    const { users, hasher, metrics, config } = this.#runtime;
    const password = normaliseLoginPassword(typed);
    const attempt = await this.#throttle.begin('login', throttleAccount(username), ip);
    const user = await users.byUsername(username);
    // An imported hash is checked against the password exactly as typed (hasher.ts `verifyLogin`).
    const { ok, rehash } =
      user !== undefined && user.disabledAt === null && password.ok && typeof typed === 'string'
        ? await hasher.verifyLogin(user.passwordHash, typed, password.value)
        : {
            ok: await hasher.verifyNobody(password.ok ? password.value : '', password.ok && typeof typed === 'string' ? typed : undefined),
            rehash: false,
          };
    metrics.logins.inc({ result: ok ? 'success' : 'failure' });
    if (!ok || user === undefined) return undefined;
    await attempt.succeeded();
    if (rehash && password.ok) {
      // The imported hash becomes today's argon2id in this request; a password today's policy refuses still
      // signs in, and the account asks for a new one (docs/migration.md).
      const policy = checkNewPassword(typed, { username: user.username, minLength: config.passwordMinLength });
      await users.upgradePasswordHash(user.id, user.passwordHash, await hasher.hash(password.value), !policy.ok);
    }
    return { id: user.id, username: user.username, roles: user.roles, credentialVersion: user.credentialVersion };
  }
}

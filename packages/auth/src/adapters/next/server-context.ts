// Who is signed in, for server components and server actions: the request's headers through
// `next/headers` (an async API since Next.js 15), checked by the core as a read.
import type { GuardOptions, Identity, AdapterOptions } from '../adapter-kit.js';
import { TesseraError, TokenMissingError, UserInvalidError } from '../../core/errors.js';
import type { Tessera } from '../../core/tessera.js';
import { asRead } from './web.js';

/** Route rules of `session()`; `locations` defaults to `['cookie']`, the browser's session. */
export type SessionOptions<Claims extends object = object> = GuardOptions<Claims>;

/** Options of `requireSession()`: the route rules, and where a page without a session is sent. */
export type RequireSessionOptions<Claims extends object = object> = SessionOptions<Claims> & {
  /** Redirect here (Next.js `redirect()`, 307) instead of throwing the refusal, e.g. `'/login'`. */
  redirectTo?: string;
};

type LookupUser<User, Claims extends object> = AdapterOptions<User, Claims>['lookupUser'];

/** `session()` and `requireSession()` over one `Tessera`. */
export function sessionReader<User, Claims extends object>(
  authOf: () => Tessera<Claims>,
  lookupUser: LookupUser<User, Claims>,
): {
  session(options?: SessionOptions<Claims>): Promise<Identity<User, Claims> | null>;
  requireSession(options?: RequireSessionOptions<Claims>): Promise<Identity<User, Claims>>;
} {
  /** The caller, null without a token, or the refusal. A server fault (503) is thrown, never taken for "signed out". */
  async function identify(options: SessionOptions<Claims>): Promise<Identity<User, Claims> | null | TesseraError> {
    // Loaded on use, so route handlers and proxy.ts never load it, and the module imports outside Next.js.
    const { headers } = await import('next/headers.js');
    const request = asRead(await headers());
    try {
      const result = await authOf().authenticate(request, { locations: ['cookie'], ...options, token: 'access', optional: true });
      if (result === null) return null;
      let user: User | undefined;
      if (lookupUser !== undefined) {
        const found = await lookupUser(result.claims);
        if (found === null || found === undefined) throw new UserInvalidError();
        user = found;
      }
      return { kind: result.kind, token: result.token, claims: result.claims, sub: result.sub, sid: result.sid, location: result.location, user };
    } catch (err) {
      if (err instanceof TesseraError && err.status < 500) return err;
      throw err;
    }
  }

  return {
    async session(options = {}) {
      const found = await identify(options);
      return found instanceof TesseraError ? null : found;
    },
    async requireSession(options = {}) {
      const { redirectTo, ...rules } = options;
      const found = await identify(rules);
      if (found !== null && !(found instanceof TesseraError)) return found;
      if (redirectTo !== undefined) {
        const { redirect } = await import('next/navigation.js');
        redirect(redirectTo);
      }
      throw found ?? new TokenMissingError();
    },
  };
}

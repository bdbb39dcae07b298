// What each replaced stack writes into its tokens, as read from its source: the claim that says access or
// refresh, and the claim that names the user. Verification (verify.ts) applies one set of rules to all three.
//
// - simplejwt 5.2 (rest_framework_simplejwt/tokens.py, settings.py): `token_type` ("access" | "refresh",
//   TOKEN_TYPE_CLAIM), `exp`, `iat`, `jti` (JTI_CLAIM), the user under USER_ID_CLAIM (default `user_id`,
//   an integer for integer keys, else a string); header {"alg", "typ": "JWT"}.
// - flask-jwt-extended 4 (flask_jwt_extended/tokens.py, `_encode_jwt`): `fresh`, `iat`, `jti`, `type`
//   ("access" | "refresh"), the identity under JWT_IDENTITY_CLAIM (default `sub`), `nbf` (JWT_ENCODE_NBF),
//   `csrf` with cookies, `exp`. Its decoder takes a token without `type` as an access token: we never do.
// - AuthX 1 (authx/token.py `create_token`, authx/schema.py `TokenPayload`): `sub` (always, as a string),
//   `jti`, `type`, `fresh` on access tokens only, `csrf` (often ""), `iat` (an integer), `exp` (a float:
//   `datetime.timestamp()`), `nbf` only when asked.
import type { LegacyFormat } from './settings-checks.js';
import { DEFAULT_USER_CLAIM } from './settings-checks.js';

/** The token kinds the old stacks issue. */
export type LegacyKind = 'access' | 'refresh';

/** How one stack's tokens are read. */
export interface LegacyRules {
  readonly format: LegacyFormat;
  /** The claim whose value is `access` or `refresh`. */
  readonly typeClaim: string;
  /** The claim naming the user: matched, as text, against `tessera_users.legacy_id`. */
  readonly userClaim: string;
}

const TYPE_CLAIM: Readonly<Record<LegacyFormat, string>> = {
  simplejwt: 'token_type',
  'flask-jwt-extended': 'type',
  authx: 'type',
};

/** The rules of `format`, with the user claim the app configured (or the library's default). */
export function legacyRules(format: LegacyFormat, userClaim: string | undefined): LegacyRules {
  return { format, typeClaim: TYPE_CLAIM[format], userClaim: userClaim ?? DEFAULT_USER_CLAIM[format] };
}

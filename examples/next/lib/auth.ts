// One Tessera for the whole app, made on first use: `next build` loads every route module, and the keys
// are runtime secrets (TESSERA_ACCESS_KEY, a private JWK; TESSERA_REFRESH_SECRET, 32+ random bytes).
// Stateless: no shared store, so route handlers, pages and proxy.ts, each in its own bundle, agree.
import { createTessera, importKey, importRefreshKey, type CredentialCheck } from '@tessera/auth';
import { tessera } from '@tessera/auth/next';

export const t = tessera(() =>
  createTessera({
    keys: importKey({ alg: 'EdDSA', jwk: JSON.parse(process.env.TESSERA_ACCESS_KEY ?? '{}') }),
    refreshKey: importRefreshKey(process.env.TESSERA_REFRESH_SECRET ?? ''),
    // The auth routes live under /api/auth: the refresh cookie goes there and nowhere else.
    cookies: { refreshPath: '/api/auth' },
  }),
);

/** The demo's one user; a real app checks a password hash here. */
export const checkPassword: CredentialCheck = (body) => {
  const { username, password } = (body ?? {}) as Record<string, unknown>;
  return username === 'ada' && password === process.env.DEMO_PASSWORD ? { sub: 'ada' } : null;
};

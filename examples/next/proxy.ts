import { t } from './lib/auth';

// Runs before /account is rendered (Node.js runtime): no valid access cookie, no page.
export const proxy = t.proxy({ redirectTo: '/' });

export const config = { matcher: '/account/:path*' };

// Every OAuth route, registered only while TESSERA_ISSUER turns OAuth on (oauth/issuer.ts): otherwise none of
// them exists and each answers 404 like any unknown path. One line per module of routes.
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { authorizeRoutes } from './authorize.js';
import { introspectRoutes } from './introspect.js';
import { metadataRoutes } from './metadata.js';
import { revokeRoutes } from './revoke.js';
import { tokenRoutes } from './token.js';

export function oauthRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { oauth } = runtime;
  if (oauth === undefined) return;
  metadataRoutes(app, runtime, oauth);
  authorizeRoutes(app, runtime, oauth);
  tokenRoutes(app, runtime, oauth);
  revokeRoutes(app, runtime, oauth);
  introspectRoutes(app, runtime, oauth);
}

// POST /auth/exchange, registered only during a cut-over (TESSERA_LEGACY_FORMAT): the replaced stack's
// refresh token for a Tessera session, answered like a login (legacy/exchange.ts says why it is one).
import type { FastifyInstance } from 'fastify';
import { cutoverOf } from '../legacy/cutover.js';
import { exchangeCheck } from '../legacy/exchange.js';
import type { Runtime } from '../runtime.js';
import { schemas } from './schemas.js';

export function exchangeRoutes(app: FastifyInstance, runtime: Runtime): void {
  const cutover = cutoverOf(runtime);
  if (cutover === undefined) return;
  app.post(
    '/auth/exchange',
    { schema: schemas.exchange },
    app.tessera.login(exchangeCheck(runtime, cutover), { transports: runtime.config.transports }),
  );
}

import { t } from '../../../lib/auth';

export const GET = t.required(async (_request, { auth }) => Response.json({ sub: auth.sub }));

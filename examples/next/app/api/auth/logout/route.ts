import { t } from '../../../../lib/auth';

export const POST = t.logout();

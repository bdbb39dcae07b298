import { checkPassword, t } from '../../../../lib/auth';

export const POST = t.login(checkPassword);

import { t } from '../../lib/auth';

// proxy.ts already sent visitors without a session to /; the page checks again, as Next.js advises.
export default async function Account() {
  const session = await t.requireSession({ redirectTo: '/' });
  return <p>{`Account of ${session.sub}`}</p>;
}

import { t } from '../lib/auth';

// A server component: the access cookie is read and verified on the server, per request.
export default async function Home() {
  const session = await t.session();
  return <main>{session === null ? <a href="/login">Sign in</a> : <p>{`Signed in as ${session.sub}`}</p>}</main>;
}

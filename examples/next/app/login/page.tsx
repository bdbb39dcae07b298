'use client';

// The browser posts JSON (a cookie login must be JSON, so no cross-site form can log anyone in) and keeps the cookies.
export default function Login() {
  async function login(form: FormData) {
    const response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
    });
    if (response.ok) window.location.assign('/account');
  }
  return (
    <form action={login}>
      <input name="username" autoComplete="username" />
      <input name="password" type="password" autoComplete="current-password" />
      <button>Sign in</button>
    </form>
  );
}

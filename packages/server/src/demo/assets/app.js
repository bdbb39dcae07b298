// The demo page's script: a thin UI over the Tessera client (served from the built library at
// /demo/client/). It asks for the hybrid transport and falls back to what the server allows.
/* global document, setInterval */
import { ClientError, createClient } from './client/index.js';

const client = createClient({ baseUrl: '/', transport: ['hybrid', 'cookie', 'bearer'] });
const $ = (id) => document.getElementById(id);

const NOTES = {
  hybrid: 'access token in memory, refresh token in an HttpOnly cookie',
  cookie: 'both tokens in HttpOnly cookies, CSRF header on changes',
  bearer: 'both tokens in memory (gone on reload)',
};

let refreshes = { self: 0, tab: 0 };
let busy = false;

// ——— signed-in and signed-out views ———

async function enter() {
  const me = await client.fetch('/auth/me');
  if (!me.ok) return;
  const user = await me.json();
  const session = client.session;
  $('who').textContent = `Signed in as ${user.username}`;
  $('transport').textContent = session.transport ?? '—';
  $('transport-note').textContent = NOTES[session.transport] ?? '';
  $('status').textContent = '';
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  await loadSessions();
}

function leave(text) {
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
  $('status').textContent = text;
  $('me-answer').textContent = 'No call yet.';
  $('me-answer').className = 'answer';
  $('sessions').replaceChildren();
  refreshes = { self: 0, tab: 0 };
  showRefreshes();
}

function showRefreshes() {
  $('refresh-count').textContent = String(refreshes.self + refreshes.tab);
  $('refresh-split').textContent = refreshes.tab > 0 ? `(${refreshes.self} here, ${refreshes.tab} from other tabs)` : '';
}

// ——— events of the client ———

client.on('signedIn', ({ source }) => {
  log(source === 'login' ? 'Logged in' : source === 'restore' ? 'Session restored after reload' : 'Signed in from another tab');
  void enter();
});
client.on('refreshed', ({ source }) => {
  refreshes[source === 'tab' ? 'tab' : 'self']++;
  showRefreshes();
  log(source === 'tab' ? 'Token refreshed by another tab (adopted)' : 'Token refreshed');
});
client.on('signedOut', ({ reason }) => {
  log(reason === 'tab' ? 'Logged out in another tab' : 'Logged out');
  leave('Signed out');
});
client.on('sessionExpired', ({ error }) => {
  log(`Session ended (${error.code})`);
  leave(`Signed out: the session ended (${error.code}).`);
});
client.on('refreshFailed', ({ error, retryIn }) => log(`Refresh failed (${error.code}); next try in ${Math.round(retryIn / 1000)} s`));

function log(text) {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  item.append(time, document.createTextNode(text));
  const list = $('events');
  list.prepend(item);
  while (list.children.length > 8) list.lastElementChild.remove();
}

// ——— the access token's remaining life ———

function formatDuration(ms) {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

setInterval(() => {
  const { signedIn, expiresAt, lifetime } = client.session;
  if (!signedIn) return;
  const fill = $('meter-fill');
  if (expiresAt === undefined || !lifetime) {
    $('countdown').textContent = 'unknown';
    $('lifetime').textContent = 'its lifetime (known after the next refresh)';
    fill.style.width = '0';
    return;
  }
  const left = Math.max(0, expiresAt - Date.now());
  $('countdown').textContent = formatDuration(left);
  $('lifetime').textContent = formatDuration(lifetime);
  fill.style.width = `${Math.min(100, (left / lifetime) * 100)}%`;
  fill.className = left / lifetime < 0.25 ? 'low' : '';
}, 100);

// ——— actions ———

async function withBusy(buttons, work) {
  if (busy) return;
  busy = true;
  for (const b of buttons) b.disabled = true;
  try {
    await work();
  } finally {
    busy = false;
    for (const b of buttons) b.disabled = false;
  }
}

function formMessage(text, ok = false) {
  $('form-message').textContent = text;
  $('form-message').className = ok ? 'message ok' : 'message';
}

function explain(error) {
  if (!(error instanceof ClientError)) return 'Something went wrong.';
  switch (error.code) {
    case 'invalid_credentials':
      return 'Wrong username or password.';
    case 'username_taken':
      return 'That username is taken.';
    case 'rate_limited':
      return `Too many attempts; try again in ${error.retryAfter ?? 'a few'} seconds.`;
    case 'network_error':
      return 'The server cannot be reached.';
    default:
      return error.message;
  }
}

function credentials() {
  return { username: $('username').value.trim(), password: $('password').value };
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void withBusy([$('login'), $('register')], async () => {
    formMessage('');
    try {
      await client.login(credentials());
      $('password').value = '';
    } catch (error) {
      formMessage(explain(error));
    }
  });
});

$('register').addEventListener('click', () => {
  void withBusy([$('login'), $('register')], async () => {
    formMessage('');
    try {
      await client.register(credentials());
      formMessage('Account created. Logging in…', true);
      await client.login(credentials());
      $('password').value = '';
      formMessage('');
    } catch (error) {
      formMessage(explain(error));
    }
  });
});

let calls = 0;
$('call-me').addEventListener('click', async () => {
  const answer = $('me-answer');
  const call = ++calls;
  try {
    const response = await client.fetch('/auth/me');
    const body = await response.text();
    let pretty = body;
    try {
      pretty = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // not JSON: shown as it is
    }
    answer.textContent = `${response.status} ${response.ok ? 'OK' : response.statusText} · call ${call} at ${new Date().toLocaleTimeString()}\n${pretty}`;
    answer.className = response.ok ? 'answer ok' : 'answer error';
  } catch (error) {
    answer.textContent = explain(error);
    answer.className = 'answer error';
  }
  answer.dataset.call = String(call);
});

$('refresh-now').addEventListener('click', () => {
  client.refresh().catch(() => undefined); // a refused refresh signs out through the sessionExpired event
});

$('logout').addEventListener('click', () => {
  void withBusy([$('logout'), $('logout-all')], () => client.logout().catch((error) => log(`Logout: ${explain(error)}`)));
});

$('logout-all').addEventListener('click', () => {
  void withBusy([$('logout'), $('logout-all')], () => client.logoutAll().catch((error) => log(`Logout everywhere: ${explain(error)}`)));
});

$('reload-sessions').addEventListener('click', () => void loadSessions());

// ——— sessions (devices) ———

function device(userAgent) {
  if (!userAgent) return 'Unknown device';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(userAgent)
        ? 'Chromium'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : userAgent.split(/[/ ]/)[0];
  const system = /Windows/.test(userAgent)
    ? 'Windows'
    : /Mac OS/.test(userAgent)
      ? 'macOS'
      : /Android/.test(userAgent)
        ? 'Android'
        : /Linux/.test(userAgent)
          ? 'Linux'
          : '';
  return system ? `${browser} on ${system}` : browser;
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

async function loadSessions() {
  const response = await client.fetch('/auth/sessions');
  if (!response.ok) return;
  const sessions = await response.json();
  const rows = sessions.map((s) => {
    const row = document.createElement('tr');
    const name = document.createElement('td');
    name.textContent = device(s.user_agent);
    if (s.current) {
      const mark = document.createElement('span');
      mark.className = 'current';
      mark.textContent = 'this tab';
      name.append(mark);
    }
    const cells = [s.ip ?? '—', ago(s.created_at), ago(s.last_used_at)].map((text) => {
      const cell = document.createElement('td');
      cell.textContent = text;
      return cell;
    });
    const action = document.createElement('td');
    const revoke = document.createElement('button');
    revoke.className = 'revoke';
    revoke.textContent = 'Revoke';
    revoke.addEventListener('click', () => void revokeSession(s.id, revoke));
    action.append(revoke);
    row.append(name, ...cells, action);
    return row;
  });
  $('sessions').replaceChildren(...rows);
}

async function revokeSession(id, button) {
  button.disabled = true;
  const response = await client.fetch(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  log(response.ok ? 'Session revoked' : `Revoke refused (${response.status})`);
  // Revoking this tab's own session ends it: the next call says so and the client signs out.
  await loadSessions();
}

// ——— start ———

$('status').textContent = 'Restoring session…';
client
  .restore()
  .then((session) => {
    if (!session.signedIn) leave('Signed out');
  })
  .catch((error) => leave(`Signed out (${explain(error)})`));

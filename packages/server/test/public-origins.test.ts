// TESSERA_PUBLIC_ORIGINS against TESSERA_CORS_ORIGINS (docs/architecture.md "Transports"): a page on another
// origin reaches the cookie routes only through CORS, so every public origin but the server's own must be a
// CORS origin. The server's own origin is not known from settings: at most one listed origin may be left out.
import { describe, expect, it } from 'vitest';
import { loadConfig, ServerConfigError } from '../src/settings.js';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ServerConfigError)) throw err;
    return err.problems;
  }
}

describe('public origins need CORS, except the server’s own', () => {
  it('refuses two public origins that are not CORS origins, in one sentence naming both variables', () => {
    const found = problems({ TESSERA_PUBLIC_ORIGINS: 'https://app.example, https://admin.example' });
    expect(found).toEqual([
      "TESSERA_PUBLIC_ORIGINS lists https://app.example, https://admin.example, which TESSERA_CORS_ORIGINS does not, but a page on another origin needs CORS to use cookie credentials: add to TESSERA_CORS_ORIGINS every public origin except the server's own (at most one may be left out).",
    ]);
  });

  it('names only the origins CORS lacks', () => {
    const found = problems({
      TESSERA_PUBLIC_ORIGINS: 'https://app.example,https://admin.example,https://auth.example',
      TESSERA_CORS_ORIGINS: 'https://admin.example',
    });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^TESSERA_PUBLIC_ORIGINS lists https:\/\/app\.example, https:\/\/auth\.example, which TESSERA_CORS_ORIGINS does not/);
  });

  it('takes the one public origin outside CORS to be the server’s own', () => {
    expect(problems({ TESSERA_PUBLIC_ORIGINS: 'https://auth.example' })).toEqual([]);
    expect(problems({ TESSERA_PUBLIC_ORIGINS: 'https://app.example,https://auth.example', TESSERA_CORS_ORIGINS: 'https://app.example' })).toEqual([]);
    expect(
      problems({
        TESSERA_PUBLIC_ORIGINS: 'https://app.example,https://admin.example',
        TESSERA_CORS_ORIGINS: 'https://admin.example,https://app.example,https://other.example',
      }),
    ).toEqual([]);
    // Unset public origins (the request's own origin) need nothing of CORS, and CORS alone is fine.
    expect(problems({ TESSERA_CORS_ORIGINS: 'https://app.example' })).toEqual([]);
  });

  it('compares origins as the browser writes them: a public origin is normalised, a CORS origin must already be', () => {
    // The CORS hook matches the Origin header exactly, and browsers send lower case without a default port.
    expect(problems({ TESSERA_PUBLIC_ORIGINS: 'https://APP.example:443,https://auth.example', TESSERA_CORS_ORIGINS: 'https://app.example' })).toEqual(
      [],
    );
    expect(
      problems({ TESSERA_PUBLIC_ORIGINS: 'https://app.example,https://auth.example', TESSERA_CORS_ORIGINS: 'https://app.example/' }),
    ).toHaveLength(1);
  });
});

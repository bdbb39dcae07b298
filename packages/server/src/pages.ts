// Server-rendered pages: no inline script, so the CSP can forbid it.

/** The part of the OpenAPI document the docs page reads. */
export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, { summary?: string; tags?: string[]; security?: Record<string, unknown>[] }>>;
  components?: { securitySchemes?: Record<string, { type: string; in?: string; name?: string }> };
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
code{background:#f1f3f7;padding:.1rem .3rem;border-radius:4px}h1{margin-bottom:.2rem}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ec}.m{font-weight:600;font-family:monospace}`;

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function homePage(): string {
  return layout(
    'Tessera',
    `<h1>Tessera</h1><p>The auth server is running.</p><ul><li><a href="/docs">API documentation</a> (<a href="/openapi.json">OpenAPI</a>)</li><li><a href="/.well-known/jwks.json">JWKS</a></li><li><a href="/healthz">Health</a> · <a href="/readyz">Readiness</a></li></ul>`,
  );
}

/** What an operation's security requirements ask for, in words: "Bearer access token, or __Host-tessera-access cookie + X-CSRF-Token header". */
function credentials(doc: OpenApiDocument, security: readonly Record<string, unknown>[] | undefined): string {
  const schemes = doc.components?.securitySchemes ?? {};
  const name = (key: string): string => {
    const scheme = schemes[key];
    return scheme?.type === 'apiKey'
      ? `${scheme.name ?? key} ${scheme.in ?? ''}`.trim()
      : `Bearer ${key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)}`;
  };
  const ways = (security ?? []).map((requirement) =>
    Object.keys(requirement).length === 0 ? 'a body token' : Object.keys(requirement).map(name).join(' + '),
  );
  return ways.length === 0 ? '' : ` <em>(${escape(ways.join(', or '))})</em>`;
}

export function docsPage(doc: OpenApiDocument): string {
  const rows = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(
      ([method, op]) =>
        `<tr><td class="m">${escape(method.toUpperCase())}</td><td><code>${escape(path)}</code></td><td>${escape(op.summary ?? '')}${credentials(doc, op.security)}</td></tr>`,
    ),
  );
  return layout(
    `${doc.info.title} API`,
    `<h1>${escape(doc.info.title)} API</h1><p>${escape(doc.info.description ?? '')} Version ${escape(doc.info.version)}. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p><p>Errors are JSON <code>{"error": "&lt;code&gt;", "message": "…"}</code>.</p><table><thead><tr><th>Method</th><th>Path</th><th>What</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  );
}

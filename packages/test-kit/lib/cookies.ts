// Cookies as a browser keeps them, by hand: Set-Cookie lines taken apart and folded into a jar, and the
// Cookie header a jar sends.

/** A `Set-Cookie` line taken apart (attribute names in lower case). */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

export function parseSetCookie(line: string): SetCookie {
  const [pair = '', ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const [k = '', v = ''] = part.split('=');
    attributes.set(k.trim().toLowerCase(), v.trim());
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/**
 * `jar` (name → value) with the Set-Cookie lines applied, the last of a name winning; a cleared cookie
 * (empty value or Max-Age=0) is dropped, unless `keepCleared` (then it stays, with its empty value).
 */
export function jarOf(
  setCookies: readonly string[],
  jar: Readonly<Record<string, string>> = {},
  options: { keepCleared?: boolean } = {},
): Record<string, string> {
  const next = new Map(Object.entries(jar));
  for (const line of setCookies) {
    const c = parseSetCookie(line);
    if (!line.split(';')[0]?.includes('=')) continue;
    if (options.keepCleared !== true && (c.value === '' || c.attributes.get('max-age') === '0')) next.delete(c.name);
    else next.set(c.name, c.value);
  }
  return Object.fromEntries(next);
}

/** The Cookie header of a jar: `a=1; b=2`. */
export function cookieHeader(cookies: Readonly<Record<string, string>>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** The Set-Cookie line of one cookie. */
export function setCookieOf(setCookies: readonly string[], name: string): string | undefined {
  return setCookies.find((line) => line.startsWith(`${name}=`));
}

// `tessera token decode`: what a token says and whether this server accepts it, in words.
import { TesseraError, type Tessera } from '@tessera/auth';

export function decodeToken(token: string, auth: Tessera, now: number): string {
  const parts = token.trim().split('.');
  const decode = (segment: string | undefined): unknown => {
    try {
      return JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  };
  const header = decode(parts[0]);
  const claims = decode(parts[1]) as Record<string, unknown> | undefined;
  const lines = [`header: ${JSON.stringify(header) ?? '(not JSON)'}`, `claims: ${JSON.stringify(claims, null, 2) ?? '(not JSON)'}`];
  if (typeof claims?.exp === 'number') {
    const seconds = Math.round(claims.exp - now / 1000);
    lines.push(
      seconds > 0
        ? `expires in ${words(seconds)} (${new Date(claims.exp * 1000).toISOString()})`
        : `expired ${words(-seconds)} ago (${new Date(claims.exp * 1000).toISOString()})`,
    );
  }
  const kind = claims?.type === 'refresh' ? 'refresh' : 'access';
  try {
    if (kind === 'refresh') auth.verifyRefreshToken(token.trim());
    else auth.verifyAccessToken(token.trim());
    lines.push(`verified: yes, a valid ${kind} token for this server (session revocation not checked here)`);
  } catch (err) {
    lines.push(`verified: no — ${err instanceof TesseraError ? `${err.code}: ${err.message}` : String(err)}`);
  }
  return lines.join('\n');
}

function words(seconds: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) if (seconds >= size) return `${Math.floor(seconds / size)} ${name}${Math.floor(seconds / size) === 1 ? '' : 's'}`;
  return '0 seconds';
}

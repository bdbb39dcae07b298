import type { ErrorCode } from '../protocol/protocol.js';
import { text } from './text.js';

/** Codes the client itself gives, beside the server's wire codes. */
export type ClientOnlyCode =
  /** The server could not be reached (no HTTP answer). */
  | 'network_error'
  /** The call needs a session and there is none. */
  | 'signed_out'
  /** An automatic refresh was skipped: the last one failed and the cooldown has not passed. */
  | 'refresh_cooldown'
  /** A refresh answered after a logout or a new login made its result stale: it was dropped. */
  | 'refresh_discarded'
  /** The server answered something that is not a Tessera answer. */
  | 'invalid_response';

/** A stable code: one of the server's (`token_expired`, `invalid_credentials`, …) or the client's own. */
export type ClientErrorCode = ErrorCode | ClientOnlyCode;

/**
 * What the client throws: `code` is the stable wire code of the server's `{error, message}` answer
 * (or one of the client's own codes), `status` the HTTP status when there was an answer.
 * @example try { await client.login(creds) } catch (err) { if (err instanceof ClientError && err.code === 'invalid_credentials') … }
 */
export class ClientError extends Error {
  /** The stable code; an unknown server code is passed through as it came. */
  declare readonly code: ClientErrorCode | (string & {});
  /** The HTTP status, or undefined when no answer came. */
  declare readonly status: number | undefined;
  /** Seconds to wait before trying again, from `Retry-After`, when the server sent one. */
  declare readonly retryAfter: number | undefined;

  constructor(
    code: ClientErrorCode | (string & {}),
    message: string,
    options: { status?: number | undefined; retryAfter?: number | undefined; cause?: unknown } = {},
  ) {
    super(message, options); // Error reads `cause` from it, and only when present
    Object.assign(this, { name: 'ClientError', code, status: options.status, retryAfter: options.retryAfter });
  }
}

/** The server's code and message of an error answer, without consuming the caller's body. */
export async function peekError(response: Response): Promise<{ code: string | undefined; message: string | undefined }> {
  // Not JSON (or not an object): no code.
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { error?: unknown; message?: unknown } | null | undefined;
  return { code: text(body?.error), message: text(body?.message) };
}

/**
 * Turns an error answer (`{error, message}`) into a `ClientError` with its stable code.
 * @example if (!response.ok) throw await readError(response);
 */
export async function readError(response: Response): Promise<ClientError> {
  const { code, message } = await peekError(response);
  const retry = Number(response.headers.get('retry-after'));
  return new ClientError(code ?? 'invalid_response', message ?? `The server answered ${response.status}`, {
    status: response.status,
    retryAfter: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

/** The `ClientError` for a request that got no answer. */
export function networkError(cause: unknown): ClientError {
  return new ClientError('network_error', 'The server could not be reached', { cause });
}

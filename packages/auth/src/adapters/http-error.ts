// The error an adapter hands to its framework's error handling (adapter option `errors: 'throw'`).
import type { HttpResult, Refusal } from '../core/transport/error-response.js';

/**
 * A refusal handed to the framework's error handling (adapter option `errors: 'throw'`): the answer
 * Tessera would have written, as fields the frameworks read (`status`/`statusCode`, `headers`, `expose`),
 * and the stable `code`. `cause` is the `TesseraError`.
 * @example app.use((err, req, res, next) => err instanceof TesseraHttpError ? res.status(err.status).set(err.headers).end(err.body) : next(err));
 */
export class TesseraHttpError extends Error {
  readonly status: number;
  /** The same as `status`, where Fastify and `http-errors` look. */
  readonly statusCode: number;
  /** The stable code, e.g. `'token_expired'`. */
  readonly code: string;
  /** Every header of Tessera's answer (lower-case names; `set-cookie` a list), `WWW-Authenticate` included. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The JSON body Tessera would have written. */
  readonly body: string | undefined;
  /** The message is meant for the client (as `http-errors` marks it). */
  readonly expose = true;

  constructor(result: HttpResult, refusal: Refusal) {
    super(refusal.message, refusal instanceof Error ? { cause: refusal } : undefined);
    this.name = 'TesseraHttpError';
    // A refusal is an answer, not a defect: no frames, so a default handler that prints `stack` outside
    // production (Express's) shows the sentence, not the server's paths. `cause` keeps the TesseraError's.
    this.stack = `${this.name}: ${this.message}`;
    this.status = result.status;
    this.statusCode = result.status;
    this.code = refusal.code;
    this.headers = result.headers;
    this.body = result.body;
  }
}

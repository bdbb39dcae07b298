// Traces through the OpenTelemetry API: a no-op until the process registers an SDK (docs/operations.md),
// so a server without one pays for one non-recording span per traced call and nothing else. Spans name
// a session by `sidHash` only, and never carry a token, a password, a username or an error message
// (a driver's message may quote a value): an error is its type or stable code.
import { createHash } from 'node:crypto';
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type SpanOptions } from '@opentelemetry/api';
import { TesseraError, type SessionEvent } from '@tessera/auth';

/** The tracer's name: the instrumentation scope an operator filters on. */
export const TRACER_NAME = '@tessera/server';

/** The span attribute that names a session: `sidHash(sid)`. */
export const SID_HASH = 'tessera.session.id_hash';

/** A proxy that finds the SDK's tracer at the first span after one is registered (later than this module may load). */
const tracer = trace.getTracer(TRACER_NAME);
const INTERNAL: SpanOptions = { kind: SpanKind.INTERNAL };

/**
 * The first 16 hex characters (64 bits) of SHA-256 of a session id. Unkeyed on purpose: a session id
 * is 128 random bits, so its hash cannot be reversed or guessed, and the same value on every instance
 * and across restarts lets one session's traces be joined up and found from its id (a per-process
 * HMAC key would break both and hide nothing more).
 * @example span.setAttribute(SID_HASH, sidHash(identity.sid));
 */
export function sidHash(sid: string): string {
  return createHash('sha256').update(sid).digest('hex').slice(0, 16);
}

/**
 * Starts a span under the active one, or answers undefined when it would not be recorded (no SDK, or
 * sampled out): the caller then runs its work bare, with no context switch and no closure.
 * @example const span = startSpan('tessera.verify'); if (span === undefined) return work(); return within(span, work);
 */
export function startSpan(name: string, attributes?: Attributes): Span | undefined {
  const span = tracer.startSpan(name, attributes === undefined ? INTERNAL : { kind: SpanKind.INTERNAL, attributes });
  if (span.isRecording()) return span;
  span.end();
  return undefined;
}

/**
 * Runs `work` with `span` active, so the spans it starts (store calls) are its children; ends the
 * span however `work` ends, marking a throw as an error by its type only.
 * @example return within(span, () => store.get(id));
 */
export function within<T>(span: Span, work: () => Promise<T>): Promise<T> {
  return active(span, async () => {
    try {
      return await work();
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs `work` with `span` active, leaving the span open.
 * @example const result = await active(span, () => store.get(id)); span.end();
 */
export function active<T>(span: Span, work: () => Promise<T>): Promise<T> {
  return context.with(trace.setSpan(context.active(), span), work);
}

/** Marks a span as failed by the error's stable code (a refusal) or its class name, never its message. */
export function failed(span: Span, err: unknown): void {
  const type = err instanceof TesseraError ? err.code : err instanceof Error ? err.name : typeof err;
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Puts a session event (`onEvent`) on the span of the work that caused it (a login, a refresh, a
 * guard), with the session hashed; the span of a login or refresh is named by the session it made.
 * @example onEvent: (event) => { metrics.record(event); traceEvent(event); }
 */
export function traceEvent(event: SessionEvent): void {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return;
  const sid = sidHash(event.sid);
  if (event.type !== 'session_revoked') span.setAttribute(SID_HASH, sid);
  span.addEvent(`tessera.${event.type}`, event.reason === undefined ? { [SID_HASH]: sid } : { [SID_HASH]: sid, 'tessera.reason': event.reason });
}

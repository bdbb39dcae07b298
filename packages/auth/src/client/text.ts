// Reading untrusted fields (of an answer, a stored value or another tab's message), shared by
// several client modules and kept apart so none imports another for it.

/** A non-empty string, or undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

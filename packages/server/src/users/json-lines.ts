// Lines of a file read as a stream, each at most `maxBytes`: a longer line is reported by its
// number and never held whole in memory (a hostile 1 GB line costs no more than a short one).
import { TextDecoder } from 'node:util';

export type TextLine =
  { readonly number: number; readonly text: string } | { readonly number: number; readonly problem: 'line_too_long' | 'not_utf8' };

const NEWLINE = 0x0a;

/** The lines of `source` (LF or CRLF), numbered from 1; blank lines are skipped but counted. */
export async function* textLines(source: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<TextLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  let number = 1;
  const finish = (): TextLine | undefined => {
    if (tooLong) return { number, problem: 'line_too_long' };
    let text: string;
    try {
      text = decoder.decode(Buffer.concat(parts, size));
    } catch {
      return { number, problem: 'not_utf8' };
    }
    // A byte-order mark may open the file only.
    if (number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    text = text.replace(/\r$/, '');
    return text.trim() === '' ? undefined : { number, text };
  };
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const newline = bytes.indexOf(NEWLINE, start);
      const piece = bytes.subarray(start, newline === -1 ? bytes.length : newline);
      if (!tooLong) {
        if (size + piece.length > maxBytes) {
          tooLong = true;
          parts = [];
        } else {
          parts.push(Buffer.from(piece));
          size += piece.length;
        }
      }
      if (newline === -1) break;
      const line = finish();
      if (line !== undefined) yield line;
      number++;
      parts = [];
      size = 0;
      tooLong = false;
      start = newline + 1;
    }
  }
  if (size > 0 || tooLong) {
    const line = finish();
    if (line !== undefined) yield line;
  }
}

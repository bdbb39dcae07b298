import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, README, renderConfigDoc, renderOptionsTable, renderReadme, renderSettingsTable } from '../scripts/config-docs.js';

describe('docs/configuration.md', () => {
  it('carries the options table generated from the defaults table (run scripts/config-docs.ts after changing defaults)', () => {
    const current = readFileSync(CONFIG_DOC, 'utf8');
    expect(renderConfigDoc(current)).toBe(current);
  });

  it('README.md carries the server settings table generated from the settings table', () => {
    const current = readFileSync(README, 'utf8');
    expect(renderReadme(current)).toBe(current);
  });

  it('generates the README settings table byte for byte as before the settings took their checks and sentences from the library', () => {
    // SHA-256 of the generated tables: the README's was the same before and after the library's table and the server's
    // became one (the library's sentences took the server's wording); settings added since change it. A sentence that changes on purpose
    // changes these (regenerate the docs, then update the digest).
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(sha256(renderSettingsTable())).toBe('e61d6cbcdd44b51600b1ce458d2b692874154f196dd1a68d46df2ad9257b794b');
    expect(sha256(renderOptionsTable())).toBe('dff48fd3fe96df3e5794cffc00ee4ec8f978227a4ffb98f87f6ad5b2c6dfd3c1');
  });
});

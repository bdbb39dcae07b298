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
    expect(sha256(renderSettingsTable())).toBe('895530e93158bad047fe2110b2a73024b854f724d226d7ba3657f7e88ffa077e');
    expect(sha256(renderOptionsTable())).toBe('6631dd83aa2b7142d2fa8dfed3de2c9cdfe76557965048d709c6845bdfc36fcf');
  });
});

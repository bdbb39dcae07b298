import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, README, renderConfigDoc, renderReadme } from '../scripts/config-docs.js';

describe('docs/configuration.md', () => {
  it('carries the options table generated from the defaults table (run scripts/config-docs.ts after changing defaults)', () => {
    const current = readFileSync(CONFIG_DOC, 'utf8');
    expect(renderConfigDoc(current)).toBe(current);
  });

  it('README.md carries the server settings table generated from the settings table', () => {
    const current = readFileSync(README, 'utf8');
    expect(renderReadme(current)).toBe(current);
  });
});

// docs/library.md documents every option a user can set: each property of every public options type,
// read from the entries' own type declarations with the TypeScript checker, is named there in backticks
// (its "Every option" section), so an option added to the code without a line in the guide fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../packages/auth/src/core/config/defaults.js';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'packages', 'auth', 'src');

/** Each public entry (its source) and the options types it exports. */
const ENTRIES: Record<string, readonly string[]> = {
  'index.ts': [
    'TesseraOptions',
    'SessionOptions',
    'DpopOptions',
    'KeyOptions',
    'KeyInput',
    'KeyRingInput',
    'AuthenticateOptions',
    'GuardOptions',
    'RefreshRequestOptions',
    'AdapterOptions',
    'LoginOptions',
    'RefreshOptions',
    'PurgeOptions',
  ],
  'stores/sqlite.ts': ['SqliteStoreOptions', 'SqlStoreOptions'],
  'stores/postgres.ts': ['PostgresStoreOptions', 'SqlStoreOptions'],
  'stores/memory.ts': ['MemoryThrottleOptions', 'ThrottleRule'],
  'stores/redis/index.ts': ['RedisBusOptions', 'RedisThrottleOptions', 'RedisConnectionOptions', 'RedisTimingOptions'],
  'client/index.ts': ['ClientOptions', 'CookieJarOptions'],
  'client/legacy.ts': ['LegacyExchangeOptions'],
  'client/dpop.ts': ['DpopBindingOptions'],
  'remote/index.ts': ['RemoteVerifierOptions', 'RemoteDpopOptions'],
  'adapters/fastify.ts': ['FastifyTesseraOptions'],
  'adapters/nest/index.ts': ['TesseraModuleOptions', 'TesseraModuleAsyncOptions'],
  'adapters/next/index.ts': ['NextTesseraOptions', 'ProxyOptions', 'RequireSessionOptions', 'SessionOptions'],
};

/** The source file of each public entry of the package, from its `exports` map (`./dist/x.js` is built from `x.ts`). */
function entrySources(): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', 'auth', 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default: string }>;
  };
  return Object.values(manifest.exports)
    .flatMap((target) => (typeof target === 'string' ? [] : [target.default]))
    .map((built) => built.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
}

/**
 * The property names of an exported type, through intersections and unions (`a | b` options give both sides'), and
 * one level down into options that are objects of options themselves (`sessions`, `cookies`, `locations`), as
 * `parent.child`.
 */
function optionNames(checker: ts.TypeChecker, module: ts.Symbol, name: string): string[] {
  const symbol = checker.getExportsOfModule(module).find((s) => s.name === name);
  if (symbol === undefined) throw new Error(`${module.name} exports no ${name}`);
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const type = checker.getDeclaredTypeOfSymbol(target);
  const props = (t: ts.Type): ts.Symbol[] => (t.isUnion() ? t.types : [t]).flatMap((part) => checker.getPropertiesOfType(part));
  const names = props(type).flatMap((prop) => {
    const inner = checker.getNonNullableType(checker.getTypeOfSymbol(prop));
    const innerName = inner.aliasSymbol?.name ?? inner.getSymbol()?.name ?? '';
    const nested = inner.getCallSignatures().length === 0 && (innerName === '__type' || innerName.endsWith('Options'));
    return [prop.name, ...(nested ? props(inner).map((child) => `${prop.name}.${child.name}`) : [])];
  });
  return [...new Set(names)];
}

describe('docs/library.md names every option', () => {
  const files = [...new Set([...Object.keys(ENTRIES), ...entrySources()])].map((file) => join(SRC, file));
  const program = ts.createProgram(files, {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    experimentalDecorators: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const text = readFileSync(join(ROOT, 'docs', 'library.md'), 'utf8');
  // The "Every option" section only: a name that happens to appear elsewhere does not document it.
  const start = text.indexOf('\n## Every option');
  const next = text.indexOf('\n## ', start + 1);
  const guide = start < 0 ? '' : text.slice(start, next < 0 ? undefined : next);

  it('has an "Every option" section', () => {
    expect(guide.length).toBeGreaterThan(1000);
  });

  it("gives createTessera's defaults as the table of defaults has them", () => {
    const wrong: string[] = [];
    for (const [name, { value }] of Object.entries(DEFAULTS)) {
      const option = name.startsWith('sessions.') ? name.slice('sessions.'.length) : name;
      const row = guide.split('\n').find((line) => new RegExp(`^\\|\\s*\`${option}\`\\s*\\|`).test(line));
      const shown =
        typeof value === 'string'
          ? `'${value}'`
          : typeof value === 'object'
            ? JSON.stringify(value).replace(/"/g, "'").replace(/,/g, ', ')
            : String(value);
      const expected = typeof value === 'object' && !Array.isArray(value) ? shown.replace(/'(\w+)':/g, '$1: ').replace(/: {2}/g, ': ') : shown;
      if (row === undefined || (!row.includes(`\`${expected.replace(/^\{/, '{ ').replace(/\}$/, ' }')}\``) && !row.includes(`\`${expected}\``)))
        wrong.push(`${name}: expected \`${expected}\` in ${row ?? '(no row)'}`);
    }
    expect(wrong).toEqual([]);
  });

  it('checks every options type that an entry exports (ENTRIES lists them all)', () => {
    const sources = entrySources();
    expect(sources.length).toBeGreaterThan(10);
    const unlisted: string[] = [];
    for (const file of sources) {
      const source = program.getSourceFile(join(SRC, file));
      const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
      expect(module, file).toBeDefined();
      const listed = new Set(Object.values(ENTRIES).flat());
      for (const symbol of checker.getExportsOfModule(module!))
        if (/Options$/.test(symbol.name) && !listed.has(symbol.name)) unlisted.push(`${file}: ${symbol.name}`);
    }
    expect(unlisted).toEqual([]);
  });

  it.each(Object.entries(ENTRIES))('%s', (file, types) => {
    const source = program.getSourceFile(join(SRC, file));
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    expect(module, file).toBeDefined();
    const missing: string[] = [];
    for (const type of types) {
      const names = optionNames(checker, module!, type);
      expect(names.length, type).toBeGreaterThan(0);
      // Named as `name`, `name.sub` or `name(…)`; a nested option as `parent.child`, or `child` in its parent's table.
      for (const name of names) {
        const forms = [name, name.split('.').at(-1) ?? name].map((n) => n.replace(/\./g, '\\.'));
        if (!forms.some((form) => new RegExp('`' + form + '[`.(]').test(guide))) missing.push(`${type}.${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/**
 * The workspace keeps its shape (layers.ts): no import cycle in any
 * package, packages import only those below them, and the master's layers
 * only import downwards. The table shows the checker catching each kind of
 * breach on small made-up graphs, so a green workspace means something.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { breachesOf, checkWorkspace, type PackageRules } from './import-check.js';
import { cyclesOf, type PackageGraph } from './import-graph.js';

function graph(imports: ReadonlyArray<readonly [string, string]>, packageImports: Record<string, string> = {}): PackageGraph {
  const files = [...new Set(imports.flat())].sort();
  return { name: 'pkg', files, imports: imports.map(([from, to]) => ({ from, to })), packageImports: new Map(Object.entries(packageImports)) };
}

const LAYERED: PackageRules = { mayImport: ['common'], layers: [['model'], ['state'], ['api'], ['main.ts']] };

describe('the import checker', () => {
  it.each([
    { name: 'imports that point down', imports: [['api/a.ts', 'state/s.ts'], ['state/s.ts', 'model/m.ts'], ['main.ts', 'api/a.ts']], rules: LAYERED, expected: [] },
    { name: 'imports within one folder', imports: [['state/a.ts', 'state/b.ts'], ['state/b.ts', 'model/m.ts']], rules: LAYERED, expected: [] },
    {
      name: 'a lower layer importing a higher one',
      imports: [['state/s.ts', 'api/a.ts']],
      rules: LAYERED,
      expected: ['pkg: state/s.ts imports api/a.ts, a higher layer'],
    },
    {
      name: 'two files importing each other',
      imports: [['state/a.ts', 'state/b.ts'], ['state/b.ts', 'state/a.ts']],
      rules: LAYERED,
      expected: ['pkg: import cycle between files state/a.ts, state/b.ts'],
    },
    {
      name: 'folders importing each other without a file cycle (no layers declared)',
      imports: [['x/a.ts', 'y/b.ts'], ['y/c.ts', 'x/d.ts']],
      rules: { mayImport: [] },
      expected: ['pkg: import cycle between x, y (x/a.ts -> y/b.ts; y/c.ts -> x/d.ts)'],
    },
    { name: 'a folder in no layer', imports: [['extra/e.ts', 'model/m.ts']], rules: LAYERED, expected: ['pkg: extra is in no layer (add it to the layers)'] },
  ])('$name', ({ imports, rules, expected }) => {
    expect(breachesOf(graph(imports as Array<[string, string]>), rules)).toEqual(expected);
  });

  it('refuses an import of a package that is not below', () => {
    expect(breachesOf(graph([['model/m.ts', 'model/n.ts']], { cli: 'model/m.ts' }), LAYERED)).toEqual(['pkg: model/m.ts imports @drover/cli, which pkg may not use']);
  });

  it('finds each cycle once, however long, and leaves acyclic parts alone', () => {
    expect(
      cyclesOf(
        ['a', 'b', 'c', 'd', 'e', 'f'],
        [
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'a'],
          ['c', 'd'],
          ['e', 'e'],
          ['f', 'a'],
        ],
      ),
    ).toEqual([['a', 'b', 'c'], ['e']]);
  });
});

describe('the workspace', () => {
  it('has no import cycle and no upward import in any package', () => {
    expect(checkWorkspace(path.resolve(import.meta.dirname, '../..'))).toEqual([]);
  });
});

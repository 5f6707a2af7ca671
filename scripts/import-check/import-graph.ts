/**
 * The import graph of the workspace's packages, read from their sources:
 * every relative import between the files of a package, and every import of
 * another workspace package (`@drover/...`). Test files (`*.test.ts`) are
 * left out: nothing imports them, so they cannot close a cycle, and a test
 * may use the test support of any layer.
 *
 * The parser is TypeScript's own import scanner (`ts.preProcessFile`), so
 * `import`, `import type`, `export ... from` and `import()` all count.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import of a file by another file of the same package. */
export interface FileImport {
  /** The importing file, relative to the package's src/ (e.g. "orchestrator/orchestrator.ts"). */
  readonly from: string;
  /** The imported file, relative to the same src/. */
  readonly to: string;
}

/** What one package's sources import. */
export interface PackageGraph {
  /** The package's folder name under packages/ (e.g. "master"). */
  readonly name: string;
  /** Every source file, relative to src/. */
  readonly files: readonly string[];
  /** Imports between its files. */
  readonly imports: readonly FileImport[];
  /** Workspace packages it imports (by folder name), with one importing file each for the message. */
  readonly packageImports: ReadonlyMap<string, string>;
}

/** Reads the graph of packages/<name>/src (generated code under src/gen is skipped: it is not written by hand). */
export function readPackageGraph(repoRoot: string, name: string): PackageGraph {
  const src = path.join(repoRoot, 'packages', name, 'src');
  const files = listSources(src);
  const known = new Set(files);
  const imports: FileImport[] = [];
  const packageImports = new Map<string, string>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(src, file), 'utf8');
    for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
      const workspace = /^@drover\/([^/]+)/.exec(specifier);
      if (workspace?.[1] !== undefined) {
        if (workspace[1] !== name && !packageImports.has(workspace[1])) packageImports.set(workspace[1], file);
        continue;
      }
      if (!specifier.startsWith('.')) continue;
      if (path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).startsWith('gen/')) continue;
      const to = resolveRelative(file, specifier, known);
      if (to === undefined) throw new Error(`${name}/src/${file}: cannot resolve import '${specifier}'`);
      imports.push({ from: file, to });
    }
  }
  return { name, files, imports, packageImports };
}

/** The source files under `src`, relative to it, sorted; tests and generated code excluded. */
function listSources(src: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(src, dir), { withFileTypes: true })) {
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (rel !== 'gen') walk(rel);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
        out.push(rel);
      }
    }
  };
  walk('');
  return out.sort();
}

/** `./x.js` from `a/b.ts` -> `a/x.ts` (NodeNext imports name the emitted .js file). */
function resolveRelative(from: string, specifier: string, known: ReadonlySet<string>): string | undefined {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = [joined.replace(/\.js$/, '.ts'), joined, `${joined}.ts`, `${joined}/index.ts`];
  return candidates.find((c) => known.has(c));
}

/**
 * The unit a file belongs to in the folder graph: its top folder under src/
 * ("orchestrator/plan-applier.ts" -> "orchestrator"). A file at the top of
 * src/ is a unit of its own ("master.ts"): the top holds both the package's
 * entry points and small shared modules, which sit at opposite ends.
 */
export function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? file : file.slice(0, slash);
}

/**
 * The cycles of a directed graph: each strongly connected component with
 * more than one node (or a node importing itself), as a sorted node list.
 */
export function cyclesOf(nodes: Iterable<string>, edges: Iterable<readonly [string, string]>): string[][] {
  const next = new Map<string, Set<string>>();
  for (const n of nodes) next.set(n, new Set());
  const selfLoops = new Set<string>();
  for (const [a, b] of edges) {
    if (!next.has(a)) next.set(a, new Set());
    if (!next.has(b)) next.set(b, new Set());
    next.get(a)?.add(b);
    if (a === b) selfLoops.add(a);
  }
  // Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of next.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; children: Iterator<string> }> = [];
    const visit = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: (next.get(node) ?? new Set<string>()).values() });
    };
    visit(root);
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string; children: Iterator<string> };
      const child = top.children.next();
      if (!child.done) {
        const c = child.value;
        if (!index.has(c)) visit(c);
        else if (onStack.has(c)) low.set(top.node, Math.min(low.get(top.node) as number, index.get(c) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let n: string | undefined;
        do {
          n = stack.pop() as string;
          onStack.delete(n);
          component.push(n);
        } while (n !== top.node);
        if (component.length > 1 || selfLoops.has(top.node)) components.push(component.sort());
      }
    }
  }
  return components.sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

/**
 * Checks the workspace's imports against the shape in layers.ts and lists
 * every breach, each as one line naming the file and the import.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cyclesOf, folderOf, type PackageGraph, readPackageGraph } from './import-graph.js';
import { MASTER_LAYERS, PACKAGE_DEPENDENCIES } from './layers.js';

/** The rules one package is held to. */
export interface PackageRules {
  /** Workspace packages it may import. */
  readonly mayImport: readonly string[];
  /** Its layers bottom first (units of src/), when it declares them. */
  readonly layers?: readonly (readonly string[])[];
}

/** Every breach of `rules` in one package's graph. */
export function breachesOf(graph: PackageGraph, rules: PackageRules): string[] {
  const out: string[] = [];
  for (const [pkg, file] of graph.packageImports) {
    if (!rules.mayImport.includes(pkg)) out.push(`${graph.name}: ${file} imports @drover/${pkg}, which ${graph.name} may not use`);
  }
  for (const cycle of cyclesOf(graph.files, graph.imports.map((i) => [i.from, i.to] as const))) {
    out.push(`${graph.name}: import cycle between files ${cycle.join(', ')}`);
  }
  const crossing = graph.imports.filter((i) => folderOf(i.from) !== folderOf(i.to));
  const units = new Set(graph.files.map(folderOf));
  for (const cycle of cyclesOf(units, crossing.map((i) => [folderOf(i.from), folderOf(i.to)] as const))) {
    const edges = crossing.filter((i) => cycle.includes(folderOf(i.from)) && cycle.includes(folderOf(i.to)));
    out.push(`${graph.name}: import cycle between ${cycle.join(', ')} (${edges.map((e) => `${e.from} -> ${e.to}`).join('; ')})`);
  }
  if (rules.layers) {
    const rank = new Map<string, number>();
    rules.layers.forEach((units, i) => units.forEach((u) => rank.set(u, i)));
    for (const unit of new Set(graph.files.map(folderOf))) {
      if (!rank.has(unit)) out.push(`${graph.name}: ${unit} is in no layer (add it to the layers)`);
    }
    for (const i of crossing) {
      const from = rank.get(folderOf(i.from));
      const to = rank.get(folderOf(i.to));
      if (from !== undefined && to !== undefined && to > from) out.push(`${graph.name}: ${i.from} imports ${i.to}, a higher layer`);
    }
  }
  return out;
}

/** The rules of each package, from layers.ts. */
export function workspaceRules(name: string): PackageRules {
  return {
    mayImport: PACKAGE_DEPENDENCIES[name] ?? [],
    ...(name === 'master' ? { layers: MASTER_LAYERS } : {}),
  };
}

/** Every breach in the workspace at `repoRoot`. */
export function checkWorkspace(repoRoot: string): string[] {
  const packages = fs.readdirSync(path.join(repoRoot, 'packages')).filter((p) => fs.existsSync(path.join(repoRoot, 'packages', p, 'src')));
  const out: string[] = [];
  for (const name of packages.sort()) {
    if (PACKAGE_DEPENDENCIES[name] === undefined) out.push(`${name}: not in PACKAGE_DEPENDENCIES (scripts/import-check/layers.ts)`);
    out.push(...breachesOf(readPackageGraph(repoRoot, name), workspaceRules(name)));
  }
  return out;
}

/**
 * The layer rule of docs/ARCHITECTURE.md ("Layers"), as a function the architecture test runs on the repository and,
 * in a test of the test, on made-up graphs: every module has a floor (the most specific path of the floor table that
 * contains it); an import may go to its own floor or below, never above; and no set of modules imports each other in a
 * circle. Every import counts: static and type-only, `export … from`, dynamic `import()` and `require()`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** Floors by path (a folder ending in "/" or a file), relative to the repository root. */
export type FloorTable = ReadonlyArray<{ floor: number; name: string; paths: readonly string[] }>;

/** The floor table of docs/ARCHITECTURE.md: its fenced block tagged `floors` (one floor per line: `N name paths…`). */
export function floorsOf(architectureMd: string): FloorTable {
  const m = /```floors\n([\s\S]*?)```/.exec(architectureMd);
  if (!m) throw new Error('docs/ARCHITECTURE.md has no ```floors block');
  return m[1]
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => {
      const [floor, name, ...paths] = l.trim().split(/\s+/);
      if (!/^\d+$/.test(floor) || !paths.length) throw new Error(`floors: bad line "${l}"`);
      return { floor: Number(floor), name, paths };
    });
}

/** The floor of a module: the longest table path that is the file or a folder holding it; null when none is. */
export function floorOf(table: FloorTable, file: string): { floor: number; name: string; path: string } | null {
  let best: { floor: number; name: string; path: string } | null = null;
  for (const f of table)
    for (const p of f.paths) {
      const hit = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (hit && (!best || p.length > best.path.length)) best = { floor: f.floor, name: f.name, path: p };
    }
  return best;
}

const IMPORT = /(?:^|[^\w.$])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative imports of a TypeScript source (comments removed), as written. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** A relative import from `file` as the repository path of the .ts module it names. */
export function resolveImport(file: string, spec: string): string {
  const base = normalize(join(dirname(file), spec)).replace(/\\/g, '/');
  if (base.endsWith('.js')) return `${base.slice(0, -3)}.ts`;
  return base.endsWith('.ts') ? base : `${base}.ts`;
}

export interface Violation {
  file: string;
  import: string;
  message: string;
}

/** Checks a module graph (file → the modules it imports) against the floor table. */
export function checkLayers(graph: ReadonlyMap<string, readonly string[]>, table: FloorTable): Violation[] {
  const out: Violation[] = [];
  for (const [file, deps] of graph) {
    const from = floorOf(table, file);
    if (!from) {
      out.push({ file, import: '', message: `${file} is on no floor of docs/ARCHITECTURE.md` });
      continue;
    }
    for (const dep of deps) {
      const to = floorOf(table, dep);
      if (!to) out.push({ file, import: dep, message: `${file} imports ${dep}, which is on no floor` });
      else if (to.floor > from.floor)
        out.push({ file, import: dep, message: `${file} (floor ${from.floor}, ${from.name}) imports ${dep} (floor ${to.floor}, ${to.name}): an import that runs up` });
    }
  }
  for (const cycle of cycles(graph)) out.push({ file: cycle[0], import: cycle[1], message: `import circle: ${[...cycle, cycle[0]].join(' → ')}` });
  return out;
}

/** The import circles of a graph: one path around each strongly connected set of two or more modules (or a self-import). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const sccs: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  // a path around each set, for the message: from its first module back to it through the set
  return sccs.map((scc) => {
    const inSet = new Set(scc);
    const start = scc.sort()[0];
    const path = [start];
    const seen = new Set([start]);
    let cur = start;
    for (;;) {
      const next = (graph.get(cur) ?? []).find((w) => inSet.has(w) && !seen.has(w)) ?? (graph.get(cur) ?? []).find((w) => w === start);
      if (!next || next === start) break;
      path.push(next);
      seen.add(next);
      cur = next;
    }
    return path;
  });
}

/** Every .ts module under `dirs` of the repository, with its relative imports resolved. */
export function moduleGraph(root: string, dirs: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (d: string): void => {
    for (const name of readdirSync(join(root, d))) {
      const p = `${d}/${name}`;
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) graph.set(p, importsOf(readFileSync(join(root, p), 'utf8')).map((s) => resolveImport(p, s)));
    }
  };
  for (const d of dirs) if (existsSync(join(root, d))) walk(d);
  return graph;
}

export { relative };

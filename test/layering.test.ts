/**
 * The package layering, read from the import statements of the sources.
 *
 * Each part of the package sits on a level and imports only parts on lower
 * levels; parts on the same level are siblings and import neither each other
 * nor anything above. From the bottom:
 *
 *   1  errors; random                 typed errors; seeded generators (which throw them)
 *   2  tensor; kernels                the data type; Float64Array kernels (arrays, sizes, strides)
 *   3  autodiff; linalg               siblings: autodiff's matmul calls a kernel, linalg's wrappers take tensors
 *   4  nn; metrics                    layers, losses, training; scores of predictions given as tensors or arrays
 *   5  laplace                        the approximation, and the pipeline the CLI, demo and playground share
 *   6  data; report; onnx             loading CSV/IDX and toy sets, charts and reports, ONNX models built from nn
 *   6+ node; the package entry        Node's file helpers (read through data's parsers); src/index.ts re-exports
 *   6+ cli                            the command-line program, on top of everything in src/
 *   7  demo; playground               programs that use the library
 *
 * metrics sits on level 4 beside nn: it needs only tensors and errors, and
 * Laplace (level 5) scores its own predictive with it, so it cannot sit higher.
 * Inside a part files import each other freely, but the file graph has no
 * cycle except ops ↔ primitives in src/autodiff: a primitive's rules are
 * written with ops so that they differentiate again. Only src/node, src/cli, demo/
 * and the playground's build config touch Node built-ins (the rest runs in browsers), and src/ imports no
 * package at all (zero runtime dependencies).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

interface Part {
  readonly name: string;
  /** A file, or a folder ending in '/'. */
  readonly path: string;
  /** Parts on a lower rank may be imported; the same rank is a sibling. */
  readonly rank: number;
  readonly level: string;
}

const PARTS: readonly Part[] = [
  { name: 'errors', path: 'src/errors.ts', rank: 1, level: '1' },
  { name: 'random', path: 'src/random.ts', rank: 1.5, level: '1 (above errors)' },
  { name: 'tensor', path: 'src/tensor.ts', rank: 2, level: '2' },
  { name: 'kernels', path: 'src/kernels/', rank: 2, level: '2' },
  { name: 'autodiff', path: 'src/autodiff/', rank: 3, level: '3' },
  { name: 'linalg', path: 'src/linalg/', rank: 3, level: '3' },
  { name: 'nn', path: 'src/nn/', rank: 4, level: '4' },
  { name: 'metrics', path: 'src/metrics.ts', rank: 4, level: '4' },
  { name: 'laplace', path: 'src/laplace/', rank: 5, level: '5' },
  { name: 'data', path: 'src/data/', rank: 6, level: '6' },
  { name: 'report', path: 'src/report/', rank: 6, level: '6' },
  { name: 'onnx', path: 'src/onnx/', rank: 6, level: '6' },
  { name: 'node', path: 'src/node/', rank: 6.5, level: '6 (above data)' },
  { name: 'package entry', path: 'src/index.ts', rank: 6.5, level: '6 (above onnx)' },
  { name: 'cli', path: 'src/cli/', rank: 6.9, level: '6 (top)' },
  { name: 'demo', path: 'demo/', rank: 7, level: '7' },
  { name: 'playground', path: 'playground/', rank: 7, level: '7' },
];

/** The cycle the layering allows: ops ↔ primitives. */
const CYCLE_ALLOWED = (file: string) =>
  file === 'src/autodiff/ops.ts' || file.startsWith('src/autodiff/primitives/');

/** Where Node built-ins may be imported. */
const NODE_ALLOWED = ['src/node/', 'src/cli/', 'demo/', 'playground/vite.config.ts'];

function partOf(file: string): Part | undefined {
  return PARTS.find((part) => (part.path.endsWith('/') ? file.startsWith(part.path) : file === part.path));
}

/** What `part` may import, for the failure message. */
function allowed(part: Part): string {
  const below = PARTS.filter((p) => p.rank < part.rank);
  const siblings = PARTS.filter((p) => p.rank === part.rank && p !== part).map((p) => p.name);
  const list = below.length === 0 ? 'nothing else' : below.map((p) => `${p.name} (${p.level})`).join(', ');
  const sideways = siblings.length > 0 ? `; not its sibling(s) ${siblings.join(', ')}` : '';
  return `${part.name} (level ${part.level}) may import itself and ${list}${sideways}`;
}

/** Every .ts file under the folders, as paths relative to the repository root. */
function sources(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.includes('node_modules') && !file.includes('dist/'))
      .map((file) => join(dir, file)),
  );
}

/**
 * The module specifiers a file imports or re-exports (static and dynamic,
 * type-only included), with relative ones resolved to the .ts file. Comments
 * are dropped first: module headers show example imports.
 */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"\s$]+)['"]/g)].map(
    (m) => m[1]!,
  );
  return specifiers.map((s) =>
    s.startsWith('.') ? relative(ROOT, join(ROOT, file, '..', s)).replace(/\.js$/, '.ts') : s,
  );
}

const FILES = sources('src', 'demo', 'playground');
const GRAPH = new Map(FILES.map((file) => [file, imports(file)]));

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('package layering', () => {
  it('finds the imports it checks', () => {
    // Guards the reader: the CLI imports the data module and Node built-ins,
    // autodiff's ops and primitives import each other, every file has a part.
    const cli = sources('src/cli').flatMap((file) => GRAPH.get(file)!);
    expect(cli).toContain('src/data/csv.ts');
    expect(cli.some((s) => s.startsWith('node:'))).toBe(true);
    expect(cycles(GRAPH).some((c) => c.includes('src/autodiff/ops.ts'))).toBe(true);
    expect(FILES.filter((file) => partOf(file) === undefined)).toEqual([]);
  });

  it('every import goes down a level or stays inside its part', () => {
    const violations: string[] = [];
    for (const [file, specifiers] of GRAPH) {
      const from = partOf(file)!;
      for (const s of specifiers) {
        const to = partOf(s);
        if (to === undefined || to === from || to.rank < from.rank) continue;
        const direction = to.rank === from.rank ? 'sideways' : 'up';
        violations.push(`${file} imports ${s} (${direction}): ${allowed(from)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the only import cycle is ops ↔ primitives in src/autodiff', () => {
    const bad = cycles(GRAPH)
      .filter((component) => !component.every(CYCLE_ALLOWED))
      .map(
        (component) =>
          `import cycle among ${component.join(', ')}: only src/autodiff/ops.ts and ` +
          'src/autodiff/primitives/ may import each other (rules are written with ops so they differentiate ' +
          'again); move what both sides need into a file that neither imports',
      );
    expect(bad).toEqual([]);
  });

  it('only src/node, src/cli, demo/ and the build config import Node built-ins; src/ imports no package', () => {
    const bad: string[] = [];
    for (const [file, specifiers] of GRAPH) {
      for (const s of specifiers) {
        if (s.startsWith('node:') && !NODE_ALLOWED.some((dir) => file.startsWith(dir))) {
          bad.push(
            `${file} imports ${s}: only ${NODE_ALLOWED.join(', ')} may use Node (the rest runs in browsers)`,
          );
        }
        if (file.startsWith('src/') && !s.startsWith('node:') && !s.startsWith('src/')) {
          bad.push(`${file} imports the package ${s}: the library has no runtime dependencies`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

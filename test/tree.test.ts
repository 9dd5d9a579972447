/**
 * The test tree mirrors the sources file by file: test/<path>/<name>.test.ts
 * tests src/<path>/<name>.ts, or the folder src/<path>/<name>/, so a module's
 * tests are found from its path and a test's subject from its own. A module
 * tested from several files names each after itself and an aspect:
 * <name>-<aspect>.test.ts (commands-fuzz.test.ts tests src/cli/commands.ts).
 *
 * Outside src/, on purpose:
 *   test/demo/, test/playground/  mirror demo/ and playground/ the same way;
 *   test/e2e/                     whole programs seen from outside: the built
 *                                 CLI, pages in a browser, the documentation's
 *                                 snippets; they have no single module;
 *   test/<name>.test.ts           src/<name>.ts, or a check of the whole tree
 *                                 (layering, tree).
 * Helpers (.ts files that are not tests) and test/fixtures/ may sit anywhere.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** Folders of test/ that mirror a folder of the repository other than src/. */
const MIRRORS: Readonly<Record<string, string>> = { demo: 'demo', playground: 'playground' };
/** Folders of test/ whose tests have no single module (see above). */
const FREE = ['e2e', 'fixtures'];
/** Top-level tests of the whole tree rather than of one module. */
const WHOLE_TREE = ['layering', 'tree'];

/** Every test file, relative to test/. */
const TESTS = readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => file.split('\\').join('/'))
  .sort();

/** Whether `path` (relative to the root) is a module: a .ts file or a folder. */
function isModule(path: string): boolean {
  if (existsSync(join(ROOT, `${path}.ts`))) return true;
  return existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isDirectory();
}

/** Why `test` is out of place, or undefined if its module exists. */
function misplaced(test: string): string | undefined {
  const parts = test.split('/');
  const name = parts.pop()!.replace(/\.test\.ts$/, '');
  const [top, ...rest] = parts;
  if (top !== undefined && FREE.includes(top)) return undefined;
  if (top === undefined && WHOLE_TREE.includes(name)) return undefined;
  const dir =
    top !== undefined && MIRRORS[top] !== undefined
      ? [MIRRORS[top], ...rest].join('/')
      : ['src', ...parts].join('/');
  // name, or name-aspect, or name-with-hyphens-aspect: every hyphenated prefix of the file name.
  const words = name.split('-');
  const candidates = words.map((_, i) => `${dir}/${words.slice(0, i + 1).join('-')}`);
  if (candidates.some(isModule)) return undefined;
  return `test/${test}: no module ${candidates.map((c) => `${c}.ts`).join(' or ')} (nor such a folder); move it beside its module's path, or to test/e2e/ if it tests a whole program`;
}

describe('the test tree', () => {
  it('finds the tests it checks', () => {
    expect(TESTS.length).toBeGreaterThan(80);
    expect(TESTS).toContain('autodiff/ops.test.ts');
    expect(misplaced('autodiff/ops.test.ts')).toBeUndefined();
    expect(misplaced('cli/commands-fuzz.test.ts')).toBeUndefined();
    expect(misplaced('autodiff/primitives/index.test.ts')).toBeUndefined();
    expect(misplaced('linalg/wasm.test.ts')).toMatch(/no module src\/linalg\/wasm\.ts/);
    expect(misplaced('demo-images.test.ts')).toMatch(/no module src\/demo\.ts or src\/demo-images\.ts/);
  });

  it('mirrors src/ (and demo/, playground/) file by file', () => {
    expect(TESTS.flatMap((test) => misplaced(test) ?? [])).toEqual([]);
  });
});

/**
 * The top of the package layering, read from the import statements of the
 * sources: src/laplace (level 5) imports nothing from data, reports or the CLI;
 * src/data and src/report (level 6) import neither the CLI nor Node built-ins
 * (they run in browsers); src/node holds the file system helpers that Node
 * programs share; demo/ and playground/ (level 7) never reach into src/cli,
 * which is only the command-line program.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** Every .ts file under `dir`, as paths relative to the repository root. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file));
}

/** The module specifiers a file imports or re-exports (static and dynamic), resolved against the root when relative. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => (s.startsWith('.') ? relative(ROOT, join(ROOT, file, '..', s)) : s));
}

function offending(dirs: string[], bad: (specifier: string) => boolean): string[] {
  return dirs.flatMap(sources).flatMap((file) =>
    imports(file)
      .filter(bad)
      .map((s) => `${file} → ${s}`),
  );
}

describe('package layering', () => {
  it('finds the imports it checks', () => {
    // Guards the reader above: the CLI does import the data module and Node built-ins.
    const cli = sources('src/cli').flatMap(imports);
    expect(cli).toContain('src/data/csv.js');
    expect(cli.some((s) => s.startsWith('node:'))).toBe(true);
  });

  it('src/laplace imports nothing from src/data, src/report or src/cli', () => {
    expect(offending(['src/laplace'], (s) => /^src\/(data|report|cli)\//.test(s))).toEqual([]);
  });

  it('src/data and src/report import neither src/cli nor Node built-ins', () => {
    const bad = (s: string) => s.startsWith('src/cli/') || s.startsWith('node:');
    expect(offending(['src/data', 'src/report', 'src/laplace'], bad)).toEqual([]);
  });

  it('demo/ and playground/ never import src/cli', () => {
    expect(offending(['demo', 'playground'], (s) => s.startsWith('src/cli/'))).toEqual([]);
  });
});

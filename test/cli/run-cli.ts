/**
 * Running the CLI in process for tests: both streams captured (not TTYs, so a
 * progress bar prints one summary line), files in a temporary directory, and
 * the shape every refusal must have.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { run } from '../../src/cli/commands.js';

export const DATA = join(import.meta.dirname, '..', '..', 'data');

/** The data arguments of the two toy sets in data/: a regression and a classification. */
export const TOY_REGRESSION = [
  '--data',
  join(DATA, 'toy-regression.csv'),
  '--target',
  'y',
  '--task',
  'regression',
];
export const MOONS = ['--data', join(DATA, 'moons.csv'), '--target', 'label', '--task', 'classification'];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(...argv: string[]): CliResult {
  let stdout = '';
  let stderr = '';
  const code = run(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

/** `laplace-ts fit` of a classifier on data/moons.csv written to `model`; the fit must succeed. */
export function fitMoons(model: string, ...options: string[]): void {
  const result = cli('fit', ...MOONS, '--out', model, ...options);
  expect(result.code, result.stderr).toBe(0);
}

/** A scratch directory; `remove` deletes it. */
export function scratch(prefix: string): {
  dir: string;
  file(name: string, text: string): string;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Exit 1, a single line on stderr matching every pattern, no stack trace, nothing on stdout. */
export function expectFailure(result: CliResult, ...patterns: RegExp[]): void {
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr).not.toMatch(/internal error/);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  for (const pattern of patterns) expect(lines[0]).toMatch(pattern);
}

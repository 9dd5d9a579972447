/**
 * The code in the documentation runs and type-checks. Every ```ts block of the
 * README is a self-contained program; the blocks of docs/guide.md are one
 * program in order (each step builds on the last). They import from
 * 'laplace-ts', which is mapped to src/index.ts here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const INDEX = join(ROOT, 'src', 'index.ts');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'laplace-ts-docs-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The ```ts blocks of a Markdown file, in order. */
function tsBlocks(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Write a program that imports the package from src/, and return its path. */
function program(name: string, code: string, specifier: string): string {
  const path = join(dir, `${name}.ts`);
  writeFileSync(path, code.replaceAll(/from 'laplace-ts'/g, `from '${specifier}'`));
  return path;
}

/** Run a program in this process, returning what it logged. */
async function runProgram(path: string): Promise<string> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  try {
    await import(pathToFileURL(path).href);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

const readme = tsBlocks('README.md');
const guide = tsBlocks('docs/guide.md');

describe('documentation snippets', () => {
  it('exist: a quick start in the README of at most 20 lines, and a step-by-step guide', () => {
    expect(readme.length).toBeGreaterThanOrEqual(1);
    expect(readme[0]!.trimEnd().split('\n').length).toBeLessThanOrEqual(20);
    expect(guide.length).toBeGreaterThanOrEqual(8);
  });

  it('type-check under the project settings', () => {
    const files = [
      ...readme.map((code, i) => program(`readme-${i}`, code, 'laplace-ts')),
      program('guide', guide.join('\n'), 'laplace-ts'),
    ];
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        compilerOptions: {
          noEmit: true,
          paths: { 'laplace-ts': [INDEX] },
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files,
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')],
      {
        encoding: 'utf8',
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 60_000);

  it.each(readme.map((code, i) => [i, code] as const))('README block %i runs', async (i, code) => {
    const output = await runProgram(program(`readme-run-${i}`, code, pathToFileURL(INDEX).href));
    expect(output).not.toBe('');
  });

  it('the guide runs from start to end', async () => {
    const output = await runProgram(program('guide-run', guide.join('\n'), pathToFileURL(INDEX).href));
    expect(output.split('\n').length).toBeGreaterThanOrEqual(guide.length);
  }, 60_000);
});

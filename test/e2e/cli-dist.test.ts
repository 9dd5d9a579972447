/**
 * The built program as a user runs it: `npm run build` compiles src/ to dist/
 * and package.json's `bin` points at dist/cli/main.js. Here the same build goes
 * to a temporary directory (so that a build in progress elsewhere is not
 * disturbed), and the program runs as a separate Node process: exit codes,
 * files written, and a failure that prints one line and no stack trace.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
let build: string;
let work: string;
let buildErrors: string[] = [];

beforeAll(() => {
  build = mkdtempSync(join(tmpdir(), 'laplace-ts-dist-'));
  work = mkdtempSync(join(tmpdir(), 'laplace-ts-run-'));
  // As `npm run build`, into `build` instead of dist/. The files of the CLI must compile cleanly under
  // the build's settings (no ambient Node types: they declare their own); tsc still emits when
  // another part of src/ is mid-edit elsewhere, so only errors in the CLI and the modules it reads
  // and writes with (src/cli, src/data, src/report, src/node) fail here.
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', build],
    { cwd: ROOT, encoding: 'utf8' },
  );
  buildErrors = (tsc.stdout + tsc.stderr)
    .split('\n')
    .filter((line) => /^src\/(cli|data|report|node)\//.test(line));
  // dist/ is ESM because the package is "type": "module".
  writeFileSync(join(build, 'package.json'), JSON.stringify({ type: packageJson.type }));
}, 120_000);

afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** The `bin` entry, resolved inside the temporary build instead of dist/. */
function binPath(): string {
  const bin: string = packageJson.bin['laplace-ts'];
  expect(bin).toBe('./dist/cli/main.js');
  return join(build, bin.replace('./dist/', ''));
}

function laplaceTs(...args: string[]) {
  return spawnSync(process.execPath, [binPath(), ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('laplace-ts from the build', () => {
  it('compiles without errors in src/cli', () => {
    expect(buildErrors).toEqual([]);
  });

  it('is an executable script', () => {
    expect(readFileSync(binPath(), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(execFileSync(process.execPath, [binPath(), '--help'], { encoding: 'utf8' })).toMatch(/Usage:/);
  });

  it('fits and predicts on a shipped dataset, exit code 0', () => {
    const model = join(work, 'model.json');
    const predictions = join(work, 'predictions.csv');
    const fit = laplaceTs(
      'fit',
      '--data',
      'data/wine.csv',
      '--target',
      'label',
      '--task',
      'classification',
      '--hidden',
      '8',
      '--epochs',
      '5',
      '--out',
      model,
    );
    expect(fit.status, fit.stderr).toBe(0);
    expect(fit.stdout).toMatch(/3 classes/);
    expect(fit.stdout).toMatch(/log marginal likelihood/);
    const predict = laplaceTs('predict', '--model', model, '--data', 'data/wine.csv', '--out', predictions);
    expect(predict.status, predict.stderr).toBe(0);
    expect(readFileSync(predictions, 'utf8').split('\n')[0]).toBe('prob_0,prob_1,prob_2,class,entropy');
  });

  it('fails on bad input with exit code 1, one line on stderr and no stack trace', () => {
    const bad = join(work, 'bad.csv');
    writeFileSync(bad, 'x,y\n1,2\n3,oops\n');
    const result = laplaceTs(
      'fit',
      '--data',
      bad,
      '--target',
      'y',
      '--task',
      'regression',
      '--out',
      join(work, 'bad.json'),
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`laplace-ts fit: ${bad}: line 3, column "y": "oops" is not a number\n`);
    expect(existsSync(join(work, 'bad.json'))).toBe(false);
  });
});

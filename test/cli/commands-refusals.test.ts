/**
 * Defects a new user met, each reproduced before its fix: inputs the CLI used
 * to accept and then mistreat (duplicate columns, outputs landing on inputs,
 * values whose squares overflow, a target column with gaps), errors that named
 * the wrong thing or came too late, and output cut short by a closed pipe.
 * A refusal is exit code 1, one line on stderr naming the problem, and no
 * file written or changed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { cli, DATA, expectFailure, fitMoons, scratch, TOY_REGRESSION } from './run-cli.js';

const work = scratch('laplace-ts-refusals-');
afterAll(() => work.remove());
const out = (name: string) => join(work.dir, name);
const quick = ['--epochs', '5', '--hidden', '4'];
const regression = (data: string, model: string, ...more: string[]) =>
  cli('fit', '--data', data, '--target', 'y', '--task', 'regression', '--out', model, ...quick, ...more);

/** A regression CSV with columns `a`, `b` and target `y` = a − 2b, from row i ↦ (a, b). */
function regressionCsv(rows: number, cell: (i: number) => [number, number]): string {
  const lines = Array.from({ length: rows }, (_, i) => {
    const [a, b] = cell(i);
    return `${a},${b},${a - 2 * b}`;
  });
  return `a,b,y\n${lines.join('\n')}\n`;
}

/** Fits a regression model to `<name>.csv` (written from `regressionCsv`); returns the model's path. */
function fitRegression(name: string, rows: number, cell: (i: number) => [number, number]): string {
  const model = out(`${name}.json`);
  const result = regression(work.file(`${name}.csv`, regressionCsv(rows, cell)), model);
  expect(result.code, result.stderr).toBe(0);
  return model;
}

const finiteCsv = (text: string) =>
  parseCsv(text).rows.every((row) => row.every((cell) => Number.isFinite(Number(cell))));

describe('duplicate column names are refused', () => {
  it('fit: two feature columns of one name', () => {
    const data = work.file('dup.csv', 'a,a,y\n1,2,3\n2,1,0\n3,3,3\n4,0,4\n');
    const model = out('dup.json');
    expectFailure(regression(data, model), /dup\.csv: .*column "a" appears more than once/);
    expect(existsSync(model)).toBe(false);
  });

  it('predict: the model reads a column the data has twice', () => {
    const model = fitRegression('ab', 20, (i) => [i, i % 3]);
    const data = work.file('ab-dup.csv', 'a,b,a\n1,2,3\n');
    expectFailure(cli('predict', '--model', model, '--data', data), /column "a" appears more than once/);
  });
});

describe('an output may not be an input or another output, however the path is spelt', () => {
  const data = work.file(
    'in.csv',
    regressionCsv(20, (i) => [i, i % 4]),
  );
  const original = readFileSync(data, 'utf8');

  it('fit --out through a symbolic link to --data', () => {
    const link = out('link-to-in.csv');
    symlinkSync(data, link);
    expectFailure(regression(data, link), /--out and --data are the same file/);
    expect(readFileSync(data, 'utf8')).toBe(original);
  });

  it('fit --out and --report as ./m and m', () => {
    const model = out('m.json');
    expectFailure(
      regression(data, model, '--report', join(work.dir, '.', 'm.json')),
      /--out and --report are the same file/,
    );
    expect(existsSync(model)).toBe(false);
  });

  it('fit --report over --data', () => {
    const model = out('r.json');
    expectFailure(
      regression(data, model, '--report', join(work.dir, 'sub', '..', 'in.csv')),
      /--report and --data/,
    );
    expect(readFileSync(data, 'utf8')).toBe(original);
    expect(existsSync(model)).toBe(false);
  });

  it('predict --out over --model or --data', () => {
    const model = out('p.json');
    expect(regression(data, model).code).toBe(0);
    const saved = readFileSync(model, 'utf8');
    const modelLink = out('p-link.json');
    symlinkSync(model, modelLink);
    expectFailure(
      cli('predict', '--model', model, '--data', data, '--out', modelLink),
      /--out and --model are the same file/,
    );
    expectFailure(
      cli('predict', '--model', model, '--data', data, '--out', join(work.dir, '.', 'in.csv')),
      /--out and --data are the same file/,
    );
    expect(readFileSync(model, 'utf8')).toBe(saved);
    expect(readFileSync(data, 'utf8')).toBe(original);
  });
});

describe('values far from 1 in magnitude', () => {
  it('features near 1e200 train on their spread, and predict gives finite numbers', () => {
    const data = work.file(
      'huge-x.csv',
      regressionCsv(40, (i) => [(i + 1) * 1e200, ((i * 7) % 5) * 1e200]),
    );
    const model = out('huge-x.json');
    const fit = regression(data, model);
    // The target (a − 2b) is near 1e200 too, which no Gaussian in double precision can score: refused by name.
    expectFailure(fit, /huge-x\.csv: column "y": .*too large/);
    expect(existsSync(model)).toBe(false);
    const features = work.file(
      'huge-features.csv',
      `a,b,y\n${Array.from({ length: 40 }, (_, i) => `${(i + 1) * 1e200},${((i * 7) % 5) * 1e200},${i % 7}`).join('\n')}\n`,
    );
    const ok = regression(features, model);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).not.toMatch(/Infinity|NaN/);
    const saved = JSON.parse(readFileSync(model, 'utf8'));
    // Standardised by the columns' own spread (not collapsed to "constant", not overflowed).
    expect(saved.inputScale.std[0]).toBeGreaterThan(1e200);
    expect(Number.isFinite(saved.inputScale.std[0])).toBe(true);
    const predicted = cli('predict', '--model', model, '--data', features);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(finiteCsv(predicted.stdout)).toBe(true);
  });

  it('features near 1e-200 are not mistaken for constants', () => {
    const data = work.file(
      'tiny-x.csv',
      `a,y\n${Array.from({ length: 30 }, (_, i) => `${i * 1e-200},${i % 2}`).join('\n')}\n`,
    );
    const model = out('tiny-x.json');
    const fit = cli(
      'fit',
      '--data',
      data,
      '--target',
      'y',
      '--task',
      'classification',
      '--out',
      model,
      ...quick,
    );
    expect(fit.code, fit.stderr).toBe(0);
    const std = JSON.parse(readFileSync(model, 'utf8')).inputScale.std[0];
    expect(std).toBeGreaterThan(1e-200);
    expect(std).toBeLessThan(1e-198);
  });
});

describe('found by the fuzz test (test/cli/commands-fuzz.test.ts)', () => {
  it('a flat loss curve in the report (prior precision 1e300) no longer hangs the chart', () => {
    const data = work.file(
      'flat.csv',
      regressionCsv(12, (i) => [i, i % 3]),
    );
    const result = regression(
      data,
      out('flat.json'),
      '--prior-precision',
      '1e300',
      '--report',
      out('flat.html'),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out('flat.html'), 'utf8')).not.toMatch(/NaN|Infinity/);
  });

  it('a weight decay that overflows (--prior-precision 1e300 with --sigma-noise 1e300) is refused before training', () => {
    const data = work.file(
      'decay.csv',
      regressionCsv(12, (i) => [i, i % 3]),
    );
    expectFailure(
      regression(data, out('decay.json'), '--prior-precision', '1e300', '--sigma-noise', '1e300'),
      /--prior-precision 1e\+?300 with --sigma-noise 1e\+?300 gives a weight decay of Infinity/,
    );
  });

  it('a held-out row far outside the training rows is refused in one line, not scored as NaN', () => {
    const data = work.file(
      'outlier.csv',
      'x0,x1,y\n0,0,0\n0,-2.4e263,-2.4e-37\n0,0,0\n0,0,0\n0,0,0\n0,0,0\n',
    );
    expectFailure(
      regression(data, out('outlier.json'), '--holdout', '0.5'),
      /held-out row .* not a finite number/,
    );
    expect(existsSync(out('outlier.json'))).toBe(false);
  });

  it('a column of subnormal values does not make the evidence NaN', () => {
    const data = work.file(
      'subnormal.csv',
      'x0,x1,y\n0,-1.2e-271,0\n-3e-310,-7e-265,1\n0,4.4e-308,0\n7e-204,0,1\n0,0,0\n0,0,1\n0,-3e-200,0\n',
    );
    const result = cli(
      'fit',
      '--data',
      data,
      '--target',
      'y',
      '--task',
      'classification',
      '--out',
      out('sub.json'),
      ...quick,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/evidence\): -\d/);
  });
});

describe('predict on data the fit never saw', () => {
  it('a target near 1e200 leaves the predictions standing and says why there is no score', () => {
    const model = fitRegression('score', 12, (i) => [i, i % 3]);
    const data = work.file('score-huge.csv', 'a,b,y\n1,2,-1e200\n3,1,0\n');
    const result = cli('predict', '--model', model, '--data', data);
    expect(result.code, result.stderr).toBe(0);
    expect(finiteCsv(result.stdout)).toBe(true);
    expect(result.stderr).toMatch(/score on "y" of .*: none, some targets are too large to score/);
    expect(result.stderr).not.toMatch(/NaN|Infinity/);
  });

  it('an input too far out to standardise, or to predict from, is refused by line and column', () => {
    const model = fitRegression('far', 12, (i) => [i * 1e-200, i % 3]);
    const data = work.file('far-new.csv', 'a,b\n1,2\n1e300,1\n');
    expectFailure(
      cli('predict', '--model', model, '--data', data),
      /far-new\.csv: line 3, column "a": 1e\+300 is too far outside the data the model was trained on/,
    );
    // Standardised it is finite (1e4 standard deviations out), but the network's output is not.
    const farther = work.file('farther.csv', 'a,b\n1e-200,2\n1e-200,1e306\n');
    expectFailure(
      cli('predict', '--model', model, '--data', farther),
      /farther\.csv: line 3 has a prediction that is not a finite number/,
    );
  });
});

describe('errors that name the real problem', () => {
  it('a model file whose input standard deviation is 0', () => {
    const model = fitRegression('std0', 20, (i) => [i, i % 3]);
    const json = JSON.parse(readFileSync(model, 'utf8'));
    json.inputScale.std[1] = 0;
    const broken = work.file('std0-broken.json', JSON.stringify(json));
    const result = cli('predict', '--model', broken, '--data', join(work.dir, 'std0.csv'));
    expectFailure(result, /std0-broken\.json: .*inputScale.*standard deviations? .*positive/);
    expect(result.stderr).not.toMatch(/non-finite/);
  });

  it('a full posterior too large for memory is refused before training, naming --structure and --subset', () => {
    const start = performance.now();
    const result = cli(
      'fit',
      ...TOY_REGRESSION,
      '--out',
      out('big.json'),
      '--structure',
      'full',
      '--hidden',
      '200,200',
      '--epochs',
      '2000',
    );
    expectFailure(result, /--structure full/, /--structure (kron|diag|lowrank)/, /--subset lastLayer/);
    expect(result.stderr).not.toMatch(/hessianStructure|subsetOfWeights/);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(existsSync(out('big.json'))).toBe(false);
  });

  it('evidence checks every architecture before training any', () => {
    const start = performance.now();
    const result = cli(
      'evidence',
      ...TOY_REGRESSION,
      '--structure',
      'full',
      '--epochs',
      '2000',
      '--hidden',
      '5',
      '--hidden',
      '200,200',
    );
    expectFailure(result, /--structure full over the 40801 weights of 1→200→200→1/, /--subset lastLayer/);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it.each([
    [['--hidden', '-3'], /--hidden must be comma-separated positive integer widths .*got "-3"/],
    [['--seed', '-1'], /--seed must be an integer ≥ 0 .*got "-1"/],
    [['--lr', '-0.5'], /--lr must be a number > 0/],
  ])('a negative number after an option: %j', (args, pattern) => {
    const result = cli('fit', ...TOY_REGRESSION, '--out', out('neg.json'), ...args);
    expectFailure(result, pattern);
    expect(result.stderr).not.toMatch(/ambiguous|--hidden=-XYZ/);
  });

  it('an empty value names the option, not a missing one', () => {
    expectFailure(
      cli('fit', '--data', '', '--target', 'y', '--task', 'regression', '--out', out('e.json')),
      /--data needs a value, got an empty one/,
    );
  });

  it('a model file that lists a column twice, or its target as a feature', () => {
    const model = fitRegression('cols', 12, (i) => [i, i % 3]);
    const json = JSON.parse(readFileSync(model, 'utf8'));
    const twice = work.file('cols-twice.json', JSON.stringify({ ...json, columns: ['a', 'a'] }));
    expectFailure(
      cli('predict', '--model', twice, '--data', join(work.dir, 'cols.csv')),
      /cols-twice\.json: .*distinct/,
    );
    const target = work.file('cols-target.json', JSON.stringify({ ...json, columns: ['a', 'y'] }));
    expectFailure(
      cli('predict', '--model', target, '--data', join(work.dir, 'cols.csv')),
      /cols-target\.json: .*target "y" is also listed as a feature/,
    );
  });

  it('an option given twice', () => {
    expectFailure(
      regression(join(DATA, 'toy-regression.csv'), out('twice.json'), '--out', out('twice2.json')),
      /--out is given more than once/,
    );
  });
});

describe('predict does not need the target', () => {
  it('ignores a target column with empty cells', () => {
    const model = fitRegression('target', 20, (i) => [i, i % 3]);
    const data = work.file('target-gaps.csv', 'a,b,y\n1,2,\n3,1,\n2,2,-2\n');
    const result = cli('predict', '--model', model, '--data', data);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(finiteCsv(result.stdout)).toBe(true);
    expect(result.stderr).toBe(
      `column "y" of ${data} has empty cells (line 2), so the predictions are not scored\n`,
    );
  });
});

describe('closing the pipe early', () => {
  it('predict | head -1 ends quietly', () => {
    const model = out('pipe.json');
    fitMoons(model, ...quick);
    // Features only, so that nothing but the predictions is written; the reader is gone before the
    // program writes, so its first write meets EPIPE.
    const moons = readFileSync(join(DATA, 'moons.csv'), 'utf8').split('\n');
    const features = work.file(
      'moons-x.csv',
      moons.map((line) => line.split(',').slice(0, 2).join(',')).join('\n'),
    );
    const script = `
      import { spawn } from 'node:child_process';
      const child = spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts'))}, 'predict', '--model', ${JSON.stringify(model)}, '--data', ${JSON.stringify(features)}], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code, signal) => process.stdout.write(JSON.stringify({ code, signal, stderr })));
    `;
    const parent = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..', '..'),
      encoding: 'utf8',
    });
    const { code, stderr } = JSON.parse(parent.stdout);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('odd shapes of input', () => {
  it('--hidden 0 is described as the linear model it is', () => {
    const result = cli(
      'fit',
      ...TOY_REGRESSION,
      '--out',
      out('linear.json'),
      '--epochs',
      '5',
      '--hidden',
      '0',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/linear model 1→1 \(no hidden layer, 2 weights\)/);
    expect(result.stdout).not.toMatch(/MLP|tanh/);
  });

  it('a file with old Mac line endings (CR only)', () => {
    const lf = readFileSync(join(DATA, 'toy-regression.csv'), 'utf8');
    const data = work.file('cr.csv', lf.replaceAll('\n', '\r'));
    const model = out('cr.json');
    const result = regression(data, model);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(model, 'utf8')).columns).toEqual(['x']);
  });
});

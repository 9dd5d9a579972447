/**
 * The laplace-ts CLI end to end, in process: every command on the shipped
 * datasets with tiny epoch counts, and every bad input the issue lists, each
 * failing with exit code 1, one line naming the file, line and column, and no
 * file written. (test/e2e/cli-dist.test.ts runs the built program as a process.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { Sequential, tensor } from '../../src/index.js';
import { FileError, writeFilesAtomically } from '../../src/node/files.js';
import { cli, DATA, expectFailure, fitMoons, MOONS, scratch, TOY_REGRESSION } from './run-cli.js';

const work = scratch('laplace-ts-cli-');
afterAll(() => work.remove());
const dir = work.dir;
const file = work.file;
const out = (name: string) => join(dir, name);
const quick = ['--epochs', '15', '--hidden', '8'];

describe('help and usage', () => {
  it('prints help with exit 0 for the program and every command', () => {
    const main = cli('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/fit .*predict .*evidence/s);
    for (const command of ['fit', 'predict', 'evidence']) {
      const help = cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: laplace-ts ${command}`);
      expect(cli(command, '-h').stdout).toBe(help.stdout);
    }
    expect(cli('fit', '--help').stdout).toMatch(/--marglik-training.*--structure.*--subset.*--report/s);
  });

  it('fails with exit 1 without a command or with an unknown one', () => {
    expect(cli().code).toBe(1);
    const unknown = cli('train');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command "train"/);
  });

  it.each([
    [['fit', '--target', 'y', '--task', 'regression', '--out', 'x.json'], /--data is required/],
    [['fit', '--data', 'd.csv', '--task', 'regression', '--out', 'x.json'], /--target is required/],
    [['fit', '--data', 'd.csv', '--target', 'y', '--out', 'x.json'], /--task is required/],
    [['fit', '--data', 'd.csv', '--target', 'y', '--task', 'regression'], /--out is required/],
    [['fit', '--bogus'], /unknown option --bogus/],
    [['fit', '--epochs'], /--epochs needs a value/],
    [['predict', 'stray'], /unexpected argument stray/],
    [
      ['fit', '--data', 'd', '--target', 'y', '--task', 'ranking', '--out', 'x'],
      /--task must be one of regression, classification, got "ranking"/,
    ],
    [
      ['fit', '--data', 'd', '--target', 'y', '--task', 'regression', '--out', 'x', '--epochs', '2.5'],
      /--epochs must be an integer ≥ 1, got "2.5"/,
    ],
    [
      ['fit', '--data', 'd', '--target', 'y', '--task', 'regression', '--out', 'x', '--hidden', '50,x'],
      /--hidden must be comma-separated positive integer widths/,
    ],
    [
      ['fit', '--data', 'd', '--target', 'y', '--task', 'regression', '--out', 'x', '--structure', 'block'],
      /--structure must be one of full, kron, diag, lowrank/,
    ],
    [
      ['fit', '--data', 'd', '--target', 'y', '--task', 'regression', '--out', 'x', '--holdout', '1'],
      /--holdout must be a number ≥ 0 and < 1/,
    ],
    [
      [
        'fit',
        '--data',
        'd',
        '--target',
        'y',
        '--task',
        'regression',
        '--out',
        'x',
        '--marglik-training',
        '--subset',
        'lastLayer',
      ],
      /--marglik-training learns the prior of all weights/,
    ],
  ])('rejects bad arguments: %j', (argv, pattern) => {
    expectFailure(cli(...argv), pattern, new RegExp(`^laplace-ts ${argv[0]}: `), /--help\)$/);
  });
});

describe('fit and predict, regression on data/toy-regression.csv', () => {
  const model = () => out('toy.json');

  it('fits, prints the evidence and a held-out score, and writes the model and the report', () => {
    const result = cli('fit', ...TOY_REGRESSION, '--out', model(), '--report', out('toy.html'), ...quick);
    expect(result.stderr).toMatch(/^training: 15\/15 in .*final loss/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/log marginal likelihood \(evidence\): -?\d+\.\d+/);
    expect(result.stdout).toMatch(/held-out score \(16 rows\)/);
    expect(result.stdout).toMatch(/MAP .*\n.*Laplace GLM/);
    const saved = JSON.parse(readFileSync(model(), 'utf8'));
    expect(saved.format).toBe('laplace-ts/model@1');
    expect(saved.columns).toEqual(['x']);
    expect(saved.target).toBe('y');
    expect(saved.training.epochs).toBe(15);
    const html = readFileSync(out('toy.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|src="http/);
  });

  it('predicts mean, std and a 95% interval that agree with the saved network', () => {
    const result = cli(
      'predict',
      '--model',
      model(),
      '--data',
      join(DATA, 'toy-regression-test.csv'),
      '--out',
      out('toy-pred.csv'),
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/wrote 200 predictions/);
    expect(result.stderr).toMatch(/score on "y" .*NLL -?\d/);
    const predictions = parseCsv(readFileSync(out('toy-pred.csv'), 'utf8'));
    expect(predictions.header).toEqual(['mean', 'std', 'lower95', 'upper95']);
    expect(predictions.rows).toHaveLength(200);

    // The mean of the GLM predictive is the network's output at the MAP, in the target's units.
    const saved = JSON.parse(readFileSync(model(), 'utf8'));
    const network = Sequential.fromJSON(saved.network);
    const test = parseCsv(readFileSync(join(DATA, 'toy-regression-test.csv'), 'utf8'));
    const xs = test.rows.map((r) => [(Number(r[0]) - saved.inputScale.mean[0]) / saved.inputScale.std[0]]);
    const f = network.forward(tensor(xs)).data;
    const noise = saved.posterior.sigmaNoise * saved.targetScale.std;
    predictions.rows.forEach((row, i) => {
      const [mean, std, lower, upper] = row.map(Number) as [number, number, number, number];
      expect(mean).toBeCloseTo(saved.targetScale.mean + saved.targetScale.std * f[i]!, 10);
      expect(std).toBeGreaterThanOrEqual(noise * (1 - 1e-12)); // variance = J P⁻¹ Jᵀ + σ² ≥ σ²
      expect(lower).toBeCloseTo(mean - 1.959963984540054 * std, 10);
      expect(upper).toBeCloseTo(mean + 1.959963984540054 * std, 10);
    });
    // The linearised predictive widens away from the data: far outside (|x| = 3) more than inside the clusters.
    const stdAt = (x: number) => Number(predictions.rows[test.rows.findIndex((r) => Number(r[0]) === x)]![1]);
    const inside = Number(
      predictions.rows[test.rows.findIndex((r) => Math.abs(Number(r[0]) - 1.3) < 0.02)]![1],
    );
    expect(stdAt(3)).toBeGreaterThan(inside);
    expect(stdAt(-3)).toBeGreaterThan(inside);
  });

  it('writes CSV to stdout without --out', () => {
    const result = cli('predict', '--model', model(), '--data', join(DATA, 'toy-regression.csv'));
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('mean,std,lower95,upper95');
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(81);
  });

  it('reports the evidence in the units of the target: scaling y by 10 shifts it by −N·log 10', () => {
    const original = readFileSync(join(DATA, 'toy-regression.csv'), 'utf8');
    const lines = original.trimEnd().split('\n');
    const scaled = [
      lines[0],
      ...lines.slice(1).map((l) => `${l.split(',')[0]},${Number(l.split(',')[1]) * 10}`),
    ];
    const scaledPath = file('toy-scaled.csv', `${scaled.join('\n')}\n`);
    const args = ['--target', 'y', '--task', 'regression', ...quick, '--holdout', '0'];
    const a = cli('fit', '--data', join(DATA, 'toy-regression.csv'), '--out', out('a.json'), ...args);
    const b = cli('fit', '--data', scaledPath, '--out', out('b.json'), ...args);
    expect([a.code, b.code]).toEqual([0, 0]);
    const evidence = (p: string) => JSON.parse(readFileSync(p, 'utf8')).logMarginalLikelihood as number;
    expect(evidence(out('b.json')) - evidence(out('a.json'))).toBeCloseTo(-80 * Math.log(10), 6);
    expect(a.stdout).not.toMatch(/held-out/);
  });
});

describe('fit and predict, classification on data/moons.csv', () => {
  it('writes class probabilities, the predicted class and the entropy', () => {
    const model = out('moons.json');
    const fit = cli('fit', ...MOONS, '--out', model, '--structure', 'full', ...quick);
    expect(fit.code).toBe(0);
    expect(fit.stdout).toMatch(/2 classes/);
    expect(fit.stdout).toMatch(/accuracy/);
    const result = cli(
      'predict',
      '--model',
      model,
      '--data',
      join(DATA, 'moons.csv'),
      '--out',
      out('moons-pred.csv'),
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/accuracy 0\.\d+, NLL/);
    const predictions = parseCsv(readFileSync(out('moons-pred.csv'), 'utf8'));
    expect(predictions.header).toEqual(['prob_0', 'prob_1', 'class', 'entropy']);
    expect(predictions.rows).toHaveLength(300);
    for (const row of predictions.rows) {
      const [p0, p1, predicted, entropy] = row.map(Number) as [number, number, number, number];
      expect(p0 + p1).toBeCloseTo(1, 12);
      expect(predicted).toBe(p1 > p0 ? 1 : 0);
      expect(entropy).toBeCloseTo(-(p0 * Math.log(p0) + p1 * Math.log(p1)), 10);
    }
  });

  it('reads digits (10 classes) and the other shipped classification sets', () => {
    for (const [name, classes] of [
      ['digits', 10],
      ['wine', 3],
      ['breast_cancer', 2],
    ] as const) {
      const result = cli(
        'fit',
        '--data',
        join(DATA, `${name}.csv`),
        '--target',
        'label',
        '--task',
        'classification',
        '--out',
        out(`${name}.json`),
        '--epochs',
        '2',
        '--hidden',
        '8',
        '--subset',
        'lastLayer',
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`${classes} classes`);
    }
  });
});

describe('fit --marglik-training', () => {
  it('learns per-layer prior precisions and the noise while training', () => {
    const model = out('marglik.json');
    const result = cli('fit', ...TOY_REGRESSION, '--out', model, '--marglik-training', ...quick);
    expect(result.code, result.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(model, 'utf8'));
    expect(saved.training.marglikTraining).toBe(true);
    // One precision per parameter tensor: weight and bias of two Linear layers.
    expect(saved.posterior.priorPrecision).toHaveLength(4);
    expect(result.stdout).toMatch(/prior precision \[[^\]]+\], noise σ/);
    expect(cli('predict', '--model', model, '--data', join(DATA, 'toy-regression-test.csv')).code).toBe(0);
  });
});

describe('evidence', () => {
  it('ranks architectures by log marginal likelihood', () => {
    const result = cli(
      'evidence',
      '--data',
      join(DATA, 'diabetes.csv'),
      '--target',
      'target',
      '--task',
      'regression',
      '--epochs',
      '5',
      '--hidden',
      '4',
      '--hidden',
      '16,16',
      '--hidden',
      '0',
    );
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.split('\n').filter((l) => /^\s+\d\s/.test(l));
    expect(rows).toHaveLength(3);
    const evidence = rows.map((l) => Number(l.trim().split(/\s+/)[3]));
    expect(evidence.every(Number.isFinite)).toBe(true);
    expect([...evidence].sort((a, b) => b - a)).toEqual(evidence);
    expect(result.stdout).toMatch(/the evidence prefers 10→/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(3); // one summary line per training run
  });
});

describe('bad input: exit 1, one line naming file, line and column, nothing written', () => {
  const header = 'a,b,y\n';
  const cases: [string, string, string[], RegExp[]][] = [
    ['ragged row', `${header}1,2,3\n4,5\n`, ['regression'], [/line 3: has 2 fields but the header has 3/]],
    [
      'non-numeric cell',
      `${header}1,2,3\n4,five,6\n`,
      ['regression'],
      [/line 3, column "b": "five" is not a number/],
    ],
    [
      'NaN',
      `${header}1,2,3\n4,NaN,6\n`,
      ['regression'],
      [/line 3, column "b": "NaN" is not a finite number/],
    ],
    [
      'Inf',
      `${header}1,2,3\n4,5,-Inf\n`,
      ['regression'],
      [/line 3, column "y": "-Inf" is not a finite number/],
    ],
    ['empty cell', `${header}1,,3\n4,5,6\n`, ['regression'], [/line 2, column "b": empty cell/]],
    ['header only', header, ['regression'], [/no data rows after the header/]],
    ['empty file', '', ['regression'], [/the file is empty/]],
    [
      'unknown target',
      'a,b,c\n1,2,3\n4,5,6\n',
      ['regression'],
      [/unknown target column "y"; the columns are "a", "b", "c"/],
    ],
    [
      'fractional label',
      `${header}1,2,0\n3,4,1.5\n5,6,1\n`,
      ['classification'],
      [/line 3, column "y": 1\.5 is not a class label/],
    ],
    [
      'negative label',
      `${header}1,2,0\n3,4,-1\n5,6,1\n`,
      ['classification'],
      [/line 3, column "y": -1 is not a class label/],
    ],
    [
      'missing class',
      `${header}1,2,0\n3,4,2\n5,6,2\n`,
      ['classification'],
      [/column "y": labels run up to 2 but class 1 never occurs/],
    ],
    ['one class', `${header}1,2,0\n3,4,0\n`, ['classification'], [/column "y": every label is 0/]],
  ];

  it.each(cases)('%s', (name, text, [task], patterns) => {
    const data = file(`${name.replaceAll(' ', '-')}.csv`, text);
    const target = out(`${name.replaceAll(' ', '-')}.json`);
    const result = cli('fit', '--data', data, '--target', 'y', '--task', task!, '--out', target, ...quick);
    expectFailure(
      result,
      new RegExp(`^laplace-ts fit: ${data.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
      ...patterns,
    );
    expect(existsSync(target)).toBe(false);
  });

  it('a missing data file', () => {
    const result = cli(
      'fit',
      '--data',
      out('nope.csv'),
      '--target',
      'y',
      '--task',
      'regression',
      '--out',
      out('nope.json'),
    );
    expectFailure(result, /nope\.csv: no such file/);
    expect(existsSync(out('nope.json'))).toBe(false);
  });

  it('an output directory that does not exist, found before any training', () => {
    const result = cli('fit', ...TOY_REGRESSION, '--out', join(dir, 'missing', 'm.json'));
    expectFailure(result, /m\.json: cannot be written, the directory .*missing does not exist/);
  });

  it('leaves an existing output untouched when a command fails', () => {
    const target = file('keep.json', 'precious');
    const bad = file('bad-keep.csv', 'a,y\n1,2\n3,x\n');
    expectFailure(
      cli('fit', '--data', bad, '--target', 'y', '--task', 'regression', '--out', target),
      /line 3/,
    );
    expect(readFileSync(target, 'utf8')).toBe('precious');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('predict: a model file that is not JSON, or not a model', () => {
    const notJson = file('broken.json', '{"format": ');
    expectFailure(
      cli('predict', '--model', notJson, '--data', join(DATA, 'moons.csv')),
      /broken\.json: not valid JSON/,
    );
    const other = file('other.json', '{"format": "something-else"}');
    expectFailure(
      cli('predict', '--model', other, '--data', join(DATA, 'moons.csv')),
      /other\.json: not a laplace-ts model file: format is "something-else"/,
    );
    expectFailure(
      cli('predict', '--model', out('absent.json'), '--data', join(DATA, 'moons.csv')),
      /absent\.json: no such file/,
    );
  });

  it('predict: data without a feature column of the model, or with labels out of range', () => {
    const model = out('moons-bad.json');
    fitMoons(model, ...quick);
    const noX2 = file('no-x2.csv', 'x1,label\n0.5,1\n');
    expectFailure(cli('predict', '--model', model, '--data', noX2), /no-x2\.csv: missing column "x2"/);
    const badLabel = file('label-3.csv', 'x1,x2,label\n0.5,0.1,1\n0.2,0.3,3\n');
    const pred = out('label-3-pred.csv');
    expectFailure(
      cli('predict', '--model', model, '--data', badLabel, '--out', pred),
      /label-3\.csv: line 3, column "label": 3 is not a class label .*below 2/,
    );
    expect(existsSync(pred)).toBe(false);
  });
});

describe('writeFilesAtomically', () => {
  it('writes all files or none', () => {
    const first = out('first.txt');
    expect(() =>
      writeFilesAtomically([
        { path: first, text: 'one' },
        { path: join(dir, 'no-such-dir', 'second.txt'), text: 'two' },
      ]),
    ).toThrow(FileError);
    expect(existsSync(first)).toBe(false);
    writeFilesAtomically([{ path: first, text: 'one' }]);
    expect(readFileSync(first, 'utf8')).toBe('one');
  });
});

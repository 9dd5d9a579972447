/**
 * The CLI under generated bad input, in process: tables with bad cells (empty,
 * text, NaN, infinities, overflowing literals), values near 1e±200, duplicate
 * or unnamed columns, ragged rows and every line ending; flags with bad or
 * negative numbers, unknown values and repeats; outputs that collide with an
 * input or with each other.
 *
 * Whatever comes in, `fit` either refuses (exit 1, one line on stderr naming
 * the problem, no stack trace and no "internal error", nothing on stdout, no
 * file written and the data untouched), or succeeds with finite numbers
 * everywhere and a model file that `predict` reads and applies to the same
 * data with finite predictions.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { type CliResult, cli, scratch } from './run-cli.js';

const work = scratch('laplace-ts-fuzz-');
afterAll(() => work.remove());
let runCount = 0;

const BAD_CELLS = [
  '',
  ' ',
  'NaN',
  'nan',
  'Infinity',
  '-inf',
  '1e999',
  '-1e400',
  'abc',
  '0x10',
  '1,5',
  '"2"',
  '1e200',
  '-1e200',
  '1e-200',
  '1.7976931348623157e308',
  ' 3 ',
  '"',
];
const HEADER_NAMES = ['a', 'b', 'y', ' y', 'a ', '', 'c', 'x"q'];

/** Options with values a user may well give, and with values to be refused; null: a flag without a value. */
const OPTIONS: [name: string, good: (string | null)[], bad: (string | null)[]][] = [
  ['--hidden', ['0', '2', '3,2'], ['-3', 'x', '', '0,2', '2.5', '1e6', '-1,2', '100000,100000']],
  ['--epochs', ['1', '3'], ['0', '-1', '2.5', 'NaN', '', '1e400']],
  ['--lr', ['0.01', '0.1', '10'], ['-1', '0', '1e400', 'abc', '-.5']],
  ['--seed', ['0', '7', '4294967295'], ['-1', '4294967296', '1.5']],
  ['--holdout', ['0', '0.3', '0.5'], ['1', '-0.1', '2']],
  ['--structure', ['kron', 'diag', 'full', 'lowrank'], ['block', 'Full']],
  ['--subset', ['all', 'lastLayer'], ['first', '']],
  ['--prior-precision', ['1', '1e-3', '1e300'], ['0', '-2', 'Infinity']],
  ['--sigma-noise', ['0.1', '1e-300', '1e300'], ['0', '-0.1']],
  ['--batch-size', ['1', '4'], ['0', '-4']],
  ['--activation', ['tanh', 'relu', 'sigmoid'], ['softsign', 'TANH']],
  ['--marglik-training', [null], ['1']],
  ['--target', ['y'], ['z', '', ' y ']],
  ['--bogus', [], ['1', null]],
];
const flagOf = (pick: 1 | 2) =>
  fc
    .constantFrom(...OPTIONS.filter((o) => o[pick].length > 0))
    .chain((o) => fc.tuple(fc.constant(o[0]), fc.constantFrom(...o[pick])));
const goodFlag = flagOf(1);
const badFlag = flagOf(2);

/** At most one kind of damage per case, so that about half the cases are valid and get fitted. */
const DAMAGE = [
  'none',
  'none',
  'none',
  'none',
  'cells',
  'header',
  'ragged',
  'flag',
  'repeat',
  'paths',
  'task',
];

const fuzzCase = fc.record({
  damage: fc.constantFrom(...DAMAGE),
  task: fc.constantFrom('regression', 'classification'),
  features: fc.integer({ min: 1, max: 3 }),
  rows: fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }) },
    { weight: 5, arbitrary: fc.integer({ min: 6, max: 12 }) },
  ),
  values: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 40, maxLength: 40 }),
  featureScale: fc.constantFrom(1, 1, 1e200, 1e-200, 1e300, 1e-300, 1e308),
  targetScale: fc.constantFrom(1, 1, 1, 1e200, 1e-200, 1e149, 1e-149),
  cells: fc.array(fc.record({ row: fc.nat(14), column: fc.nat(4), text: fc.constantFrom(...BAD_CELLS) }), {
    minLength: 1,
    maxLength: 2,
  }),
  header: fc.record({ column: fc.nat(4), name: fc.constantFrom(...HEADER_NAMES) }),
  ragged: fc.nat(14),
  eol: fc.constantFrom('\n', '\r\n', '\r'),
  /** Each replaces the option's default value. */
  flags: fc.array(goodFlag, { maxLength: 3 }),
  badFlag,
  repeat: goodFlag,
  out: fc.constantFrom('data', 'dot-data', 'report-same', 'link-to-data'),
  badTask: fc.constantFrom('ranking', 'Regression', ''),
  report: fc.boolean(),
  /** What happens to the data handed to predict after a successful fit. */
  predict: fc.record({
    damage: fc.constantFrom('none', 'cells', 'extreme', 'header', 'no-target', 'link', 'paths', 'cr'),
    row: fc.nat(14),
    column: fc.nat(4),
    text: fc.constantFrom(...BAD_CELLS),
    extreme: fc.constantFrom('1e308', '-1.7976931348623157e308', '1e-320', '1e150'),
    name: fc.constantFrom(...HEADER_NAMES),
    link: fc.constantFrom('probit', 'bridge', 'bridgeNorm', 'mc', 'laplace', ''),
    out: fc.constantFrom('data', 'model', 'dot-model'),
  }),
});

type FuzzCase = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

/** The CSV of a case: features and a target from `values`, then the damage. */
function csvText(c: FuzzCase): string {
  const header = [...Array.from({ length: c.features }, (_, j) => `x${j}`), 'y'];
  if (c.damage === 'header') header[c.header.column % header.length] = c.header.name;
  const rows = Array.from({ length: c.rows }, (_, i) => {
    const x = Array.from({ length: c.features }, (_, j) => c.values[(i * 3 + j) % 40]!);
    const y = c.task === 'classification' ? i % 2 : x.reduce((a, b) => a + b, 0) + 0.1 * c.values[39 - i]!;
    return [
      ...x.map((v) => String(v * c.featureScale)),
      String(c.task === 'classification' ? y : y * c.targetScale),
    ];
  });
  for (const { row, column, text } of c.damage === 'cells' ? c.cells : []) {
    if (rows.length > 0) rows[row % rows.length]![column % header.length] = text;
  }
  if (c.damage === 'ragged' && rows.length > 0) rows[c.ragged % rows.length]!.pop();
  return [header, ...rows].map((r) => r.join(',')).join(c.eol) + c.eol;
}

/** Every number in a JSON value; `null` stands where JSON.stringify met NaN or ±Infinity. */
function numbersIn(value: unknown, out: (number | null)[] = []): (number | null)[] {
  if (value === null || typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) for (const v of value) numbersIn(v, out);
  else if (typeof value === 'object') for (const v of Object.values(value)) numbersIn(v, out);
  return out;
}

function expectRefusal(result: CliResult): void {
  expect(result.stderr, result.stderr).not.toMatch(/\n\s+at |internal error|TypeError|RangeError/);
  expect(result.stderr.trimEnd().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stderr).toMatch(/^laplace-ts (fit|predict): \S/);
  expect(result.stdout).toBe('');
}

const finiteCsv = (text: string) =>
  parseCsv(text).rows.every((row) => row.every((cell) => Number.isFinite(Number(cell))));

describe('the CLI under generated bad input', () => {
  test.prop([fuzzCase], {
    numRuns: Number(process.env['FUZZ_RUNS'] ?? 80),
    ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}),
  })(
    'refuses with one line and writes nothing, or succeeds with finite outputs that predict can use',
    (c) => {
      const dir = join(work.dir, `run-${runCount++}`);
      mkdirSync(dir);
      const data = join(dir, 'data.csv');
      const text = csvText(c);
      work.file(join(`run-${runCount - 1}`, 'data.csv'), text);
      let model = join(dir, 'model.json');
      const out = c.damage === 'paths' ? c.out : 'fresh';
      if (out === 'data') model = data;
      if (out === 'dot-data') model = join(dir, '.', 'data.csv');
      if (out === 'link-to-data') {
        model = join(dir, 'link.json');
        symlinkSync(data, model);
      }
      const report = out === 'report-same' ? model : join(dir, 'report.html');
      const options = new Map<string, string | null>([
        ['--data', data],
        ['--target', 'y'],
        ['--task', c.damage === 'task' ? c.badTask : c.task],
        ['--out', model],
        ['--epochs', '2'],
        ['--hidden', '2'],
      ]);
      if (c.report || out === 'report-same') options.set('--report', report);
      for (const [name, value] of c.flags) options.set(name, value);
      if (c.damage === 'flag') options.set(...c.badFlag);
      const args = [
        'fit',
        ...[...options].flatMap(([name, value]) => (value === null ? [name] : [name, value])),
      ];
      if (c.damage === 'repeat' && c.repeat[1] !== null) args.push(c.repeat[0], c.repeat[1]);
      const before = new Set(readdirSync(dir));

      const fit = cli(...args);
      if (fit.code !== 0) {
        expect(fit.code).toBe(1);
        expectRefusal(fit);
        expect(new Set(readdirSync(dir))).toEqual(before);
        expect(readFileSync(data, 'utf8')).toBe(text);
        return;
      }
      expect(fit.stdout).not.toMatch(/NaN|Infinity/);
      const saved = JSON.parse(readFileSync(model, 'utf8'));
      expect(numbersIn(saved).every((v) => v !== null && Number.isFinite(v))).toBe(true);
      expect(readFileSync(data, 'utf8')).toBe(text);
      if (c.report) expect(existsSync(report)).toBe(true);

      // The data it was fitted on has every column the model reads.
      const predicted = cli('predict', '--model', model, '--data', data);
      expect(predicted.code, predicted.stderr).toBe(0);
      expect(finiteCsv(predicted.stdout)).toBe(true);
      expect(predicted.stderr).not.toMatch(/NaN|Infinity/);
      const collide = cli('predict', '--model', model, '--data', data, '--out', join(dir, '.', 'model.json'));
      expectRefusal(collide);

      // New data for predict, damaged in one way.
      const p = c.predict;
      const { header, rows } = parseCsv(text);
      const pick = <T>(list: T[], i: number) => list[i % list.length]!;
      if (p.damage === 'cells') pick(rows, p.row)[p.column % header.length] = p.text;
      if (p.damage === 'extreme') pick(rows, p.row)[p.column % (header.length - 1)] = p.extreme;
      if (p.damage === 'header') header[p.column % header.length] = p.name;
      if (p.damage === 'no-target') for (const row of rows) row[header.length - 1] = '';
      const eol = p.damage === 'cr' ? '\r' : '\n';
      const newData = join(dir, 'new.csv');
      const newText = [header, ...rows].map((r) => r.join(',')).join(eol) + eol;
      work.file(join(`run-${runCount - 1}`, 'new.csv'), newText);
      const predictions = join(dir, 'predictions.csv');
      const target = { data: newData, model, 'dot-model': join(dir, '.', 'model.json') }[p.out];
      const predictArgs = ['predict', '--model', model, '--data', newData, '--out', predictions];
      if (p.damage === 'paths') predictArgs[predictArgs.length - 1] = target;
      if (p.damage === 'link') predictArgs.push('--link', p.link);
      const savedModel = readFileSync(model, 'utf8');
      const again = cli(...predictArgs);
      expect(readFileSync(model, 'utf8')).toBe(savedModel);
      expect(readFileSync(newData, 'utf8')).toBe(newText);
      if (again.code !== 0) {
        expect(again.code).toBe(1);
        expectRefusal(again);
        expect(existsSync(predictions)).toBe(false);
        return;
      }
      const written = readFileSync(predictions, 'utf8');
      expect(finiteCsv(written)).toBe(true);
      expect(parseCsv(written).rows).toHaveLength(rows.length);
      expect(again.stderr).not.toMatch(/NaN|Infinity|\n\s+at /);
    },
  );
});

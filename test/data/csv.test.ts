import { readFileSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CsvError, classCount, formatCsv, numericTable, parseCsv } from '../../src/data/csv.js';
import { LaplaceTsError } from '../../src/errors.js';

/** Run `f`, expect a CsvError, and return it for inspection. */
function csvError(f: () => unknown): CsvError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CsvError);
    expect(error).toBeInstanceOf(LaplaceTsError);
    const e = error as CsvError;
    expect(e.message).not.toContain('\n');
    return e;
  }
  return expect.fail('expected a CsvError');
}

describe('parseCsv', () => {
  it('reads a header and rows', () => {
    const parsed = parseCsv('a,b\n1,2\n3,4\n', { fileName: 't.csv' });
    expect(parsed.header).toEqual(['a', 'b']);
    expect(parsed.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(parsed.lines).toEqual([2, 3]);
  });

  it('accepts CRLF, a byte-order mark and a missing final newline alike', () => {
    const expected = parseCsv('a,b\n1,2\n3,4\n');
    expect(parseCsv('\uFEFFa,b\r\n1,2\r\n3,4\r\n').rows).toEqual(expected.rows);
    expect(parseCsv('\uFEFFa,b\r\n1,2\r\n3,4').header).toEqual(['a', 'b']);
    expect(parseCsv('a,b\n1,2\n3,4').rows).toEqual(expected.rows);
  });

  const plainField = fc.stringMatching(/^[a-z0-9. ]{0,4}$/);
  test.prop([
    fc.integer({ min: 1, max: 4 }).chain((width) =>
      fc.array(fc.array(plainField, { minLength: width, maxLength: width }), {
        minLength: 1,
        maxLength: 6,
      }),
    ),
    fc.boolean(),
  ])('LF, CRLF and a lone CR (old Mac files) are the same line break', (records, finalBreak) => {
    fc.pre(records.every((r) => !(r.length === 1 && r[0] === '')));
    const text = (eol: string) => records.map((r) => r.join(',')).join(eol) + (finalBreak ? eol : '');
    const lf = parseCsv(text('\n'));
    for (const eol of ['\r\n', '\r']) {
      const other = parseCsv(text(eol));
      expect(other.header).toEqual(lf.header);
      expect(other.rows).toEqual(lf.rows);
      expect(other.lines).toEqual(lf.lines);
    }
  });

  it('counts a CR inside a quoted field as a line break for error positions', () => {
    expect(parseCsv('a,b\r1,"p\rq"\r2,z\r').lines).toEqual([2, 4]);
    const e = csvError(() => numericTable(parseCsv('a,b\r1,"2\r"\r3,z\r', { fileName: 'cr.csv' })));
    expect(e.message).toBe('cr.csv: line 4, column "b": "z" is not a number');
    expect(csvError(() => numericTable(parseCsv('a,b\r1,"2"\r\r3,z\r'))).row).toBe(4);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const text = 'name,note\n"Smith, J.","said ""hi"""\n"multi\nline",x\r\nlast,"a\r\nb"\n';
    const parsed = parseCsv(text);
    expect(parsed.rows).toEqual([
      ['Smith, J.', 'said "hi"'],
      ['multi\nline', 'x'],
      ['last', 'a\r\nb'],
    ]);
    // The record after a two-line field starts on line 5, as an editor shows it.
    expect(parsed.lines).toEqual([2, 3, 5]);
  });

  it('keeps empty fields and quoted empty strings, skips blank lines', () => {
    const parsed = parseCsv('a,b,c\n,,\n\n"",x,""\n\n');
    expect(parsed.rows).toEqual([
      ['', '', ''],
      ['', 'x', ''],
    ]);
    expect(parsed.lines).toEqual([2, 4]);
    expect(parseCsv('a\n""\n').rows).toEqual([['']]);
  });

  it('names the line of a ragged row', () => {
    const e = csvError(() => parseCsv('a,b\n1,2\n3\n', { fileName: 'r.csv' }));
    expect(e.message).toBe('r.csv: line 3: has 1 fields but the header has 2');
    expect(e.row).toBe(3);
    expect(e.fileName).toBe('r.csv');
  });

  it('reports an unclosed quote, stray text after a quote, and an empty file', () => {
    expect(csvError(() => parseCsv('a,b\n"oops,1\n2,3\n', { fileName: 'q.csv' })).message).toMatch(
      /^q\.csv: line 2: a quoted field is never closed$/,
    );
    expect(csvError(() => parseCsv('a,b\n"x"y,1\n')).row).toBe(2);
    expect(csvError(() => parseCsv('', { fileName: 'e.csv' })).message).toBe(
      'e.csv: the file is empty (no header row)',
    );
    expect(csvError(() => parseCsv('\uFEFF\r\n\n')).message).toContain('empty');
  });
});

describe('numericTable', () => {
  const text = 'x1, x2 ,label\n1,2.5,0\n-3e2,.5,1\n+4,5.,1\n';

  it('splits off the target and reads numbers in decimal and scientific notation', () => {
    const table = numericTable(parseCsv(text, { fileName: 'd.csv' }), { target: 'label' });
    expect(table.columns).toEqual(['x1', 'x2']);
    expect(table.X).toEqual([
      [1, 2.5],
      [-300, 0.5],
      [4, 5],
    ]);
    expect(table.y).toEqual([0, 1, 1]);
    expect(table.target).toBe('label');
  });

  it('without a target keeps every column', () => {
    const table = numericTable(parseCsv(text));
    expect(table.columns).toEqual(['x1', 'x2', 'label']);
    expect(table.y).toBeUndefined();
    expect(table.X[1]).toEqual([-300, 0.5, 1]);
  });

  it('names file, line and column of a non-numeric cell', () => {
    const e = csvError(() =>
      numericTable(parseCsv('a,b\n1,2\n"x\ny",3\n4,abc\n', { fileName: 'n.csv' }), { target: 'b' }),
    );
    // "x\ny" is not a number either, but it comes first: line 3.
    expect(e.message).toBe('n.csv: line 3, column "a": "x\\ny" is not a number');
    expect(e.row).toBe(3);
    expect(e.column).toBe('a');
    const later = csvError(() => numericTable(parseCsv('a,b\n1,2\n4,abc\n', { fileName: 'n.csv' })));
    expect(later.message).toBe('n.csv: line 3, column "b": "abc" is not a number');
  });

  it.each(['NaN', 'nan', 'Inf', '-Infinity', 'inf', '1e400'])('rejects %s as not finite', (cell) => {
    const e = csvError(() => numericTable(parseCsv(`a,b\n1,${cell}\n`, { fileName: 'f.csv' })));
    expect(e.message).toMatch(/^f\.csv: line 2, column "b": .*(not a finite number|overflows to infinity)$/);
  });

  it.each(['', ' ', '0x1F', '1,5', '1e', '--1', '1 2', 'true'])('rejects the cell %j', (cell) => {
    const quoted = `"${cell}"`;
    const e = csvError(() => numericTable(parseCsv(`a,b\n1,${quoted}\n`, { fileName: 'c.csv' })));
    expect(e.row).toBe(2);
    expect(e.column).toBe('b');
  });

  it('reports empty data, an unknown target and a duplicated target', () => {
    expect(csvError(() => numericTable(parseCsv('a,b\n', { fileName: 'h.csv' }))).message).toBe(
      'h.csv: no data rows after the header',
    );
    const unknown = csvError(() =>
      numericTable(parseCsv('a,b\n1,2\n', { fileName: 'u.csv' }), { target: 'y' }),
    );
    expect(unknown.message).toBe('u.csv: unknown target column "y"; the columns are "a", "b"');
    expect(unknown.column).toBe('y');
    expect(csvError(() => numericTable(parseCsv('y,y\n1,2\n'), { target: 'y' })).message).toContain(
      'more than once',
    );
    const twice = csvError(() => numericTable(parseCsv('a,b,a,y\n1,2,3,4\n', { fileName: 'd.csv' })));
    expect(twice.message).toBe(
      'd.csv: line 1: the column "a" appears more than once (columns 1 and 3); column names must be unique',
    );
    // Names are compared without surrounding space, as the columns are looked up.
    expect(csvError(() => numericTable(parseCsv('a, a,y\n1,2,3\n'), { target: 'y' })).column).toBe('a');
    expect(csvError(() => numericTable(parseCsv(',a,y\n0,2,3\n'), { target: 'y' })).message).toContain(
      'column 1 has no name',
    );
    expect(csvError(() => numericTable(parseCsv('y\n1\n'), { target: 'y' })).message).toContain(
      'no feature columns besides the target "y"',
    );
  });
});

describe('numericTable with chosen columns, and classCount', () => {
  const text = 'id,b,a,label\nx1,1,2,0\nx2,3,4,2\n';

  it('reads the named feature columns in the given order and ignores the rest', () => {
    const table = numericTable(parseCsv(text, { fileName: 'p.csv' }), { columns: ['a', 'b'] });
    expect(table.columns).toEqual(['a', 'b']);
    expect(table.X).toEqual([
      [2, 1],
      [4, 3],
    ]);
    expect(table.lines).toEqual([2, 3]);
  });

  it('refuses a chosen column that appears twice, and ignores duplicates among the other columns', () => {
    const e = csvError(() => numericTable(parseCsv('a,b,a\n1,2,3\n'), { columns: ['b', 'a'] }));
    expect(e.message).toContain('the column "a" appears more than once (columns 1 and 3)');
    const ignored = numericTable(parseCsv('note,note,a,\nx,y,1,\n'), { columns: ['a'] });
    expect(ignored.X).toEqual([[1]]);
  });

  it('names a missing feature column', () => {
    const e = csvError(() => numericTable(parseCsv(text, { fileName: 'p.csv' }), { columns: ['a', 'c'] }));
    expect(e.message).toBe('p.csv: missing column "c"; the columns are "id", "b", "a", "label"');
    expect(e.column).toBe('c');
  });

  it('counts classes and names the line of a label that is not a class index', () => {
    const table = numericTable(parseCsv(text), { columns: ['a', 'b'], target: 'label' });
    expect(classCount(table)).toBe(3);
    expect(classCount(table, 5)).toBe(5);
    const tooLarge = csvError(() => classCount(table, 2));
    expect(tooLarge.message).toBe(
      '<input>: line 3, column "label": 2 is not a class label (an integer 0, 1, 2, … below 2)',
    );
    const fractional = numericTable(parseCsv('x,y\n1,0\n2,0.5\n', { fileName: 'l.csv' }), { target: 'y' });
    expect(csvError(() => classCount(fractional)).message).toBe(
      'l.csv: line 3, column "y": 0.5 is not a class label (an integer 0, 1, 2, …)',
    );
    const negative = numericTable(parseCsv('x,y\n1,-1\n'), { target: 'y' });
    expect(csvError(() => classCount(negative)).row).toBe(2);
    expect(csvError(() => classCount(numericTable(parseCsv('x\n1\n')))).message).toContain(
      'no target column',
    );
  });
});

describe('formatCsv', () => {
  it('quotes only what needs quoting and writes numbers exactly', () => {
    const text = formatCsv(
      ['mean', 'note'],
      [
        [0.1, 'a,b'],
        [-2e-300, 'say "x"'],
        [3, 'two\nlines'],
        [4, ' padded'],
      ],
    );
    expect(text).toBe('mean,note\n0.1,"a,b"\n-2e-300,"say ""x"""\n3,"two\nlines"\n4," padded"\n');
  });

  it('rejects a row of the wrong width', () => {
    expect(csvError(() => formatCsv(['a', 'b'], [[1]])).message).toContain('row 0 has 1 fields');
  });

  const field = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', '\r\n', '1', '.', 'é') }),
    fc.string(),
  );
  const table = fc.integer({ min: 1, max: 5 }).chain((width) =>
    fc.record({
      header: fc.array(field, { minLength: width, maxLength: width }),
      rows: fc.array(fc.array(field, { minLength: width, maxLength: width }), { maxLength: 6 }),
    }),
  );

  test.prop([table])('parseCsv(formatCsv(header, rows)) gives back header and rows', ({ header, rows }) => {
    // A header that is one empty field would be a blank line: the one table CSV cannot hold.
    fc.pre(!(header.length === 1 && header[0] === ''));
    const parsed = parseCsv(formatCsv(header, rows));
    expect(parsed.header).toEqual(header);
    expect(parsed.rows).toEqual(rows);
  });

  test.prop([
    fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }), {
      minLength: 1,
      maxLength: 8,
    }),
  ])('numbers survive formatCsv and numericTable bit for bit', (X) => {
    const table = numericTable(parseCsv(formatCsv(['a', 'b', 'c'], X)), { target: 'b' });
    expect(table.X).toEqual(X.map(([a, , c]) => [a, c]));
    expect(table.y).toEqual(X.map((row) => row[1]));
  });
});

describe('the shipped datasets', () => {
  it.each([
    ['digits.csv', 'label', 1797, 64, 10],
    ['breast_cancer.csv', 'label', 569, 30, 2],
    ['wine.csv', 'label', 178, 13, 3],
    ['diabetes.csv', 'target', 442, 10, undefined],
    ['toy-regression.csv', 'y', 80, 1, undefined],
    ['toy-regression-test.csv', 'y', 200, 1, undefined],
    ['moons.csv', 'label', 300, 2, 2],
  ] as const)('%s parses to the size data/README.md states', (file, target, rows, features, classes) => {
    const text = readFileSync(new URL(`../../data/${file}`, import.meta.url), 'utf8');
    const table = numericTable(parseCsv(text, { fileName: file }), { target });
    expect(table.X).toHaveLength(rows);
    expect(table.columns).toHaveLength(features);
    if (classes !== undefined) expect(classCount(table)).toBe(classes);
  });
});

/**
 * CSV in and out, without the file system.
 *
 * The grammar is RFC 4180's: records separated by line breaks (LF, CRLF, or
 * the CR alone of old Mac files),
 * fields separated by commas, a field that contains a comma, a quote or a line
 * break is wrapped in double quotes and its quotes are doubled. The first record
 * is the header. A byte-order mark and one final line break are ignored; blank
 * lines are skipped, since a spreadsheet's trailing empty rows are not data.
 * Column names are compared without surrounding space, and a table whose
 * columns are read by name must not have two of one name.
 *
 * Every error is a `CsvError` whose one-line message names the file, the line a
 * user sees in an editor (1-based, counting the header and the lines inside
 * quoted fields) and the column, so that a CLI can print it and exit.
 */
import { LaplaceTsError } from '../errors.js';

/** Bad CSV input: where it is (`fileName`, 1-based `row` as a line number, `column` name) and what is wrong. */
export class CsvError extends LaplaceTsError {
  override name = 'CsvError';
  readonly fileName: string;
  readonly row: number | undefined;
  readonly column: string | undefined;
  constructor(message: string, details: { fileName: string; row?: number; column?: string }) {
    super(message);
    this.fileName = details.fileName;
    this.row = details.row;
    this.column = details.column;
  }
}

/** A parsed file: the header, the data records as strings, and the line each record starts on. */
export interface ParsedCsv {
  fileName: string;
  header: string[];
  rows: string[][];
  /** `lines[i]` is the 1-based line on which `rows[i]` starts (the header is on line `headerLine`). */
  lines: number[];
  headerLine: number;
}

export interface CsvOptions {
  /** Named in error messages; `'<input>'` if omitted. */
  fileName?: string;
}

/**
 * Split CSV text into a header and records, keeping every field exactly as
 * written. Ragged records are reported here: a record with a different number
 * of fields than the header names its line.
 */
export function parseCsv(text: string, { fileName = '<input>' }: CsvOptions = {}): ParsedCsv {
  const records: { fields: string[]; line: number }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let recordLine = 1;
  let atRecordStart = true;
  let lastFieldQuoted = false;

  const endRecord = () => {
    fields.push(field);
    // A record that is one empty, unquoted field is a blank line.
    if (!(fields.length === 1 && fields[0] === '' && !lastFieldQuoted))
      records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    atRecordStart = true;
    lastFieldQuoted = false;
  };

  while (i < text.length) {
    if (atRecordStart) {
      recordLine = line;
      atRecordStart = false;
    }
    const c = text[i]!;
    if (c === '"' && field === '' && !lastFieldQuoted) {
      // A quoted field runs to the next quote not followed by another quote.
      const openedOn = line;
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new CsvError(`${fileName}: line ${openedOn}: a quoted field is never closed`, {
            fileName,
            row: openedOn,
          });
        }
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        // CRLF is one line break, and so are a lone CR and a lone LF.
        if (q === '\n' || (q === '\r' && text[i + 1] !== '\n')) line++;
        field += q;
        i++;
      }
      lastFieldQuoted = true;
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new CsvError(
          `${fileName}: line ${line}: unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a field must be doubled)`,
          { fileName, row: line },
        );
      }
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
      lastFieldQuoted = false;
      i++;
    } else if (c === '\n' || c === '\r') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      field += c;
      i++;
    }
  }
  if (!atRecordStart) endRecord();

  const first = records[0];
  if (first === undefined) throw new CsvError(`${fileName}: the file is empty (no header row)`, { fileName });
  const header = first.fields;
  const width = header.length;
  for (const record of records.slice(1)) {
    if (record.fields.length !== width) {
      throw new CsvError(
        `${fileName}: line ${record.line}: has ${record.fields.length} fields but the header has ${width}`,
        { fileName, row: record.line },
      );
    }
  }
  return {
    fileName,
    header,
    rows: records.slice(1).map((r) => r.fields),
    lines: records.slice(1).map((r) => r.line),
    headerLine: first.line,
  };
}

/** A numeric table: feature columns, their values by row, and the target if one was named. */
export interface NumericTable {
  fileName: string;
  /** Names of the feature columns, in the order of `X`'s columns, without the target. */
  columns: string[];
  X: number[][];
  /** Present when `target` was given. */
  y?: number[];
  /** Name of the target column, when given. */
  target?: string;
  /** `lines[i]` is the 1-based line of row i in the file, for later error messages. */
  lines: number[];
}

export interface NumericTableOptions extends CsvOptions {
  /** Name of the column to split off as `y`. */
  target?: string;
  /**
   * The feature columns to read, in this order (e.g. those a model was trained
   * on); other columns are ignored. By default every column but the target.
   */
  columns?: readonly string[];
}

/**
 * Read the feature (and target) cells as finite numbers. Empty cells, text,
 * `NaN` and infinities are errors naming the line and column; so are a table
 * without data rows, a target that is not a column, and a missing feature column.
 */
export function numericTable(parsed: ParsedCsv, options: NumericTableOptions = {}): NumericTable {
  const fileName = options.fileName ?? parsed.fileName;
  const { rows, lines } = parsed;
  // Names are compared without surrounding space: "a, b" names columns "a" and "b".
  const header = parsed.header.map((name) => name.trim());
  const known = () => `the columns are ${header.map((h) => JSON.stringify(h)).join(', ')}`;
  const target = options.target?.trim();
  const targetIndex = target === undefined ? -1 : header.indexOf(target);
  if (target !== undefined && targetIndex < 0) {
    throw new CsvError(`${fileName}: unknown target column ${JSON.stringify(options.target)}; ${known()}`, {
      fileName,
      row: parsed.headerLine,
      column: options.target,
    });
  }
  // A column read is found by its name, so the name must be there and be unique: read twice,
  // fitting would use both columns and predicting the first twice.
  const unique = (name: string, c: number) => {
    if (name === '') {
      throw new CsvError(
        `${fileName}: line ${parsed.headerLine}: column ${c + 1} has no name; every column read needs one`,
        { fileName, row: parsed.headerLine },
      );
    }
    const again = header.indexOf(name, c + 1);
    const first = header.indexOf(name);
    if (again >= 0 || first !== c) {
      throw new CsvError(
        `${fileName}: line ${parsed.headerLine}: the ${c === targetIndex ? 'target ' : ''}column ${JSON.stringify(name)} appears more than once (columns ${first + 1} and ${again >= 0 ? again + 1 : c + 1}); column names must be unique`,
        { fileName, row: parsed.headerLine, column: name },
      );
    }
  };
  if (targetIndex >= 0) unique(target!, targetIndex);
  const featureIndices =
    options.columns === undefined
      ? header.flatMap((_, c) => (c === targetIndex ? [] : [c]))
      : options.columns.map((name) => {
          const c = header.indexOf(name.trim());
          if (c < 0 || c === targetIndex) {
            throw new CsvError(`${fileName}: missing column ${JSON.stringify(name)}; ${known()}`, {
              fileName,
              row: parsed.headerLine,
              column: name,
            });
          }
          return c;
        });
  for (const c of featureIndices) unique(header[c]!, c);
  if (featureIndices.length === 0) {
    throw new CsvError(
      `${fileName}: no feature columns besides the target ${JSON.stringify(options.target)}`,
      {
        fileName,
        row: parsed.headerLine,
      },
    );
  }
  if (rows.length === 0) {
    throw new CsvError(`${fileName}: no data rows after the header`, {
      fileName,
      row: parsed.headerLine + 1,
    });
  }
  const cell = (r: number, c: number) => parseNumber(rows[r]![c]!, fileName, lines[r]!, header[c]!);
  const X = rows.map((_, r) => featureIndices.map((c) => cell(r, c)));
  const table: NumericTable = {
    fileName,
    columns: featureIndices.map((c) => header[c]!),
    X,
    lines: [...lines],
  };
  if (targetIndex >= 0) {
    table.y = rows.map((_, r) => cell(r, targetIndex));
    table.target = header[targetIndex]!;
  }
  return table;
}

/**
 * Check that the target holds class indices 0, 1, …, K−1 and return K (the
 * largest label plus one, or `nClasses` when given, e.g. by a trained model).
 * The error names the line and column of the first bad label.
 */
export function classCount(table: NumericTable, nClasses?: number): number {
  const { fileName, y, target } = table;
  if (y === undefined || target === undefined) {
    throw new CsvError(`${fileName}: no target column was named, so there are no class labels`, { fileName });
  }
  let largest = 0;
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    const limit = nClasses === undefined ? '' : ` below ${nClasses}`;
    if (!(Number.isInteger(label) && label >= 0 && (nClasses === undefined || label < nClasses))) {
      throw new CsvError(
        `${fileName}: line ${table.lines[i]}, column ${JSON.stringify(target)}: ${label} is not a class label (an integer 0, 1, 2, …${limit})`,
        { fileName, row: table.lines[i]!, column: target },
      );
    }
    largest = Math.max(largest, label);
  }
  return nClasses ?? largest + 1;
}

// Decimal or scientific notation only: Number('') is 0 and Number('0x1f') is 31, neither is data.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(cell: string, fileName: string, line: number, column: string): number {
  const text = cell.trim();
  const where = `${fileName}: line ${line}, column ${JSON.stringify(column)}`;
  if (text === '') throw new CsvError(`${where}: empty cell`, { fileName, row: line, column });
  if (/^[+-]?(nan|inf|infinity)$/i.test(text)) {
    throw new CsvError(`${where}: ${JSON.stringify(cell)} is not a finite number`, {
      fileName,
      row: line,
      column,
    });
  }
  const value = NUMBER.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(value)) {
    throw new CsvError(`${where}: ${JSON.stringify(cell)} is not a number`, { fileName, row: line, column });
  }
  if (!Number.isFinite(value)) {
    throw new CsvError(`${where}: ${JSON.stringify(cell)} overflows to infinity`, {
      fileName,
      row: line,
      column,
    });
  }
  return value;
}

/**
 * Write a header and rows as CSV with LF line ends and a final line break.
 * Numbers are written in JavaScript's shortest round-trip form; a field is
 * quoted only when it contains a comma, a quote, a line break or leading or
 * trailing space, or is empty in a one-column file (where it would read back as a blank line).
 */
export function formatCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const width = header.length;
  const quote = (value: string | number): string => {
    const text = typeof value !== 'number' ? value : Object.is(value, -0) ? '-0' : String(value);
    const needsQuotes = /[",\r\n]/.test(text) || text !== text.trim() || (width === 1 && text === '');
    return needsQuotes ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [header.map(quote).join(',')];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== width) {
      throw new CsvError(`formatCsv: row ${r} has ${row.length} fields but the header has ${width}`, {
        fileName: '<output>',
        row: r + 2,
      });
    }
    lines.push(row.map(quote).join(','));
  }
  return `${lines.join('\n')}\n`;
}

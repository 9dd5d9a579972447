/**
 * Terminal output for the demo and the CLI: a progress bar and compact tables.
 *
 * The bar is for a human watching a terminal. On a TTY it redraws one line in
 * place with a carriage return (at most every `intervalMs`, since writing to a
 * terminal is not free); when the stream is piped or redirected it draws
 * nothing while running and prints one summary line when done, so logs stay
 * readable. Time and the stream are injectable, which is how the tests drive it.
 */
import { type Cell, cellText, tableColumns } from './report.js';

/** The part of a writable stream the bar needs; `process.stderr` fits. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Where to draw, e.g. `process.stderr`, so that stdout stays clean for results. */
  stream: ProgressStream;
  /** Print nothing at all, not even the summary line. */
  quiet?: boolean;
  /** Minimum time between redraws on a TTY. */
  intervalMs?: number;
  /** Clock in milliseconds; `performance.now` by default. */
  now?: () => number;
}

/** Seconds or minutes, to a sensible precision: "0.4s", "12s", "2m05s". */
export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return '?';
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - 60 * minutes)).padStart(2, '0')}s`;
}

/** A progress bar over `total` steps of work named `label`. */
export class ProgressBar {
  private done = 0;
  private detail = '';
  private lastDraw = Number.NEGATIVE_INFINITY;
  private finished = false;
  private readonly start: number;
  private readonly stream: ProgressStream;
  private readonly interactive: boolean;
  private readonly quiet: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    readonly label: string,
    readonly total: number,
    options: ProgressOptions,
  ) {
    this.stream = options.stream;
    this.quiet = options.quiet ?? false;
    this.interactive = !this.quiet && this.stream.isTTY === true;
    this.intervalMs = options.intervalMs ?? 80;
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Advance by `steps` (default 1), optionally with a short note such as the current loss. */
  tick(steps = 1, detail?: string): void {
    this.update(this.done + steps, detail);
  }

  /** Set the number of steps done. */
  update(done: number, detail?: string): void {
    if (this.finished) return;
    this.done = Math.min(Math.max(done, 0), this.total);
    if (detail !== undefined) this.detail = detail;
    if (!this.interactive) return;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs && this.done < this.total) return;
    this.lastDraw = t;
    this.stream.write(`\r${this.line(t)}\x1b[K`);
  }

  /** Complete the bar: on a TTY, draw it full and end the line; otherwise print one summary line. */
  finish(summary?: string): void {
    if (this.finished) return;
    this.done = this.total;
    if (summary !== undefined) this.detail = summary;
    this.finished = true;
    if (this.quiet) return;
    const t = this.now();
    if (this.interactive) this.stream.write(`\r${this.line(t)}\x1b[K\n`);
    else {
      const note = this.detail ? `, ${this.detail}` : '';
      this.stream.write(
        `${this.label}: ${this.total}/${this.total} in ${formatDuration(t - this.start)}${note}\n`,
      );
    }
  }

  /** `label [██████▌     ]  55% 11/20 3.1s, eta 2.5s  detail`, fitted to the terminal width. */
  private line(t: number): string {
    const fraction = this.total > 0 ? this.done / this.total : 1;
    const elapsed = t - this.start;
    const eta =
      fraction > 0 && fraction < 1 ? `, eta ${formatDuration((elapsed * (1 - fraction)) / fraction)}` : '';
    const counts = `${String(Math.floor(100 * fraction)).padStart(3)}% ${this.done}/${this.total} ${formatDuration(elapsed)}${eta}`;
    const barWidth = 24;
    const eighths = Math.round(fraction * barWidth * 8);
    const partial = eighths % 8 === 0 ? '' : ' ▏▎▍▌▋▊▉'[eighths % 8]!;
    const bar = '█'.repeat(Math.floor(eighths / 8)) + partial;
    const text = `${this.label} [${bar.padEnd(barWidth)}] ${counts}${this.detail ? `  ${this.detail}` : ''}`;
    const width = this.stream.columns ?? 100;
    return text.length < width ? text : `${text.slice(0, Math.max(width - 2, 0))}…`;
  }
}

/** Shorthand: `const bar = progress('training', epochs, { stream }); … bar.tick(); … bar.finish();` */
export function progress(label: string, total: number, options: ProgressOptions): ProgressBar {
  return new ProgressBar(label, total, options);
}

export interface FormatTableOptions {
  /** Column order; by default the keys of the first row. */
  columns?: readonly string[];
  /** Decimals for non-integer numbers (default 3). */
  digits?: number;
}

/**
 * A compact plain-text table: a header, a rule, and rows; numbers
 * right-aligned, text left-aligned, columns two spaces apart.
 *
 *   method   test NLL  accuracy
 *   ───────  ────────  ────────
 *   MAP         0.412     0.871
 */
export function formatTable(rows: readonly Record<string, Cell>[], options: FormatTableOptions = {}): string {
  const columns = tableColumns({ rows, columns: options.columns });
  const numeric = columns.map((c) => rows.some((row) => typeof row[c] === 'number'));
  const text = rows.map((row) => columns.map((c) => cellText(row[c], options.digits)));
  // Width in code points, so that σ or ± count as one column.
  const length = (s: string) => [...s].length;
  const widths = columns.map((c, j) => Math.max(length(c), ...text.map((cells) => length(cells[j]!))));
  const pad = (s: string, j: number) => {
    const fill = ' '.repeat(widths[j]! - length(s));
    return numeric[j] ? fill + s : s + fill;
  };
  const lines = [
    columns.map((c, j) => pad(c, j)).join('  '),
    widths.map((w) => '─'.repeat(w)).join('  '),
    ...text.map((cells) => cells.map((s, j) => pad(s, j)).join('  ')),
  ];
  return lines.map((line) => line.trimEnd()).join('\n');
}

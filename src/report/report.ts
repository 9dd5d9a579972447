/**
 * A self-contained HTML report: one string with inline CSS and inline SVG, no
 * scripts, no external fonts or images, so it opens offline and can be mailed
 * or attached to CI as one file. Writing it to disk is the caller's job.
 *
 * A report is a title, an optional summary and sections; a section holds
 * blocks in order: paragraphs, bullet lists, tables, figures (one, or several
 * side by side), and trusted raw HTML as an escape hatch. Text is escaped;
 * only `html` blocks and SVG figures are inserted verbatim.
 */
import { escapeXml, extremeIndex } from './svg.js';

/** A table cell: text as is, numbers formatted to `digits` decimals. */
export type Cell = string | number;

/** Rows keyed by column name; columns in the order given, or the first row's key order. */
export interface Table {
  rows: readonly Record<string, Cell>[];
  columns?: readonly string[];
  caption?: string;
  /** Decimals for non-integer numbers (default 3). */
  digits?: number;
  /** Bold the best value of these columns: the smallest (`'min'`, e.g. NLL) or largest (`'max'`, e.g. accuracy). */
  best?: Readonly<Record<string, 'min' | 'max'>>;
}

export interface Figure {
  /** An SVG string, e.g. from ./svg.ts. */
  svg: string;
  caption?: string;
  /** A file name stem for exporting the figure on its own (not shown). */
  name?: string;
}

export type Block =
  | { paragraph: string }
  | { list: readonly string[] }
  | { table: Table }
  | { figure: Figure }
  | { figures: readonly Figure[] }
  | { html: string };

export interface Section {
  title: string;
  blocks: readonly Block[];
}

export interface ReportOptions {
  title: string;
  summary?: string;
  sections: readonly Section[];
  /** A line at the bottom, e.g. the command, seed and run time. */
  footer?: string;
}

/** Text for HTML: the same five escapes as XML. */
export const escapeHtml = escapeXml;

/**
 * A number for a table: integers as they are, others with `digits` decimals,
 * very large or small magnitudes in exponent form; non-finite values as words.
 */
export function formatNumber(value: number, digits = 3): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 10 ** -digits)) return value.toExponential(2);
  return value.toFixed(digits);
}

/** The text of a cell: as it is, a number by `formatNumber`, nothing for a missing cell. */
export function cellText(value: Cell | undefined, digits?: number): string {
  return value === undefined ? '' : typeof value === 'number' ? formatNumber(value, digits) : value;
}

/** The columns of a table: as given, or the keys of the first row. */
export function tableColumns(table: Pick<Table, 'rows' | 'columns'>): string[] {
  return [...(table.columns ?? Object.keys(table.rows[0] ?? {}))];
}

/** Row index of the best finite number in each column named in `best`. */
export function bestRows(table: Table): Map<string, number> {
  const winners = new Map<string, number>();
  for (const [column, which] of Object.entries(table.best ?? {})) {
    const values = table.rows.map((row) => {
      const v = row[column];
      return typeof v === 'number' ? v : Number.NaN;
    });
    const bestIndex = extremeIndex(values, which);
    if (bestIndex >= 0) winners.set(column, bestIndex);
  }
  return winners;
}

/** An HTML table; numeric columns are right-aligned, missing cells are left empty. */
export function htmlTable(table: Table): string {
  const columns = tableColumns(table);
  const winners = bestRows(table);
  const numeric = columns.map((c) => table.rows.some((row) => typeof row[c] === 'number'));
  const head = columns.map((c, j) => `<th${numeric[j] ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('');
  const body = table.rows
    .map((row, i) => {
      const cells = columns.map((c, j) => {
        const text = cellText(row[c], table.digits);
        const content = winners.get(c) === i ? `<strong>${escapeHtml(text)}</strong>` : escapeHtml(text);
        return `<td${numeric[j] ? ' class="num"' : ''}>${content}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const caption = table.caption ? `<caption>${escapeHtml(table.caption)}</caption>` : '';
  return `<table>${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

function figureHtml({ svg, caption }: Figure): string {
  return `<figure>${svg}${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`;
}

function blockHtml(block: Block): string {
  if ('paragraph' in block) return `<p>${escapeHtml(block.paragraph)}</p>`;
  if ('list' in block) return `<ul>${block.list.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;
  if ('table' in block) return `<div class="table-wrap">${htmlTable(block.table)}</div>`;
  if ('figure' in block) return figureHtml(block.figure);
  if ('figures' in block) return `<div class="figure-row">${block.figures.map(figureHtml).join('\n')}</div>`;
  return block.html;
}

/** An anchor id from a heading: lower case, runs of other characters become '-'. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'section'
  );
}

const STYLE = `
:root { color-scheme: light; --ink: #222; --muted: #666; --rule: #ddd; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: var(--ink); background: #fafafa; }
main { max-width: 980px; margin: 0 auto; padding: 2rem 1.25rem 4rem; background: #fff; }
h1 { font-size: 1.9rem; margin: 0 0 0.4rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 0.75rem; padding-top: 0.5rem; border-top: 1px solid var(--rule); }
p.summary { font-size: 1.05rem; color: var(--muted); margin-top: 0; }
nav ol { margin: 0.5rem 0 0; padding-left: 1.25rem; columns: 2; }
a { color: var(--accent); }
figure { margin: 1.25rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.9rem; color: var(--muted); margin-top: 0.4rem; }
.figure-row { display: flex; flex-wrap: wrap; gap: 1rem; }
.figure-row figure { flex: 1 1 300px; margin: 0.5rem 0; }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.92rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4rem; }
th, td { padding: 0.3rem 0.75rem; border-bottom: 1px solid var(--rule); text-align: left; }
th { border-bottom: 2px solid var(--ink); }
.num { text-align: right; }
tbody tr:nth-child(even) { background: #f6f8fa; }
footer { margin-top: 3rem; font-size: 0.85rem; color: var(--muted); }
`;

/** The whole page as one string. */
export function renderReport({ title, summary, sections, footer }: ReportOptions): string {
  const used = new Map<string, number>();
  const ids = sections.map((s) => {
    const base = slug(s.title);
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
  const toc =
    sections.length > 1
      ? `<nav><strong>Contents</strong><ol>${sections.map((s, i) => `<li><a href="#${ids[i]}">${escapeHtml(s.title)}</a></li>`).join('')}</ol></nav>`
      : '';
  const body = sections
    .map(
      (s, i) =>
        `<section id="${ids[i]}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.blocks.map(blockHtml).join('\n')}\n</section>`,
    )
    .join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${escapeHtml(title)}</h1>`,
    summary ? `<p class="summary">${escapeHtml(summary)}</p>` : '',
    toc,
    body,
    footer ? `<footer>${escapeHtml(footer)}</footer>` : '',
    '</main>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line, i, all) => line !== '' || i === all.length - 1)
    .join('\n');
}

/**
 * The demo as a function: run the four parts, print each one's tables and
 * claims as it finishes, and assemble the HTML report. `demoMain` is the
 * command behind `npm start` (demo/main.ts only calls it); the tests call it
 * in process with `--quick`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable, type ProgressStream } from '../src/report/progress.js';
import { type Block, renderReport, type Section } from '../src/report/report.js';
import type { Claim, DemoOptions, PartResult } from './common.js';
import { depthPart } from './depth.js';
import { gapPart } from './gap.js';
import { moonsPart } from './moons.js';
import { realDataPart } from './real-data.js';

export interface DemoResult {
  parts: PartResult[];
  claims: Claim[];
  html: string;
  seconds: number;
}

const PARTS = [gapPart, moonsPart, depthPart, realDataPart];

/** The text a part prints in the terminal: title, tables with captions, claims. */
export function partText(part: PartResult, index: number): string {
  const lines = [`\n${index + 1}. ${part.title}  (${part.seconds.toFixed(1)} s)`];
  for (const table of part.tables) {
    lines.push('', table.caption ?? '', formatTable(table.rows, { columns: table.columns, digits: 3 }));
  }
  lines.push('');
  for (const claim of part.claims)
    lines.push(`  ${claim.holds ? '✓' : '✗'} ${claim.statement}: ${claim.evidence}`);
  return lines.join('\n');
}

export function runDemo(options: DemoOptions & { stdout?: ProgressStream; footer?: string }): DemoResult {
  const start = performance.now();
  const parts: PartResult[] = [];
  PARTS.forEach((part, i) => {
    const result = part(options);
    parts.push(result);
    options.stdout?.write(`${partText(result, i)}\n`);
  });
  const claims = parts.flatMap((p) => p.claims);
  const seconds = (performance.now() - start) / 1000;
  const sections: Section[] = parts.map((part) => ({
    title: part.title,
    blocks: [
      ...part.intro.map((paragraph): Block => ({ paragraph })),
      ...part.figures.map((row): Block => (row.length === 1 ? { figure: row[0]! } : { figures: row })),
      ...part.tables.map((table): Block => ({ table: { digits: 3, ...table } })),
      { list: part.claims.map((c) => `${c.holds ? '✓' : '✗'} ${c.statement}: ${c.evidence}.`) },
      ...part.notes.map((paragraph): Block => ({ paragraph })),
    ],
  }));
  const html = renderReport({
    title: 'laplace-ts: what linearised Laplace does',
    summary: `${options.quick ? 'Quick run (CI). ' : ''}Four experiments on built-in data: uncertainty in and beyond a gap, overconfidence far from the data, model selection by the evidence, and real data. ${claims.filter((c) => c.holds).length} of ${claims.length} claims hold in this run.`,
    sections,
    footer:
      options.footer ??
      `npm start${options.quick ? ' -- --quick' : ''}; fixed seeds; ${seconds.toFixed(0)} s`,
  });
  return { parts, claims, html, seconds };
}

const USAGE = `Usage: npm start [-- --quick] [-- --out DIR] [-- --figures DIR]
Runs the demo on built-in data, prints tables (progress bars on stderr) and
writes a self-contained HTML report to DIR/index.html (default report/).
  --quick      the reduced run used in CI
  --out DIR    where to write index.html
  --figures D  also write each figure as D/<name>.svg (docs/images/ holds the README's)`;

/** `npm start [-- --quick] [-- --out DIR]`: run, print, write the report; null after --help. */
export function demoMain(
  argv: string[],
  io: { stdout: ProgressStream; stderr: ProgressStream },
): DemoResult | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'report' },
      figures: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return null;
  }
  io.stdout.write(
    `laplace-ts demo${values.quick ? ' (quick)' : ''}: linearised Laplace on built-in data. Progress on stderr; tables below.\n`,
  );
  const result = runDemo({ quick: values.quick, progress: io.stderr, stdout: io.stdout });
  const directory = resolve(values.out);
  mkdirSync(directory, { recursive: true });
  const path = resolve(directory, 'index.html');
  writeFileSync(path, result.html);
  if (values.figures !== undefined) {
    // Each named figure as its own SVG file, e.g. for the README's pictures in docs/images/.
    mkdirSync(values.figures, { recursive: true });
    for (const figure of result.parts.flatMap((p) => p.figures.flat())) {
      if (figure.name) writeFileSync(resolve(values.figures, `${figure.name}.svg`), `${figure.svg}\n`);
    }
  }
  const held = result.claims.filter((c) => c.holds).length;
  io.stdout.write(
    `\n${held} of ${result.claims.length} claims hold; finished in ${result.seconds.toFixed(0)} s.\n`,
  );
  io.stdout.write(`Report: ${path}\n`);
  return result;
}

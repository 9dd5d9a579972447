/**
 * Benchmark harness: tinybench medians, printed as a table with ratios against a
 * baseline measured in the same process. Timing belongs here, never in tests.
 */
import { Bench } from 'tinybench';

export interface Case {
  name: string;
  fn: () => unknown;
  /** Floating-point operations per call, to report GFLOP/s. */
  flops?: number;
}

export interface Row {
  name: string;
  medianMs: number;
  gflops?: number;
  ratio?: number;
}

/** Run the cases and return medians; `baseline` names the case ratios are taken against (its time / ours). */
export async function measure(
  title: string,
  cases: Case[],
  { baseline, time = 500, iterations = 5 }: { baseline?: string; time?: number; iterations?: number } = {},
): Promise<Row[]> {
  const bench = new Bench({ time, iterations, warmup: true, warmupIterations: 2, warmupTime: 100 });
  for (const c of cases) bench.add(c.name, c.fn);
  await bench.run();
  const rows: Row[] = cases.map((c, i) => {
    const task = bench.tasks[i]!;
    const result = task.result as { latency?: { p50?: number }; period?: number } | undefined;
    const medianMs = result?.latency?.p50 ?? result?.period ?? Number.NaN;
    return { name: c.name, medianMs, ...(c.flops ? { gflops: c.flops / (medianMs * 1e6) } : {}) };
  });
  const base = rows.find((r) => r.name === baseline);
  if (base) for (const r of rows) r.ratio = base.medianMs / r.medianMs;
  printTable(title, rows);
  return rows;
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const header = ['case', 'median ms', 'GFLOP/s', 'speed-up vs baseline'];
  const lines = rows.map((r) => [
    r.name,
    r.medianMs < 10 ? r.medianMs.toFixed(3) : r.medianMs.toFixed(1),
    r.gflops === undefined ? '' : r.gflops.toFixed(2),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...lines.map((l) => l[j]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
}

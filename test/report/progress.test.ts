import { describe, expect, it } from 'vitest';
import { formatDuration, formatTable, ProgressBar } from '../../src/report/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 80, write: (s: string) => writes.push(s) } };
}

describe('ProgressBar', () => {
  it('when piped, prints nothing while running and one summary line at the end', () => {
    const { writes, stream } = fakeStream(false);
    let t = 0;
    const bar = new ProgressBar('training', 10, { stream, now: () => t });
    for (let i = 0; i < 10; i++) {
      t += 500;
      bar.tick(1, `loss ${i}`);
    }
    expect(writes).toEqual([]);
    bar.finish();
    bar.finish();
    expect(writes).toEqual(['training: 10/10 in 5.0s, loss 9\n']);
  });

  it('on a TTY redraws one line in place, throttled, and ends it with a newline', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const bar = new ProgressBar('fit', 4, { stream, now: () => t, intervalMs: 100 });
    bar.tick(); // t = 0: drawn
    t = 50;
    bar.tick(); // too soon: skipped
    t = 200;
    bar.tick(); // drawn
    bar.finish('done');
    expect(writes).toHaveLength(3);
    for (const w of writes) expect(w.startsWith('\r')).toBe(true);
    expect(writes[0]).toContain(' 25% 1/4');
    expect(writes[0]).toContain('eta');
    expect(writes[1]).toContain(' 75% 3/4');
    const clearToEnd = '\x1b[K';
    expect(writes[2]).toBe(`\rfit [${'█'.repeat(24)}] 100% 4/4 0.2s  done${clearToEnd}\n`);
    for (const w of writes) expect(w.replace(clearToEnd, '').trim().length).toBeLessThan(80);
  });

  it('quiet prints nothing at all', () => {
    const { writes, stream } = fakeStream(true);
    const bar = new ProgressBar('x', 2, { stream, quiet: true });
    bar.tick();
    bar.finish();
    expect(writes).toEqual([]);
  });

  it('formats durations', () => {
    expect(formatDuration(420)).toBe('0.4s');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(125_000)).toBe('2m05s');
  });
});

describe('formatTable', () => {
  it('aligns numbers right and text left under a rule', () => {
    const table = formatTable([
      { method: 'MAP', 'test NLL': 0.41234, n: 360 },
      { method: 'GLM (σ)', 'test NLL': 12.5, n: 36 },
    ]);
    expect(table).toBe(
      [
        'method   test NLL    n',
        '───────  ────────  ───',
        'MAP         0.412  360',
        'GLM (σ)    12.500   36',
      ].join('\n'),
    );
  });

  it('follows the given column order and leaves missing cells blank', () => {
    const table = formatTable([{ a: 1, b: 'x' }, { a: 2 }], { columns: ['b', 'a'] });
    expect(table.split('\n')).toEqual(['b  a', '─  ─', 'x  1', '   2']);
  });
});

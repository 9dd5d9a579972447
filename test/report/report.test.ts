import { describe, expect, it } from 'vitest';
import { bestRows, formatNumber, htmlTable, renderReport, slug } from '../../src/report/report.js';
import { linePlot } from '../../src/report/svg.js';

/** Tags nest and close in order; void elements (meta) need no closing tag. */
function expectBalanced(html: string): void {
  const stack: string[] = [];
  const body = html.replace(/^<!DOCTYPE html>/, '').replace(/<style>[\s\S]*?<\/style>/, '');
  for (const [, closing, name, selfClosing] of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    if (name === 'meta' || selfClosing) continue;
    if (closing) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
}

const rows = [
  { method: 'MAP', 'test NLL': 0.41234, accuracy: 0.87, n: 360 },
  { method: 'GLM <full>', 'test NLL': 0.30001, accuracy: 0.86, n: 360 },
  { method: 'NN', 'test NLL': Number.NaN, accuracy: 0.9, n: 360 },
];

describe('report', () => {
  it('formats numbers for tables', () => {
    expect(formatNumber(360)).toBe('360');
    expect(formatNumber(0.41234)).toBe('0.412');
    expect(formatNumber(-0.0001)).toBe('-1.00e-4');
    expect(formatNumber(-0.0004, 2)).toBe('-4.00e-4');
    expect(formatNumber(-0.004, 2)).toBe('-4.00e-3');
    expect(formatNumber(-0.01, 2)).toBe('-0.01');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(1.5e7)).toBe('15000000');
    expect(formatNumber(1.25e7 + 0.5)).toBe('1.25e+7');
    expect(formatNumber(Number.NaN)).toBe('n/a');
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe('−∞');
  });

  it('bolds the best finite value per column, ignoring NaN', () => {
    const table = { rows, best: { 'test NLL': 'min', accuracy: 'max' } as const };
    expect([...bestRows(table)]).toEqual([
      ['test NLL', 1],
      ['accuracy', 2],
    ]);
    const html = htmlTable({ ...table, caption: 'Digits' });
    expect(html).toContain('<td class="num"><strong>0.300</strong></td>');
    expect(html).toContain('<td class="num"><strong>0.900</strong></td>');
    expect(html).toContain('<td>GLM &lt;full&gt;</td>');
    expect(html).toContain('<td class="num">n/a</td>');
    expect(html).toContain('<caption>Digits</caption>');
    expect(html.match(/<tr>/g)).toHaveLength(4);
  });

  it('renders a self-contained page with sections, a table of contents, tables and figures', () => {
    const svg = linePlot({ title: 'a line', lines: [{ label: 'y = x', x: [0, 1], y: [0, 1] }] });
    const html = renderReport({
      title: 'laplace-ts demo',
      summary: 'What linearised Laplace does & why',
      sections: [
        { title: 'Regression', blocks: [{ paragraph: 'x < y' }, { figure: { svg, caption: 'bands' } }] },
        { title: 'Regression', blocks: [{ list: ['one', 'two'] }, { figures: [{ svg }, { svg }] }] },
        { title: 'Real data!', blocks: [{ table: { rows } }, { html: '<p class="raw">raw</p>' }] },
      ],
      footer: 'seed 0',
    });
    expectBalanced(html);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http|undefined/);
    expect(html).toContain('<p>x &lt; y</p>');
    expect(html).toContain('What linearised Laplace does &amp; why');
    expect(html).toContain('<section id="regression">');
    expect(html).toContain('<section id="regression-2">');
    expect(html).toContain('<a href="#real-data">Real data!</a>');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('<p class="raw">raw</p>');
    expect(slug('***')).toBe('section');
  });
});

/**
 * The demo's quick mode, as CI runs it: `npm start -- --quick` in process.
 * It must finish, write a self-contained report, and bear out the claims the
 * issue asks for: the GLM predictive beats the NN predictive on the gap data,
 * the evidence ranks a 1-hidden-layer net above a 20-layer one, and on digits
 * the GLM predictive detects out-of-distribution inputs better than the MAP.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Claim } from '../../demo/common.js';
import { type DemoResult, demoMain } from '../../demo/run.js';

let out: string;
let result: DemoResult;
let stdout = '';
let stderr = '';

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'laplace-ts-demo-'));
  result = demoMain(['--quick', '--out', out], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  })!;
}, 400_000); // about 60 s of CPU; the margin is for a loaded machine
afterAll(() => rmSync(out, { recursive: true, force: true }));

const claim = (id: string): Claim => {
  const found = result.claims.find((c) => c.id === id);
  if (!found) throw new Error(`no claim ${id}`);
  return found;
};

describe('npm start -- --quick', () => {
  it('GLM test NLL is below the NN predictive’s on the gap data', () => {
    expect(claim('gap-glm-beats-nn').holds, claim('gap-glm-beats-nn').evidence).toBe(true);
  });

  it('the evidence ranks the 1-hidden-layer net above the 20-layer one', () => {
    expect(claim('evidence-shallow-over-deep').holds, claim('evidence-shallow-over-deep').evidence).toBe(
      true,
    );
  });

  it('OOD AUROC of the GLM predictive is above the MAP’s on digits', () => {
    expect(claim('ood-glm-beats-map').holds, claim('ood-glm-beats-map').evidence).toBe(true);
  });

  it('on Fashion-MNIST, the CNN’s glm Laplace predictive tells digits and rotated images apart better than the MAP', () => {
    for (const id of [
      'images-ood-laplace-glm-kron',
      'images-rotated-auroc-laplace-glm-kron',
      'images-rotation-nll-laplace-glm-kron',
      'images-glm-beats-nn',
    ])
      expect(claim(id).holds, claim(id).evidence).toBe(true);
  });

  it('every other claim it prints holds too', () => {
    const failed = result.claims.filter((c) => !c.holds).map((c) => `${c.statement}: ${c.evidence}`);
    expect(failed).toEqual([]);
    expect(result.claims.length).toBeGreaterThanOrEqual(9);
  });

  it('prints a table per experiment, the claims and the report path; progress goes to stderr', () => {
    for (const heading of [
      '1. In-between',
      '2. Overconfidence',
      '3. Model selection',
      '4. Real data',
      '5. Images',
    ])
      expect(stdout).toContain(heading);
    expect(stdout).toMatch(/predictive\s+test NLL/);
    expect(stdout).toMatch(/✓ on digits, the GLM predictive tells unseen digits/);
    expect(stdout).toContain(`Report: ${join(out, 'index.html')}`);
    expect(stderr).toMatch(/^1\/4 gap: training: \d+\/\d+ in/m); // not a TTY: one summary line per bar
    expect(stderr).not.toMatch(/\r/);
  });

  it('writes a self-contained HTML report with the figures inline', () => {
    const path = join(out, 'index.html');
    expect(existsSync(path)).toBe(true);
    const html = readFileSync(path, 'utf8');
    expect(html).toBe(result.html);
    expect(html.match(/<section /g)).toHaveLength(5);
    expect((html.match(/<svg xmlns/g) ?? []).length).toBeGreaterThanOrEqual(8);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    // The image part: the reliability diagram, and the confident/unconfident grid's pictures inline as PNG.
    expect(html).toContain('Reliability (test images)');
    expect(html).toMatch(/href="data:image\/png;base64,/);
  });
});

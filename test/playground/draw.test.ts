/** The playground's drawing geometry in Node: view ↔ pixels, the decision boundary, the confidence colours. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { confidenceColor, decisionBoundary, Scale } from '../../playground/draw.js';
import { REGRESSION_VIEW } from '../../playground/fit.js';

describe('drawing geometry', () => {
  const area = { left: 36, top: 10, width: 600, height: 400 };
  const scale = new Scale(REGRESSION_VIEW, area);

  test.prop([fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -2.5, max: 2.5, noNaN: true })])(
    'pixels map back to the view point they came from',
    (x, y) => {
      const back = scale.invert(scale.px(x), scale.py(y))!;
      expect(back.x).toBeCloseTo(x, 9);
      expect(back.y).toBeCloseTo(y, 9);
    },
  );

  test('the view corners sit on the plot corners, y upward; outside is null', () => {
    expect([scale.px(-3), scale.py(2.5)]).toEqual([area.left, area.top]);
    expect([scale.px(3), scale.py(-2.5)]).toEqual([area.left + area.width, area.top + area.height]);
    expect(scale.invert(area.left - 1, area.top + 5)).toBeNull();
  });

  test.prop([fc.double({ min: -1, max: 2, noNaN: true }), fc.double({ min: 0.3, max: 3, noNaN: true })])(
    'the decision boundary of a logistic ramp is the line where p = ½',
    (threshold, steepness) => {
      // p(x, y) = σ(k·(x + y/2 − c)) has its boundary on x + y/2 = c.
      const nx = 21;
      const ny = 17;
      const xs = Array.from({ length: nx }, (_, i) => -1.75 + (4.5 * i) / (nx - 1));
      const ys = Array.from({ length: ny }, (_, i) => -1.25 + (3 * i) / (ny - 1));
      const field = (x: number, y: number) => x + y / 2 - threshold;
      const probs = ys.flatMap((y) => xs.map((x) => 1 / (1 + Math.exp(-steepness * field(x, y)))));
      const segments = decisionBoundary({ task: 'classification', nx, ny, xs, ys, probs });
      expect(segments.length).toBeGreaterThan(0);
      // Linear interpolation of a logistic is exact only at p = ½ up to the curvature of σ within one cell.
      const cell = 4.5 / (nx - 1);
      for (const [ax, ay, bx, by] of segments) {
        expect(Math.abs(field(ax, ay))).toBeLessThan(cell);
        expect(Math.abs(field(bx, by))).toBeLessThan(cell);
      }
    },
  );

  test('confidence colours: white at ½, the class colour at certainty, symmetric in confidence', () => {
    expect(confidenceColor(0.5)).toEqual([255, 255, 255]);
    const [r0, g0, b0] = confidenceColor(0);
    const [r1, , b1] = confidenceColor(1);
    expect(b0).toBeGreaterThan(r0); // class A is blue
    expect(r1).toBeGreaterThan(b1); // class B is orange
    const whiteness = (c: number[]) => c.reduce((a, b) => a + b, 0);
    expect(whiteness(confidenceColor(0.2))).toBeGreaterThan(whiteness([r0, g0, b0]));
    expect(whiteness(confidenceColor(0.8))).toBeGreaterThan(whiteness(confidenceColor(1)));
  });
});

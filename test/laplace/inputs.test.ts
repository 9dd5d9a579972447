import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { laplace } from '../../src/laplace/index.js';
import { Tensor } from '../../src/tensor.js';
import { makeMlp } from './oracle.js';

describe('inputs and targets are numbers of the right shape, nothing else', () => {
  const regression = () =>
    laplace(makeMlp([2, 3, 2], 'tanh', 1), { likelihood: 'regression', hessianStructure: 'diag' });
  const scalarRegression = () =>
    laplace(makeMlp([1, 3, 1], 'tanh', 1), { likelihood: 'regression', hessianStructure: 'diag' });
  const classifier = () =>
    laplace(makeMlp([2, 3, 3], 'tanh', 1), { likelihood: 'classification', hessianStructure: 'diag' });
  const X3 = [
    [0.1, 0.2],
    [0.3, -0.4],
    [1, 2],
  ];

  test('multi-output targets given transposed, [K, n] for [n, K], are a ShapeError', () => {
    const X = [
      [0.1, 0.2],
      [0.3, 0.4],
    ];
    // Same element count as [2, 2] only when n = K; use n = 3, K = 2: [2, 3] has 6 values like [3, 2].
    const transposed = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    expect(() => regression().fit(X3, transposed)).toThrow(ShapeError);
    expect(() => regression().fit(X3, new Tensor(Float64Array.of(1, 2, 3, 4, 5, 6), [2, 3]))).toThrow(
      /shape \[2, 3\], expected \[3, 2\]/,
    );
    // The right shapes still fit.
    regression().fit(X3, [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    regression().fit(X3, new Tensor(Float64Array.of(1, 4, 2, 5, 3, 6), [3, 2]));
    scalarRegression().fit([[0.1], [0.2]], [1, 2]);
    scalarRegression().fit([[0.1], [0.2]], [[1], [2]]);
    expect(() => regression().fit(X, [[1, 2, 3, 4]])).toThrow(ShapeError);
  });

  test('X holding null, strings or booleans is a ValueError naming the entry', () => {
    for (const bad of [null, '0.5', true, undefined, {}]) {
      expect(() => scalarRegression().fit([[bad as unknown as number]], [1])).toThrow(
        /fit: X\[0\]\[0\] is .*, not a number/,
      );
    }
    expect(() => scalarRegression().fit([0.5, '1' as unknown as number], [1, 2])).toThrow(ValueError);
  });

  test('targets and labels holding null, strings or booleans are a ValueError', () => {
    for (const bad of [null, '1', true, undefined]) {
      expect(() => classifier().fit(X3, [0, bad as unknown as number, 2])).toThrow(
        /fit: y\[1\] is .*, not a number/,
      );
      expect(() =>
        regression().fit(X3, [
          [1, 2],
          [3, bad as unknown as number],
          [5, 6],
        ]),
      ).toThrow(/fit: y\[1\]\[1\] is .*, not a number/);
    }
  });

  test('rows given as Float64Arrays are accepted, for X and for y', () => {
    const rows = X3.map((r) => Float64Array.from(r));
    const targets = [Float64Array.of(1, 4), Float64Array.of(2, 5), Float64Array.of(3, 6)];
    const a = regression().fit(rows, targets);
    const b = regression().fit(X3, [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(a.logMarginalLikelihood()).toBe(b.logMarginalLikelihood());
    expect(a.predict(rows).mean.data).toEqual(b.predict(X3).mean.data);
  });

  test("grid search's validation targets are named valY in errors", () => {
    const la = regression().fit(X3, [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(() =>
      la.optimizePriorPrecision({ method: 'gridsearch', valX: X3, valY: [[1, 2, 3]], gridSize: 3 }),
    ).toThrow(/optimizePriorPrecision: valY/);
  });
});

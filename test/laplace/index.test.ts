/**
 * The public Laplace API under generated bad input: shapes, NaN and ±∞, values
 * of the wrong type, unknown or invalid options, corrupted saved posteriors.
 * Every call either throws one of the typed errors of src/errors.ts or returns
 * finite numbers; never NaN, never a raw TypeError or RangeError.
 */
import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { LaplaceTsError } from '../../src/errors.js';
import { type BaseLaplace, Laplace, type LaplaceJSON, laplace } from '../../src/laplace/index.js';
import { Tensor } from '../../src/tensor.js';
import { makeMlp } from './oracle.js';

/** Anything a careless caller might pass where a value is expected. */
const junk = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    0,
    2.5,
    1e308,
    -0,
  ),
  fc.constantFrom(
    '',
    'full',
    'diag',
    'kron',
    'lowrank',
    'scalar',
    'bogus',
    '1',
    'regression',
    'classification',
  ),
  fc.constantFrom(true, false, {}, [], [Number.NaN], [1, 2], [[1, 2]], new Float64Array(3)),
  fc.double({ noNaN: false }),
  fc.integer({ min: -3, max: 60 }),
);

/** A value that is usually sensible for `good` and sometimes junk. */
const sometimes = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 30, arbitrary: good }, { weight: 1, arbitrary: junk });

/** An options object of mostly sensible values, with an occasional junk value or unknown name. */
const optionsOf = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc
    .tuple(
      fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, sometimes(v)])), {
        requiredKeys: [],
      }),
      fc.oneof(
        { weight: 12, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.constantFrom('bogus', 'hessianStrucure', 'metod', 'nsamples'), junk),
        },
      ),
    )
    .map(([record, extra]) => (extra ? { ...record, [extra[0]]: extra[1] } : record));

const d = 2;
const k = 3;
const number = fc.oneof(
  { weight: 200, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
  { weight: 1, arbitrary: junk },
);
/** A design matrix, usually [n, d] of numbers, sometimes the wrong shape or holding junk. */
const matrix = (n: number, width: number) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.array(fc.array(number, { minLength: width, maxLength: width }), {
        minLength: n,
        maxLength: n,
      }),
    },
    { weight: 1, arbitrary: fc.array(fc.array(number, { maxLength: width + 1 }), { maxLength: n + 1 }) },
    { weight: 1, arbitrary: junk },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n * width, maxLength: n * width })
        .map((v) => new Tensor(Float64Array.from(v), [n, width])),
    },
  );
const labels = (n: number) =>
  fc.oneof(
    { weight: 20, arbitrary: fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: n, maxLength: n }) },
    { weight: 1, arbitrary: fc.array(sometimes(fc.integer({ min: -1, max: k })), { maxLength: n + 1 }) },
    { weight: 1, arbitrary: junk },
  );

const laplaceOptions = optionsOf({
  hessianStructure: fc.constantFrom('full', 'kron', 'diag', 'lowrank'),
  subsetOfWeights: fc.constantFrom('all', 'lastLayer', { subnetwork: [0, 3, 7] }),
  priorPrecision: fc.oneof(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.constant([1, 2, 3, 4])),
  sigmaNoise: fc.double({ min: 0.05, max: 5, noNaN: true }),
  priorMean: fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constant([0.1])),
  temperature: fc.double({ min: 0.1, max: 3, noNaN: true }),
  curvature: fc.constantFrom('ggn', 'ef'),
  rank: fc.integer({ min: 1, max: 6 }),
  seed: fc.integer({ min: 0, max: 100 }),
});
const tuneOptions = optionsOf({
  method: fc.constantFrom('marglik', 'gridsearch'),
  priorStructure: fc.constantFrom('scalar', 'layerwise', 'diag'),
  gridSize: fc.integer({ min: 1, max: 5 }),
  logPriorPrecisionMin: fc.double({ min: -3, max: 0, noNaN: true }),
  logPriorPrecisionMax: fc.double({ min: 0.5, max: 3, noNaN: true }),
  optimizer: fc.constantFrom('exact', 'adam'),
  nSteps: fc.integer({ min: 0, max: 20 }),
  lr: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
  tol: fc.constantFrom(1e-6, 1e-8),
  maxIter: fc.integer({ min: 1, max: 50 }),
  linkApprox: fc.constantFrom('probit', 'bridge', 'bridgeNorm', 'mc'),
  nSamples: fc.integer({ min: 1, max: 5 }),
});
const predictOptions = optionsOf({
  predType: fc.constantFrom('glm', 'nn'),
  linkApprox: fc.constantFrom('probit', 'bridge', 'bridgeNorm', 'mc'),
  nSamples: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 100 }),
});

/** Run `f`; a typed error passes, anything else thrown fails; a result must hold finite numbers only. */
function typedOrFinite(what: string, f: () => unknown): unknown {
  let result: unknown;
  try {
    result = f();
  } catch (error) {
    if (!(error instanceof LaplaceTsError)) {
      throw new Error(`${what} threw ${(error as Error)?.name}: ${(error as Error)?.message}`, {
        cause: error,
      });
    }
    return undefined;
  }
  const bad = nonFinite(result);
  if (bad !== null) throw new Error(`${what} returned a non-finite number at ${bad}`);
  return result;
}

/** The path of the first non-finite number in a result, or null. */
function nonFinite(value: unknown, path = ''): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path || '(result)';
  if (value instanceof Tensor) return nonFinite(value.data, `${path}.data`);
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    const values = value as ArrayLike<unknown>;
    for (let i = 0; i < values.length; i++) {
      const bad = nonFinite(values[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  if (value && typeof value === 'object' && !('fit' in value)) {
    for (const [key, v] of Object.entries(value)) {
      const bad = nonFinite(v, `${path}.${key}`);
      if (bad) return bad;
    }
  }
  return null;
}

/** A saved posterior with one field or curvature array corrupted. */
function corrupt(json: LaplaceJSON, field: number, value: unknown, truncate: boolean): unknown {
  const copy = structuredClone(json) as unknown as Record<string, unknown>;
  const keys = Object.keys(copy);
  const state = copy['curvatureState'] as Record<string, unknown>;
  const stateKeys = Object.keys(state);
  const target = field % (keys.length + stateKeys.length);
  if (target < keys.length) {
    if (value === undefined) delete copy[keys[target]!];
    else copy[keys[target]!] = value;
  } else {
    const key = stateKeys[target - keys.length]!;
    const array = state[key] as number[];
    if (truncate) array.length = Math.floor(array.length / 2);
    else array[field % array.length] = value as number;
  }
  return copy;
}

describe('the public API under bad input: typed errors or finite results', () => {
  const regressionModel = makeMlp([d, 3, 2], 'tanh', 3);
  const classifierModel = makeMlp([d, 3, k], 'tanh', 4);

  propTest.prop(
    [
      fc.constantFrom('regression', 'classification') as fc.Arbitrary<'regression' | 'classification'>,
      laplaceOptions,
      fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(matrix(n, d), matrix(n, 2), labels(n))),
      tuneOptions,
      predictOptions,
      matrix(2, d),
      fc.tuple(fc.nat(), junk, fc.boolean()),
      sometimes(fc.integer({ min: 0, max: 4 })),
    ],
    { numRuns: 400 },
  )(
    'construct, fit, tune, predict, sample, save and restore',
    (likelihood, options, data, tune, predict, xTest, damage, nSamples) => {
      const model = likelihood === 'regression' ? regressionModel : classifierModel;
      const [X, Y, y] = data;
      const la = typedOrFinite('laplace', () => laplace(model, { ...options, likelihood } as never)) as
        | BaseLaplace
        | undefined;
      if (!la) return;
      const fitted = typedOrFinite('fit', () => la.fit(X, likelihood === 'regression' ? Y : y));
      if (!fitted) return;
      typedOrFinite('logMarginalLikelihood', () => la.logMarginalLikelihood());
      typedOrFinite('optimizePriorPrecision', () =>
        la.optimizePriorPrecision({
          ...tune,
          valX: xTest,
          valY: likelihood === 'regression' ? Y : y,
        } as never),
      );
      typedOrFinite('optimizeHyperparameters', () =>
        la.optimizeHyperparameters({ maxIter: tune.maxIter } as never),
      );
      typedOrFinite('predict', () => la.predict(xTest, predict as never));
      typedOrFinite('sample', () => la.sample(nSamples as number, 1));
      typedOrFinite('priorPrecision setter', () => {
        la.priorPrecision = damage[1] as number;
      });
      const json = typedOrFinite('toJSON', () => la.toJSON()) as LaplaceJSON | undefined;
      if (!json) return;
      typedOrFinite('fromJSON', () => Laplace.fromJSON(json, model).logMarginalLikelihood());
      const [field, value, truncate] = damage;
      typedOrFinite('fromJSON (corrupted)', () =>
        Laplace.fromJSON(corrupt(json, field, value, truncate) as LaplaceJSON, model).logMarginalLikelihood(),
      );
    },
  );

  propTest.prop([junk, junk])('laplace() and fromJSON with junk for the model or the options', (a, b) => {
    typedOrFinite('laplace', () => laplace(a as never, b as never));
    typedOrFinite('laplace', () => laplace(regressionModel, a as never));
    typedOrFinite('fromJSON', () => Laplace.fromJSON(a as never, regressionModel));
    expect(true).toBe(true);
  });
});

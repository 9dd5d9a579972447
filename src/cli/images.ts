/**
 * Images on the command line: `fit` with `--arch` trains a network given as an
 * architecture string (src/data/arch.ts) or a network JSON file on images, and
 * `predict` with an image model file gives each image its class probabilities
 * under the linearised Laplace predictive, the predicted class and the
 * predictive entropy H[p] = −Σₖ pₖ log pₖ.
 *
 * Images come as IDX files (gzip or not: `--images` and `--labels`, the
 * format of MNIST and Fashion-MNIST, intensities v/255), or as a CSV of pixels
 * with `--input-shape C,H,W` (one row per image, the C·H·W pixel columns in
 * NCHW order, used as given, and the label column named by `--target`).
 *
 * Every problem found before training (shapes that disagree, an unknown layer,
 * an architecture that does not fit the input, a label outside the network's
 * outputs) is one error naming the option or file, and nothing is written.
 */
import { existsSync } from 'node:fs';
import { softmax } from '../autodiff/ops.js';
import { parseInputShape, resolveArchitecture } from '../data/arch.js';
import { networkFromArchitecture } from '../data/arch-network.js';
import { CsvError, formatCsv, numericTable, parseCsv } from '../data/csv.js';
import { type IdxArray, imageDataset } from '../data/idx.js';
import { LaplaceTsError, ShapeError, ValueError } from '../errors.js';
import type { BaseLaplace, HessianStructure, LaplaceJSON, LinkApprox } from '../laplace/base.js';
import { Laplace, laplace } from '../laplace/laplace.js';
import { marglikTraining } from '../laplace/marglik-training.js';
import { type ClassificationScores, classificationScores, weightDecay } from '../laplace/pipeline.js';
import { predictiveEntropy } from '../metrics.js';
import { adam, Sequential, type SequentialJSON, train } from '../nn/index.js';
import {
  checkDistinct,
  checkWritable,
  FileError,
  readTextFile,
  writeFilesAtomically,
} from '../node/files.js';
import { readIdxFile } from '../node/idx-file.js';
import { formatTable, ProgressBar, type ProgressStream } from '../report/progress.js';
import { tensor } from '../tensor.js';
import { MAX_ENTRIES } from './limits.js';

export const IMAGE_MODEL_FORMAT = 'laplace-ts/image-model@1';

/** The image model file: the network at the MAP, its posterior, and how raw pixels become its inputs. */
interface ImageModelFile {
  format: typeof IMAGE_MODEL_FORMAT;
  task: 'classification';
  nClasses: number;
  /** One image's shape [C, H, W]. */
  inputShape: [number, number, number];
  /** Raw pixels (IDX bytes or CSV numbers) are multiplied by this: 1/255 for IDX, 1 for CSV. */
  pixelScale: number;
  /** The CSV label column, when trained from a CSV. */
  target?: string;
  architecture: string;
  hessianStructure: HessianStructure;
  subsetOfWeights: 'all' | 'lastLayer';
  training: Record<string, number | string | boolean>;
  logMarginalLikelihood: number;
  network: SequentialJSON;
  posterior: LaplaceJSON;
}

/** A mistake in the options, worded in their terms; the caller adds where to find help. */
export class ImageUsageError extends ValueError {}

interface IO {
  stdout: ProgressStream;
  stderr: ProgressStream;
}

type Values = Record<string, string | boolean | string[] | undefined>;

function option(values: Values, key: string): string | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ImageUsageError(`--${key} is given more than once`);
  if (v === '') throw new ImageUsageError(`--${key} needs a value, got an empty one`);
  return v;
}

function numeric(
  values: Values,
  key: string,
  fallback: number,
  { integer = false, min = -Infinity, max = Infinity, exclusiveMin = false } = {},
): number {
  const text = option(values, key);
  if (text === undefined) return fallback;
  const v = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(v) &&
    (!integer || Number.isInteger(v)) &&
    (exclusiveMin ? v > min : v >= min) &&
    v <= max;
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    const range = `${exclusiveMin ? '>' : '≥'} ${min}${max < Infinity ? ` and ≤ ${max}` : ''}`;
    throw new ImageUsageError(`--${key} must be ${kind} ${range}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** Images [N, C·H·W] as numbers, labels (or null), one image's shape, and the scale applied to raw pixels. */
interface ImageInput {
  images: Float64Array;
  n: number;
  inputShape: [number, number, number];
  labels: Int32Array | null;
  pixelScale: number;
  source: string;
}

function asImageShape(shape: readonly number[], what: string): [number, number, number] {
  if (shape.length === 2) return [1, shape[0]!, shape[1]!];
  if (shape.length === 3) return [shape[0]!, shape[1]!, shape[2]!];
  throw new ShapeError(`${what} must be C,H,W (or H,W for one channel), got ${shape.join(',')}`);
}

function inputShapeOption(text: string): number[] {
  try {
    return parseInputShape(text);
  } catch (error) {
    if (error instanceof ValueError) throw new ImageUsageError(`--${error.message}`);
    throw error;
  }
}

function readIdx(path: string, option: string): IdxArray {
  if (!existsSync(path)) throw new FileError(`${option} ${path}: no such file`);
  try {
    return readIdxFile(path);
  } catch (error) {
    if (error instanceof LaplaceTsError && !(error instanceof FileError))
      throw new FileError(`${option} ${path}: ${error.message}`);
    throw error;
  }
}

/**
 * Read images from `--images` (IDX, with `--labels` when `withLabels`) or from
 * `--data` (a CSV of pixels, `--target` its label column) with `--input-shape`.
 * `expected` is the shape and pixel scale a model was trained with.
 */
function readImageInput(
  values: Values,
  {
    withLabels,
    target,
    expected,
  }: {
    withLabels: boolean;
    target?: string;
    expected?: { inputShape: readonly number[]; pixelScale: number };
  },
): ImageInput {
  const imagesPath = option(values, 'images');
  const dataPath = option(values, 'data');
  const shapeText = option(values, 'input-shape');
  const given = shapeText === undefined ? null : asImageShape(inputShapeOption(shapeText), '--input-shape');
  const check = (actual: readonly number[], where: string) => {
    if (given && given.join(',') !== actual.join(',')) {
      throw new ShapeError(
        `--input-shape is ${given.join(',')} but ${where} holds images of ${actual.join(',')}`,
      );
    }
    if (expected && expected.inputShape.join(',') !== actual.join(',')) {
      throw new ShapeError(
        `${where} ${where === '--input-shape' ? 'is' : 'holds images of'} ${actual.join(',')} but the model takes ${expected.inputShape.join(',')}`,
      );
    }
  };
  if (imagesPath !== undefined && dataPath !== undefined)
    throw new ImageUsageError(
      'give the images either as --images (IDX) or as --data (CSV of pixels), not both',
    );
  if (imagesPath !== undefined) {
    const idx = readIdx(imagesPath, '--images');
    const labelsPath = option(values, 'labels');
    if (withLabels && labelsPath === undefined)
      throw new ImageUsageError('--labels is required with --images');
    if (idx.type !== 'ubyte')
      throw new FileError(
        `--images ${imagesPath}: pixels must be unsigned bytes (IDX type 0x08), got ${idx.type}`,
      );
    if (idx.shape.length !== 3 && idx.shape.length !== 4) {
      throw new ShapeError(
        `--images ${imagesPath}: expected images [N, H, W] or [N, C, H, W], got [${idx.shape.join(', ')}]`,
      );
    }
    const labels =
      labelsPath === undefined
        ? { type: 'ubyte' as const, shape: [idx.shape[0]!], data: new Uint8Array(idx.shape[0]!) }
        : readIdx(labelsPath, '--labels');
    if (labels.shape.length !== 1 || labels.shape[0] !== idx.shape[0]) {
      throw new ShapeError(
        `--labels ${labelsPath}: ${labels.shape.length === 1 ? `${labels.shape[0]} labels` : `shape [${labels.shape.join(', ')}]`} for ${idx.shape[0]} images in --images ${imagesPath}`,
      );
    }
    const dataset = imageDataset(idx, labels);
    // imageDataset gives v/255; a model trained on other raw pixels (a CSV) takes v·pixelScale.
    if (expected && expected.pixelScale !== 1 / 255) {
      const factor = 255 * expected.pixelScale;
      for (let i = 0; i < dataset.images.length; i++) dataset.images[i]! *= factor;
    }
    const inputShape = dataset.shape.slice(1) as [number, number, number];
    check(inputShape, `--images ${imagesPath}`);
    return {
      images: dataset.images,
      n: dataset.shape[0],
      inputShape,
      labels: labelsPath === undefined ? null : dataset.labels,
      pixelScale: expected?.pixelScale ?? 1 / 255,
      source: imagesPath,
    };
  }
  if (dataPath === undefined)
    throw new ImageUsageError('give the images as --images FILE (IDX) or --data FILE (CSV of pixels)');
  if (given && expected) check(given, `--input-shape`);
  const inputShape = given ?? (expected ? asImageShape(expected.inputShape, 'the model') : null);
  if (inputShape === null) throw new ImageUsageError('--input-shape C,H,W is required with a CSV of pixels');
  const parsed = parseCsv(readTextFile(dataPath), { fileName: dataPath });
  const hasTarget = target !== undefined && parsed.header.some((h) => h.trim() === target);
  if (withLabels && target !== undefined && !hasTarget) {
    throw new CsvError(`${dataPath}: unknown target column ${JSON.stringify(target)}`, {
      fileName: dataPath,
    });
  }
  const table = numericTable(parsed, { fileName: dataPath, ...(hasTarget ? { target } : {}) });
  const pixels = inputShape[0] * inputShape[1] * inputShape[2];
  if (table.columns.length !== pixels) {
    throw new ShapeError(
      `--input-shape ${inputShape.join(',')} means ${pixels} pixels per image, but ${dataPath} has ${table.columns.length} pixel columns`,
    );
  }
  const scale = expected?.pixelScale ?? 1;
  const images = new Float64Array(table.X.length * pixels);
  table.X.forEach((row, i) => {
    for (let j = 0; j < pixels; j++) images[i * pixels + j] = row[j]! * scale;
  });
  let labels: Int32Array | null = null;
  if (hasTarget) {
    labels = Int32Array.from(table.y!);
    const bad = table.y!.findIndex((v) => !Number.isInteger(v) || v < 0);
    if (bad >= 0) {
      throw new CsvError(
        `${dataPath}: line ${table.lines[bad]}, column ${JSON.stringify(target)}: label ${table.y![bad]} is not a class 0..K-1`,
        { fileName: dataPath, row: table.lines[bad]! },
      );
    }
  }
  return { images, n: table.X.length, inputShape, labels, pixelScale: scale, source: dataPath };
}

/** The network to train: an architecture string, or a JSON file holding a network (or an image model file's). */
function initialNetwork(arch: string, inputShape: [number, number, number], seed: number) {
  if (/\.json$/i.test(arch.trim())) {
    let json: unknown;
    try {
      json = JSON.parse(readTextFile(arch.trim()));
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new FileError(`--arch ${arch}: not valid JSON (${error.message})`);
      throw error;
    }
    const network = ((json as { network?: unknown }).network ?? json) as SequentialJSON;
    let model: Sequential;
    try {
      model = Sequential.fromJSON(network);
    } catch (error) {
      if (error instanceof LaplaceTsError) throw new FileError(`--arch ${arch}: ${error.message}`);
      throw error;
    }
    if (model.inputShape.join(',') !== inputShape.join(',')) {
      throw new ShapeError(
        `--arch ${arch}: the network takes inputs of ${model.inputShape.join(',')} but the images are ${inputShape.join(',')}`,
      );
    }
    return { model, description: `the network of ${arch}` };
  }
  const architecture = resolveArchitecture(arch, inputShape);
  return { model: networkFromArchitecture(architecture, { seed }), description: arch };
}

function probabilities(model: Sequential, images: Float64Array, n: number): Float64Array {
  return softmax(model.forward(tensor(images, [n, images.length / n]))).data;
}

function glmProbabilities(la: BaseLaplace, images: Float64Array, n: number, link: LinkApprox): Float64Array {
  const prediction = la.predict(tensor(images, [n, images.length / n]), {
    predType: 'glm',
    linkApprox: link,
    seed: 0,
    nSamples: 1000,
  });
  return (prediction as { probs: { data: Float64Array } }).probs.data;
}

/** Doubles the posterior would hold, from the network's parameter tensors. */
function posteriorEntries(
  model: Sequential,
  structure: HessianStructure,
  subset: 'all' | 'lastLayer',
): number {
  const layers = model.layers.filter((l) => l.parameters().length > 0);
  const chosen = subset === 'all' ? layers : layers.slice(-1);
  const p = chosen.reduce((s, l) => s + l.parameters().reduce((t, w) => t + w.size, 0), 0);
  if (structure === 'full') return p * p;
  if (structure === 'lowrank') return p * Math.min(50, p);
  return p; // diag, and kron's factors are no larger than the layer's weights for the usual shapes
}

/** `laplace-ts fit --arch ...`: train, fit the posterior, write the image model file. */
export function imageFitCommand(values: Values, io: IO): void {
  for (const mlpOnly of ['hidden', 'activation', 'sigma-noise'] as const) {
    if (values[mlpOnly] !== undefined)
      throw new ImageUsageError(
        `--${mlpOnly} is for MLPs on tables; with --arch the architecture says it all`,
      );
  }
  const task = option(values, 'task') ?? 'classification';
  if (task !== 'classification')
    throw new ImageUsageError(
      `--arch trains image classifiers; --task must be classification, got ${JSON.stringify(task)}`,
    );
  const arch = option(values, 'arch')!;
  const outPath = option(values, 'out');
  if (outPath === undefined) throw new ImageUsageError('--out is required');
  const reportPath = option(values, 'report');
  if (reportPath !== undefined) throw new ImageUsageError('--report is not available for images yet');
  const target = option(values, 'target');
  if (values['data'] !== undefined && target === undefined)
    throw new ImageUsageError('--target is required with --data: the column of labels');
  const structure = (option(values, 'structure') ?? 'kron') as HessianStructure;
  if (!['full', 'kron', 'diag', 'lowrank'].includes(structure))
    throw new ImageUsageError(
      `--structure must be one of full, kron, diag, lowrank, got ${JSON.stringify(structure)}`,
    );
  const subset = (option(values, 'subset') ?? 'all') as 'all' | 'lastLayer';
  if (subset !== 'all' && subset !== 'lastLayer')
    throw new ImageUsageError(`--subset must be one of all, lastLayer, got ${JSON.stringify(subset)}`);
  const marglik = values['marglik-training'] === true;
  if (marglik && subset !== 'all')
    throw new ImageUsageError(
      '--marglik-training learns the prior of all weights; it cannot be combined with --subset lastLayer',
    );
  const epochs = numeric(values, 'epochs', 5, { integer: true, min: 1 });
  const batchSize = numeric(values, 'batch-size', 64, { integer: true, min: 1 });
  const lr = numeric(values, 'lr', 3e-3, { min: 0, exclusiveMin: true, max: 10 });
  const priorPrecision = numeric(values, 'prior-precision', 1, { min: 0, exclusiveMin: true });
  const seed = numeric(values, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 });
  const holdout = numeric(values, 'holdout', 0.2, { min: 0, max: 0.9 });
  checkWritable(outPath);
  const inputs = ['images', 'labels', 'data']
    .filter((k) => typeof values[k] === 'string')
    .map((k) => ({ option: `--${k}`, path: values[k] as string }));
  checkDistinct([{ option: '--out', path: outPath }], inputs);

  const data = readImageInput(values, { withLabels: true, ...(target === undefined ? {} : { target }) });
  const labels = data.labels!;
  const { model, description } = initialNetwork(arch, data.inputShape, seed);
  const nClasses = model.outFeatures;
  const top = labels.reduce((a, b) => Math.max(a, b), 0);
  if (top >= nClasses) {
    throw new ShapeError(
      `the network has ${nClasses} outputs but ${data.source}'s labels go up to ${top}; end the architecture with linear(${top + 1})`,
    );
  }
  if (model.outputShape.length !== 1)
    throw new ShapeError(
      `the network's output is [${model.outputShape.join(', ')}] per image; end it with flatten,linear(K)`,
    );
  const entries = posteriorEntries(model, structure, subset);
  if (entries > MAX_ENTRIES) {
    throw new ImageUsageError(
      `a ${structure} posterior over ${subset === 'all' ? 'all' : 'the last layer’s'} weights of this network would hold ${entries.toExponential(2)} numbers; use --structure kron or --subset lastLayer`,
    );
  }

  // A seeded split: the last `holdout` of a permutation is held out for the scores.
  const order = Array.from({ length: data.n }, (_, i) => i);
  let state = seed + 1;
  for (let i = order.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nTest = holdout > 0 ? Math.round(holdout * data.n) : 0;
  if (data.n - nTest < 2)
    throw new ImageUsageError(`${data.n} images are too few to train on with --holdout ${holdout}`);
  const pixels = data.images.length / data.n;
  const take = (indices: number[]) => {
    const images = new Float64Array(indices.length * pixels);
    indices.forEach((k, i) => {
      images.set(data.images.subarray(k * pixels, (k + 1) * pixels), i * pixels);
    });
    return { images, labels: Int32Array.from(indices, (k) => labels[k]!), n: indices.length };
  };
  const trainSet = take(order.slice(0, data.n - nTest));
  const testSet = nTest > 0 ? take(order.slice(data.n - nTest)) : null;
  const X = tensor(trainSet.images, [trainSet.n, pixels]);
  const y = Array.from(trainSet.labels);

  const bar = new ProgressBar('training', epochs, { stream: io.stderr });
  let losses: number[];
  let posterior: BaseLaplace;
  if (marglik) {
    const result = marglikTraining(model, X, y, {
      likelihood: 'classification',
      hessianStructure: structure,
      epochs,
      batchSize: Math.min(batchSize, trainSet.n),
      optimizer: adam({ lr }),
      priorPrecision,
      seed,
      onProgress: ({ epoch, loss }) => bar.update(epoch, `loss ${loss.toPrecision(4)}`),
    });
    losses = result.losses;
    posterior = result.laplace;
  } else {
    ({ losses } = train(model, X, trainSet.labels, {
      loss: 'crossEntropy',
      epochs,
      batchSize: Math.min(batchSize, trainSet.n),
      optimizer: adam({ lr }),
      weightDecay: weightDecay('classification', priorPrecision, trainSet.n),
      seed,
      onProgress: ({ epoch, loss }) => bar.update(epoch + 1, `loss ${loss.toPrecision(4)}`),
    }));
    const finalLoss = losses.at(-1)!;
    if (!Number.isFinite(finalLoss) || !model.flatParameters().every(Number.isFinite)) {
      throw new ValueError(
        `training diverged (final loss ${finalLoss}); try a smaller --lr or a larger --prior-precision`,
      );
    }
    posterior = laplace(model, {
      likelihood: 'classification',
      hessianStructure: structure,
      subsetOfWeights: subset,
      priorPrecision,
    });
    posterior.fit(X, y);
    posterior.optimizeHyperparameters();
  }
  const logMarginalLikelihood = posterior.logMarginalLikelihood();
  if (!Number.isFinite(logMarginalLikelihood)) {
    throw new ValueError(
      `the log marginal likelihood is ${logMarginalLikelihood}, so the fit cannot be used; try a larger --prior-precision`,
    );
  }
  let scores: { map: ClassificationScores; glm: ClassificationScores } | null = null;
  if (testSet) {
    const testLabels = Array.from(testSet.labels);
    scores = {
      map: classificationScores(probabilities(model, testSet.images, testSet.n), testLabels, nClasses),
      glm: classificationScores(
        glmProbabilities(posterior, testSet.images, testSet.n, 'probit'),
        testLabels,
        nClasses,
      ),
    };
  }
  bar.finish(`final loss ${losses.at(-1)!.toPrecision(4)}`);
  const file: ImageModelFile = {
    format: IMAGE_MODEL_FORMAT,
    task: 'classification',
    nClasses,
    inputShape: data.inputShape,
    pixelScale: data.pixelScale,
    ...(target === undefined ? {} : { target }),
    architecture: description,
    hessianStructure: structure,
    subsetOfWeights: subset,
    training: {
      data: data.source,
      images: trainSet.n,
      holdout,
      epochs,
      batchSize,
      learningRate: lr,
      priorPrecision,
      marglikTraining: marglik,
      seed,
      finalLoss: losses.at(-1)!,
    },
    logMarginalLikelihood,
    network: model.toJSON(),
    posterior: posterior.toJSON(),
  };
  const text = `${JSON.stringify(file)}\n`;
  loadImageModel(JSON.parse(text), outPath); // what predict will read must read back
  const out = io.stdout;
  out.write(
    `classification: ${trainSet.n} training images of ${data.inputShape.join('×')} → ${nClasses} classes\n`,
  );
  out.write(
    `CNN ${description} (${model.nParams} weights), trained ${epochs} epochs${marglik ? ' with marginal-likelihood training' : ''}, final training loss ${losses.at(-1)!.toPrecision(4)}\n`,
  );
  const prior = posterior.priorPrecision;
  out.write(
    `Laplace (${structure}, ${subset === 'all' ? 'all' : 'last-layer'} weights, ${posterior.nParams} random): prior precision ${typeof prior === 'number' ? prior.toPrecision(4) : `[${Array.from(prior, (p) => p.toPrecision(3)).join(', ')}]`}\n`,
  );
  out.write(`log marginal likelihood (evidence): ${logMarginalLikelihood.toFixed(3)}\n`);
  if (scores && testSet) {
    const row = (predictive: string, s: ClassificationScores) => ({
      predictive,
      NLL: s.nll,
      accuracy: s.accuracy,
      ECE: s.ece,
      Brier: s.brier,
    });
    out.write(
      `\nheld-out score (${testSet.n} images):\n${formatTable([row('MAP', scores.map), row('Laplace GLM', scores.glm)])}\n`,
    );
  }
  writeFilesAtomically([{ path: outPath, text }]);
  out.write(`\nwrote ${outPath}\n`);
}

/** Check an image model file's JSON and bring it back to life; problems are FileErrors naming `fileName`. */
function loadImageModel(
  json: unknown,
  fileName: string,
): { file: ImageModelFile; model: Sequential; posterior: BaseLaplace } {
  const bad = (what: string) => new FileError(`${fileName}: not a laplace-ts image model file: ${what}`);
  const file = json as Partial<ImageModelFile>;
  if (file.format !== IMAGE_MODEL_FORMAT) throw bad(`format is ${JSON.stringify(file.format)}`);
  if (
    !Array.isArray(file.inputShape) ||
    file.inputShape.length !== 3 ||
    !file.inputShape.every((s) => Number.isInteger(s) && s > 0)
  )
    throw bad('inputShape must be [C, H, W]');
  if (!(typeof file.pixelScale === 'number' && file.pixelScale > 0))
    throw bad('pixelScale must be a positive number');
  if (!(Number.isInteger(file.nClasses) && file.nClasses! >= 2))
    throw bad('nClasses must be an integer of at least 2');
  try {
    const model = Sequential.fromJSON(file.network as SequentialJSON);
    if (model.inputShape.join(',') !== file.inputShape.join(',') || model.outFeatures !== file.nClasses) {
      throw bad(
        `the network maps ${model.inputShape.join(',')} to ${model.outFeatures} outputs, but the file says ${file.inputShape.join(',')} and ${file.nClasses} classes`,
      );
    }
    const posterior = Laplace.fromJSON(file.posterior as LaplaceJSON, model);
    if (posterior.likelihood !== 'classification') throw bad(`the posterior is for ${posterior.likelihood}`);
    return { file: file as ImageModelFile, model, posterior };
  } catch (error) {
    if (error instanceof FileError) throw error;
    if (error instanceof LaplaceTsError) throw bad(error.message);
    throw error;
  }
}

/** `laplace-ts predict` with an image model: a CSV row per image of prob_0..prob_{K−1}, class, entropy. */
export function imagePredictCommand(json: unknown, modelPath: string, values: Values, io: IO): void {
  const outPath = option(values, 'out');
  const link = (option(values, 'link') ?? 'probit') as LinkApprox;
  if (!['probit', 'bridge', 'bridgeNorm', 'mc'].includes(link))
    throw new ImageUsageError(
      `--link must be one of probit, bridge, bridgeNorm, mc, got ${JSON.stringify(link)}`,
    );
  if (outPath !== undefined) {
    checkWritable(outPath);
    checkDistinct(
      [{ option: '--out', path: outPath }],
      [
        { option: '--model', path: modelPath },
        ...['images', 'labels', 'data']
          .filter((k) => typeof values[k] === 'string')
          .map((k) => ({ option: `--${k}`, path: values[k] as string })),
      ],
    );
  }
  const { file, posterior } = loadImageModel(json, modelPath);
  // A CSV's label column, if any, is not a pixel: the one trained on, else one named "label".
  const data = readImageInput(values, { withLabels: false, target: file.target ?? 'label', expected: file });
  const k = file.nClasses;
  const probs = glmProbabilities(posterior, data.images, data.n, link);
  if (!probs.every(Number.isFinite))
    throw new ValueError(
      `${data.source}: a prediction is not a finite number; are the pixels on the training scale?`,
    );
  const entropy = predictiveEntropy(tensor(probs, [data.n, k]));
  const header = [...Array.from({ length: k }, (_, c) => `prob_${c}`), 'class', 'entropy'];
  const rows = Array.from({ length: data.n }, (_, i) => {
    const p = Array.from(probs.subarray(i * k, (i + 1) * k));
    return [...p, p.indexOf(Math.max(...p)), entropy[i]!];
  });
  const csv = formatCsv(header, rows);
  if (outPath === undefined) io.stdout.write(csv);
  else {
    writeFilesAtomically([{ path: outPath, text: csv }]);
    io.stderr.write(`wrote ${rows.length} predictions to ${outPath}\n`);
  }
  if (data.labels) {
    const top = data.labels.reduce((a, b) => Math.max(a, b), 0);
    if (top < k) {
      const s = classificationScores(probs, Array.from(data.labels), k);
      io.stderr.write(
        `score on the labels of ${data.source}: accuracy ${s.accuracy.toFixed(4)}, NLL ${s.nll.toFixed(4)}, ECE ${s.ece.toFixed(4)}, Brier ${s.brier.toFixed(4)}\n`,
      );
    }
  }
}

/// <reference types="node" />
/**
 * The `laplace-ts` command line: fit, predict, evidence.
 *
 *   fit       CSV → standardise → train the MAP → Laplace → tune the prior (and
 *             noise) by the marginal likelihood → one JSON model file
 *   predict   model file + CSV → predictive mean, std and 95% interval, or class
 *             probabilities, predicted class and entropy, as CSV
 *   evidence  the same training for several architectures, ranked by the log
 *             marginal likelihood (Occam's razor without validation data)
 *
 * Every input is checked before any work starts and before anything is
 * written; a problem ends the command with exit code 1 and one line on stderr
 * naming the file, line and column, never a stack trace. Results go to stdout,
 * progress bars and messages to stderr.
 */
import { parseArgs } from 'node:util';
import { CsvError, classCount, formatCsv, type NumericTable, numericTable, parseCsv } from '../data/csv.js';
import {
  fitStandardizer,
  fitTargetScale,
  type Standardizer,
  standardize,
  trainTestSplit,
  unstandardize,
} from '../data/dataset.js';
import { LaplaceTsError, NotFiniteError, ValueError } from '../errors.js';
import type { BaseLaplace, HessianStructure, LinkApprox } from '../laplace/base.js';
import { laplace } from '../laplace/laplace.js';
import {
  type ClassificationScores,
  classificationPredictive,
  classificationScores,
  fitPosterior,
  type GaussianPrediction,
  mapProbabilities,
  mapRegression,
  type RegressionScores,
  regressionPredictive,
  regressionScores,
  type TargetScale,
  type Task,
  type TrainSettings,
  trainMap,
  trainWithMarglik,
  weightDecay,
  Z95,
} from '../laplace/pipeline.js';
import { predictiveEntropy } from '../metrics.js';
import { ACTIVATION_NAMES, type ActivationName, type Sequential } from '../nn/index.js';
import {
  checkDistinct,
  checkWritable,
  FileError,
  readBinaryFile,
  readTextFile,
  writeFilesAtomically,
} from '../node/files.js';
import { importOnnxWithNotes, OnnxError } from '../onnx/index.js';
import { formatTable, ProgressBar, type ProgressStream } from '../report/progress.js';
import { tensor } from '../tensor.js';
import { IMAGE_MODEL_FORMAT, ImageUsageError, imageFitCommand, imagePredictCommand } from './images.js';
import { checkTargetRange, posteriorSizeProblem } from './limits.js';
import { loadModel, MODEL_FORMAT, type ModelFile } from './model-file.js';
import { type FitReportInput, fitReport } from './report-fit.js';

/** Where the CLI writes; `process.stdout` and `process.stderr` in the real program. */
export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
}

/** Bad command-line arguments. */
class UsageError extends LaplaceTsError {
  override name = 'UsageError';
}

const PROGRAM = 'laplace-ts';
const DEFAULT_STEPS = 3000;

const MAIN_HELP = `${PROGRAM}: linearised Laplace approximations for neural networks, from the command line

Usage:
  ${PROGRAM} fit --data train.csv --target y --task regression|classification --out model.json [options]
  ${PROGRAM} predict --model model.json --data new.csv [--out predictions.csv]
  ${PROGRAM} evidence --data train.csv --target y --task regression|classification --hidden 50 --hidden 50,50
  ${PROGRAM} fit --images train-images.gz --labels train-labels.gz --arch 'conv(16,3,pad=1),relu,maxpool(2),flatten,linear(10)' --out model.json
  ${PROGRAM} predict --model model.json --images t10k-images.gz [--out predictions.csv]

Run '${PROGRAM} <command> --help' for the options of a command.
Exit code 0 on success, 1 on any error (one line on stderr naming the file, line and column).`;

const TRAINING_HELP = `Training (the MAP):
  --hidden 50,50           widths of the hidden layers; 0 for a linear model (default 50)
  --activation tanh        ${ACTIVATION_NAMES.join(', ')}   (default tanh)
  --epochs N               passes over the training rows   (default: enough for about
                           3000 Adam steps, between 20 and 2000 epochs)
  --batch-size N           rows per Adam step                            (default 32)
  --lr X                   Adam learning rate                            (default 0.003)
  --prior-precision X      prior precision δ during training; weight decay is δ/N,
                           or 2σ²δ/N for regression                      (default 1)
  --sigma-noise X          noise σ during training, in standard deviations of the
                           target (regression)                           (default 0.1)
  --seed S                 seeds the initial weights, shuffling and split (default 0)
  --holdout F              fraction of rows held out for a test score, 0 for none (default 0.2)
  --marglik-training       learn per-layer prior precisions (and the noise) during
                           training from the evidence (Immer et al. 2021), every 5 epochs

Laplace:
  --structure S            full, kron, diag or lowrank                   (default kron)
  --subset S               all or lastLayer                              (default all)`;

const FIT_HELP = `Usage: ${PROGRAM} fit --data FILE --target COLUMN --task regression|classification --out FILE [options]

Standardises the features (and a regression target), trains an MLP to the MAP,
fits a Laplace approximation, tunes the prior precision (and the noise) by
maximising the log marginal likelihood, prints the evidence and a held-out
score, and saves the network and its posterior in one JSON file.

Required:
  --data FILE              CSV with a header row; every column but the target is a feature
  --target COLUMN          the column to predict
  --task T                 regression, or classification (labels 0..K-1)
  --out FILE               where to write the model (JSON)

${TRAINING_HELP}

Output:
  --report FILE            also write an HTML report (loss curve, held-out predictions)
  -h, --help               show this help

Images (a classifier of any architecture; --task classification is implied):
  --arch A                 an architecture string such as
                           conv(16,3,pad=1),relu,maxpool(2),conv(32,3,pad=1),relu,
                           maxpool(2),flatten,linear(10), or a network JSON file
  --images FILE            IDX images [N, H, W] or [N, C, H, W] of bytes (gzip or not),
                           read as v/255, with --labels FILE (IDX labels [N])
  --data FILE --target C   or a CSV of C·H·W pixel columns (NCHW, used as given)
  --input-shape C,H,W      one image's shape; required with a CSV
  --epochs N (default 5), --batch-size N (default 64), --lr, --prior-precision,
  --seed, --holdout, --marglik-training, --structure, --subset as above

A network trained elsewhere:
  --model FILE.onnx        put the posterior on this ONNX network instead of training one;
                           its inputs are the raw feature columns in file order (no
                           standardisation), its outputs the classes' logits or the target;
                           --structure, --subset, --holdout, --seed apply as above`;

const PREDICT_HELP = `Usage: ${PROGRAM} predict --model FILE --data FILE [--out FILE]

Predicts with the linearised (GLM) Laplace predictive of a model written by
'${PROGRAM} fit'. The data needs the model's feature columns (others are
ignored). Regression writes mean, std, lower95 and upper95 (the predictive
mean, standard deviation and central 95% interval); classification writes
prob_0..prob_K-1, the predicted class and the predictive entropy (nats). If the
data has the target column, the held-out score is printed on stderr.

  --model FILE             a model file from '${PROGRAM} fit'
  --data FILE              CSV with a header row
  --out FILE               write the predictions here (default: stdout)
  --link L                 classification: probit, bridge, bridgeNorm or mc (default probit)
  --images FILE            with an image model: IDX images (and --labels FILE to score them)
  --input-shape C,H,W      with an image model and a CSV of pixels: checked against the model's
  -h, --help               show this help`;

const EVIDENCE_HELP = `Usage: ${PROGRAM} evidence --data FILE --target COLUMN --task regression|classification --hidden 50 --hidden 50,50 ...

Trains one MLP per --hidden (repeat the option), fits a Laplace approximation to
each, tunes its prior (and noise) and ranks the architectures by the log marginal
likelihood of the training data: the evidence trades fit against complexity, so
it can choose a model without validation data. The held-out score is shown
alongside for comparison.

Required:
  --data FILE, --target COLUMN, --task T   as for fit
  --hidden W1,W2,...       an architecture; repeat for each (default: 10, 50 and 50,50)

${TRAINING_HELP.replace(/ {2}--hidden[^\n]*\n/, '')}
  -h, --help               show this help`;

const TRAINING_OPTIONS = {
  data: { type: 'string' },
  target: { type: 'string' },
  task: { type: 'string' },
  hidden: { type: 'string', multiple: true },
  activation: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'prior-precision': { type: 'string' },
  'sigma-noise': { type: 'string' },
  seed: { type: 'string' },
  holdout: { type: 'string' },
  'marglik-training': { type: 'boolean' },
  structure: { type: 'string' },
  subset: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS = {
  fit: {
    help: FIT_HELP,
    options: {
      ...TRAINING_OPTIONS,
      out: { type: 'string' },
      report: { type: 'string' },
      arch: { type: 'string' },
      images: { type: 'string' },
      labels: { type: 'string' },
      'input-shape': { type: 'string' },
      model: { type: 'string' },
    },
  },
  evidence: { help: EVIDENCE_HELP, options: TRAINING_OPTIONS },
  predict: {
    help: PREDICT_HELP,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      link: { type: 'string' },
      images: { type: 'string' },
      labels: { type: 'string' },
      'input-shape': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  },
} as const;

type CommandName = keyof typeof COMMANDS;
type Values = Record<string, string | boolean | string[] | undefined>;

/** Run the CLI with arguments `argv` (without the program name); returns the exit code. */
export function run(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr.write(`${MAIN_HELP}\n`);
    return 1;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${MAIN_HELP}\n`);
    return 0;
  }
  if (command === '--version') {
    io.stdout.write('laplace-ts 0.1.0\n');
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, command)) {
    io.stderr.write(
      `${PROGRAM}: unknown command ${JSON.stringify(command)}; the commands are fit, predict and evidence (see ${PROGRAM} --help)\n`,
    );
    return 1;
  }
  const name = command as CommandName;
  try {
    const values = parseOptions(name, rest);
    if (values['help']) {
      io.stdout.write(`${COMMANDS[name].help}\n`);
      return 0;
    }
    if (name === 'fit') fitCommand(values, io);
    else if (name === 'predict') predictCommand(values, io);
    else evidenceCommand(values, io);
    return 0;
  } catch (error) {
    io.stderr.write(`${PROGRAM} ${name}: ${errorLine(error, name)}\n`);
    return 1;
  }
}

/** One line for any error: ours carry a message for the user; anything else is a bug, reported briefly. */
function errorLine(error: unknown, command: CommandName): string {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');
  if (error instanceof UsageError) return `${oneLine(error.message)} (see ${PROGRAM} ${command} --help)`;
  if (error instanceof LaplaceTsError) return oneLine(error.message);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `internal error, please report it: ${oneLine(message)}`;
}

function parseOptions(name: CommandName, args: string[]): Values {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = COMMANDS[name].options;
  // A negative number is a value, not an option: `--seed -1` reads as `--seed=-1`, so the range
  // check below can say what is wrong with it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const option = arg.startsWith('--') && !arg.includes('=') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joined, options, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new UsageError(argumentProblem(error as Error & { code?: string }));
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name) && !options[token.name]?.multiple && options[token.name]?.type === 'string')
      throw new UsageError(`--${token.name} is given more than once`);
    seen.add(token.name);
  }
  return parsed.values as Values;
}

/** Node's parseArgs messages, in one line and our words. */
function argumentProblem(error: Error & { code?: string }): string {
  const message = error.message;
  const option = /'(-[-\w]+)/.exec(message)?.[1] ?? '';
  const long = /--[\w-]+/.exec(message)?.[0] ?? option;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message)) return `${long} takes no value`;
      if (/ambiguous/.test(message))
        return `${long} needs a value; one starting with "-" is written ${long}=-value`;
      return `${long} needs a value`;
    default:
      return message.split('\n')[0]!;
  }
}

// ---------------------------------------------------------------- option values

function required(values: Values, key: string): string {
  const value = values[key];
  if (value === '') throw new UsageError(`--${key} needs a value, got an empty one`);
  if (typeof value !== 'string') throw new UsageError(`--${key} is required`);
  return value;
}

function choice<T extends string>(values: Values, key: string, allowed: readonly T[], fallback: T): T {
  const value = values[key];
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new UsageError(`--${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function numberOption(
  values: Values,
  key: string,
  fallback: number,
  check: { integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean },
): number {
  const text = values[key];
  if (text === undefined) return fallback;
  const value = typeof text === 'string' && text.trim() !== '' ? Number(text) : Number.NaN;
  const { integer = false, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = check;
  const tooSmall = check.exclusiveMin ? value <= min : value < min;
  const tooLarge = check.exclusiveMax ? value >= max : value > max;
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || tooSmall || tooLarge) {
    const kind = integer ? 'an integer' : 'a number';
    const lower = Number.isFinite(min) ? `${check.exclusiveMin ? '>' : '≥'} ${min}` : '';
    const upper = Number.isFinite(max) ? `${check.exclusiveMax ? '<' : '≤'} ${max}` : '';
    const range = [lower, upper].filter(Boolean).join(' and ');
    throw new UsageError(`--${key} must be ${kind}${range ? ` ${range}` : ''}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** "50,50" → [50, 50]; "" or "0" → no hidden layer (a linear model). */
function parseHidden(text: string): number[] {
  if (text.trim() === '' || text.trim() === '0') return [];
  const widths = text.split(',').map((w) => Number(w.trim()));
  if (!widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 100_000)) {
    throw new UsageError(
      `--hidden must be comma-separated positive integer widths such as 50,50, got ${JSON.stringify(text)}`,
    );
  }
  return widths;
}

interface TrainingOptions {
  dataPath: string;
  target: string;
  task: Task;
  settings: Omit<TrainSettings, 'hidden'>;
  holdout: number;
  hessianStructure: HessianStructure;
  subsetOfWeights: 'all' | 'lastLayer';
  /** Learn the prior (and noise) during training from the evidence, instead of tuning them afterwards. */
  marglikTraining: boolean;
}

function trainingOptions(values: Values): TrainingOptions {
  const dataPath = required(values, 'data');
  const target = required(values, 'target');
  const task = choice(values, 'task', ['regression', 'classification'] as const, 'regression');
  if (values['task'] === undefined) throw new UsageError('--task is required (regression or classification)');
  const marglik = values['marglik-training'] === true;
  const subsetOfWeights = choice(values, 'subset', ['all', 'lastLayer'] as const, 'all');
  if (marglik && subsetOfWeights !== 'all') {
    throw new UsageError(
      '--marglik-training learns the prior of all weights; it cannot be combined with --subset lastLayer',
    );
  }
  return {
    dataPath,
    target,
    task,
    settings: {
      task,
      activation: choice(values, 'activation', ACTIVATION_NAMES, 'tanh' as ActivationName),
      epochs: numberOption(values, 'epochs', 0, { integer: true, min: 1 }),
      batchSize: numberOption(values, 'batch-size', 32, { integer: true, min: 1 }),
      learningRate: numberOption(values, 'lr', 3e-3, { min: 0, exclusiveMin: true, max: 10 }),
      priorPrecision: numberOption(values, 'prior-precision', 1, { min: 0, exclusiveMin: true }),
      sigmaNoise: numberOption(values, 'sigma-noise', 0.1, { min: 0, exclusiveMin: true }),
      seed: numberOption(values, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }),
    },
    holdout: numberOption(values, 'holdout', 0.2, { min: 0, max: 1, exclusiveMax: true }),
    hessianStructure: choice(values, 'structure', ['full', 'kron', 'diag', 'lowrank'] as const, 'kron'),
    subsetOfWeights,
    marglikTraining: marglik,
  };
}

// ---------------------------------------------------------------- data

/** Training data as read from a CSV: the table, the number of classes (classification) and the split. */
interface PreparedData {
  table: NumericTable;
  nClasses: number;
  /** Standardised training and held-out inputs, raw targets. */
  train: { X: number[][]; y: number[] };
  test: { X: number[][]; y: number[] } | null;
  inputScale: Standardizer;
  /** Regression: the standardisation of the training targets (the network sees z). */
  targetScale: TargetScale | null;
}

function readTable(path: string, options: { target?: string; columns?: readonly string[] }): NumericTable {
  const parsed = parseCsv(readTextFile(path), { fileName: path });
  return numericTable(parsed, { fileName: path, ...options });
}

/** Labels must be 0..K−1 with every class present, K ≥ 2; the error names the column. */
function checkedClassCount(table: NumericTable): number {
  const k = classCount(table);
  const seen = new Set(table.y);
  const where = `${table.fileName}: column ${JSON.stringify(table.target)}`;
  if (k < 2) {
    throw new CsvError(`${where}: every label is 0; classification needs at least two classes`, {
      fileName: table.fileName,
      column: table.target!,
    });
  }
  for (let c = 0; c < k; c++) {
    if (!seen.has(c)) {
      throw new CsvError(
        `${where}: labels run up to ${k - 1} but class ${c} never occurs; labels must be 0..K-1 with every class present`,
        { fileName: table.fileName, column: table.target! },
      );
    }
  }
  return k;
}

function prepareData(options: TrainingOptions): PreparedData {
  const table = readTable(options.dataPath, { target: options.target });
  const nClasses = options.task === 'classification' ? checkedClassCount(table) : 1;
  const n = table.X.length;
  const data = { X: table.X, y: table.y! };
  let trainRows = data;
  let testRows: typeof data | null = null;
  if (options.holdout > 0) {
    const nTest = Math.round(options.holdout * n);
    if (nTest < 1 || n - nTest < 2) {
      throw new CsvError(
        `${table.fileName}: ${n} data row${n === 1 ? ' is' : 's are'} too few to hold out ${options.holdout} of them; use --holdout 0 or more rows`,
        { fileName: table.fileName },
      );
    }
    const split = trainTestSplit(data, { testFraction: options.holdout, seed: options.settings.seed });
    trainRows = split.train;
    testRows = split.test;
  }
  if (options.settings.epochs === 0) {
    // The default: about DEFAULT_STEPS Adam steps, however many rows there are.
    const stepsPerEpoch = Math.ceil(trainRows.X.length / options.settings.batchSize);
    options.settings.epochs = Math.min(Math.max(Math.ceil(DEFAULT_STEPS / stepsPerEpoch), 20), 2000);
  }
  const inputScale = fitStandardizer(trainRows.X);
  const targetScale = options.task === 'regression' ? fitTargetScale(trainRows.y) : null;
  if (targetScale) checkTargetRange(table, targetScale);
  const { priorPrecision, sigmaNoise } = options.settings;
  const decay = weightDecay(options.task, priorPrecision, trainRows.X.length, sigmaNoise);
  if (!Number.isFinite(decay)) {
    throw new UsageError(
      `--prior-precision ${priorPrecision}${options.task === 'regression' ? ` with --sigma-noise ${sigmaNoise}` : ''} gives a weight decay of ${decay}, which training cannot use; choose values nearer 1`,
    );
  }
  return {
    table,
    nClasses,
    train: { X: standardize(trainRows.X, inputScale), y: trainRows.y },
    test: testRows && { X: standardize(testRows.X, inputScale), y: testRows.y },
    inputScale,
    targetScale,
  };
}

// ---------------------------------------------------------------- training and scoring

interface FittedModel {
  hidden: number[];
  model: Sequential;
  losses: number[];
  posterior: BaseLaplace;
  /** Log marginal likelihood of the training targets in their own units. */
  logMarginalLikelihood: number;
  /** MAP and GLM scores on the held-out rows (null without a hold-out). */
  scores: {
    map: RegressionScores | ClassificationScores;
    glm: RegressionScores | ClassificationScores;
  } | null;
  /** For reports: held-out predictions. */
  heldOut: { map: GaussianPrediction | Float64Array; glm: GaussianPrediction | Float64Array } | null;
}

function fitOne(
  hidden: number[],
  options: TrainingOptions,
  data: PreparedData,
  io: CliIo,
  label: string,
): FittedModel {
  const { task, settings } = options;
  const { targetScale } = data;
  // The network sees standardised targets in regression.
  const y = targetScale ? data.train.y.map((v) => (v - targetScale.mean) / targetScale.std) : data.train.y;
  const bar = new ProgressBar(label, settings.epochs, { stream: io.stderr });
  const progress = (epoch: number, loss: number) => bar.update(epoch, `loss ${loss.toPrecision(4)}`);
  let model: Sequential;
  let losses: number[];
  let posterior: BaseLaplace;
  if (options.marglikTraining) {
    ({ model, losses, posterior } = trainWithMarglik(
      data.train.X,
      y,
      data.nClasses,
      { ...settings, hidden },
      options.hessianStructure,
      progress,
    ));
  } else {
    ({ model, losses } = trainMap(data.train.X, y, data.nClasses, { ...settings, hidden }, progress));
    checkTrained(model, losses);
    posterior = fitPosterior(
      model,
      data.train.X,
      y,
      task,
      { hessianStructure: options.hessianStructure, subsetOfWeights: options.subsetOfWeights },
      settings,
    );
  }
  checkTrained(model, losses);
  const jacobian = targetScale ? data.train.X.length * Math.log(targetScale.std) : 0;
  const logMarginalLikelihood = posterior.logMarginalLikelihood() - jacobian;
  if (!Number.isFinite(logMarginalLikelihood)) {
    throw new ValueError(
      `the log marginal likelihood is ${logMarginalLikelihood}, so the fit cannot be used; try a larger --prior-precision, or rescale the data`,
    );
  }
  let scores: FittedModel['scores'] = null;
  let heldOut: FittedModel['heldOut'] = null;
  if (data.test) {
    const { X, y: targets } = data.test;
    if (targetScale) {
      const map = mapRegression(posterior, model, X, targetScale);
      const glm = heldOutPredictive(() => regressionPredictive(posterior, X, targetScale));
      checkHeldOut([map.mean, map.variance, glm.mean, glm.variance]);
      scores = { map: regressionScores(map, targets), glm: regressionScores(glm, targets) };
      heldOut = { map, glm };
    } else {
      const map = mapProbabilities(model, X);
      const glm = heldOutPredictive(() => classificationPredictive(posterior, X));
      checkHeldOut([map, glm]);
      scores = {
        map: classificationScores(map, targets, data.nClasses),
        glm: classificationScores(glm, targets, data.nClasses),
      };
      heldOut = { map, glm };
    }
  }
  // Only a usable fit gets its summary line: a refusal stays the one line on stderr.
  bar.finish(`final loss ${losses.at(-1)!.toPrecision(4)}`);
  return { hidden, model, losses, posterior, logMarginalLikelihood, scores, heldOut };
}

/**
 * Held-out rows are standardised with the training rows' statistics; one far
 * outside them (a column constant in training but not in the held-out rows)
 * can give a prediction that is not a number, which no score can use.
 */
function checkHeldOut(predictions: readonly Float64Array[]): void {
  if (predictions.every((p) => p.every(Number.isFinite))) return;
  throw new ValueError(HELD_OUT_NOT_FINITE);
}

const HELD_OUT_NOT_FINITE =
  'a held-out row lies so far outside the training rows that its prediction is not a finite number; use --holdout 0 or another --seed';

/** A held-out predictive, with the library's overflow refusal said in the CLI's words. */
function heldOutPredictive<T>(predictive: () => T): T {
  try {
    return predictive();
  } catch (error) {
    if (error instanceof NotFiniteError) throw new ValueError(HELD_OUT_NOT_FINITE);
    throw error;
  }
}

/** A predictive over the rows of `table`; a row whose prediction overflows is named by its line. */
function predictRows<T>(table: NumericTable, predictive: () => T): T {
  try {
    return predictive();
  } catch (error) {
    if (!(error instanceof NotFiniteError)) throw error;
    const line = table.lines[error.example]!;
    throw new CsvError(`${table.fileName}: line ${line} ${NOT_FINITE}`, {
      fileName: table.fileName,
      row: line,
    });
  }
}

function architectureName(inputs: number, hidden: readonly number[], outputs: number): string {
  return [inputs, ...hidden, outputs].join('→');
}

/** "MLP 1→50→1 (tanh, 151 weights)", or without a hidden layer "linear model 1→1 (no hidden layer, 2 weights)". */
function describeNetwork(
  inputs: number,
  hidden: readonly number[],
  outputs: number,
  activation: ActivationName,
  weights: number,
): string {
  const name = architectureName(inputs, hidden, outputs);
  return hidden.length === 0
    ? `linear model ${name} (no hidden layer, ${weights} weights)`
    : `MLP ${name} (${activation}, ${weights} weights)`;
}

/** Training that diverged ends here, before a posterior is fitted at weights that are not numbers. */
function checkTrained(model: Sequential, losses: readonly number[]): void {
  const loss = losses.at(-1)!;
  if (Number.isFinite(loss) && model.flatParameters().every(Number.isFinite)) return;
  throw new ValueError(
    `training diverged (final loss ${loss}${Number.isFinite(loss) ? ', weights not finite' : ''}); try a smaller --lr or a larger --prior-precision`,
  );
}

/**
 * A fit is kept only if `predict` can read it back; this ends the command
 * before anything is printed or written.
 */
function checkUsable(modelText: string, outPath: string): void {
  try {
    loadModel(modelText, outPath);
  } catch (error) {
    if (!(error instanceof LaplaceTsError)) throw error;
    throw new ValueError(`the fitted model would not read back (${error.message})`);
  }
}

/** Refuse, before training, a network or posterior too large for memory (see ./limits.ts). */
function checkPosteriorSize(widths: readonly number[], options: TrainingOptions): void {
  const problem = posteriorSizeProblem(widths, options);
  if (problem !== null) throw new UsageError(problem);
}

function describeHyperparameters(posterior: BaseLaplace, targetScale: TargetScale | null): string {
  const prior = posterior.priorPrecision;
  const priorText =
    typeof prior === 'number'
      ? prior.toPrecision(4)
      : `[${Array.from(prior, (p) => p.toPrecision(3)).join(', ')}]`;
  return posterior.likelihood === 'regression'
    ? `prior precision ${priorText}, noise σ ${(posterior.sigmaNoise * targetScale!.std).toPrecision(4)}`
    : `prior precision ${priorText}`;
}

function scoreRows(scores: NonNullable<FittedModel['scores']>): Record<string, string | number>[] {
  const row = (predictive: string, values: RegressionScores | ClassificationScores) => ({
    predictive,
    ...Object.fromEntries(Object.entries(values).map(([key, value]) => [SCORE_NAMES[key] ?? key, value])),
  });
  return [row('MAP', scores.map), row('Laplace GLM', scores.glm)];
}

const SCORE_NAMES: Record<string, string> = {
  nll: 'NLL',
  rmse: 'RMSE',
  accuracy: 'accuracy',
  ece: 'ECE',
  brier: 'Brier',
};

// ---------------------------------------------------------------- commands

function fitCommand(values: Values, io: CliIo): void {
  if (values['arch'] !== undefined) {
    if (values['model'] !== undefined)
      throw new UsageError('--arch trains a new network and --model imports one; give one of them');
    imageCommand(() => imageFitCommand(values, io));
    return;
  }
  for (const key of ['images', 'labels', 'input-shape'])
    if (values[key] !== undefined) throw new UsageError(`--${key} is for images and needs --arch`);
  if (values['model'] !== undefined) {
    fitImportedCommand(values, io);
    return;
  }
  const options = trainingOptions(values);
  const hiddenValues = (values['hidden'] as string[] | undefined) ?? ['50'];
  if (hiddenValues.length > 1)
    throw new UsageError('--hidden may be given once for fit (evidence compares several)');
  const hidden = parseHidden(hiddenValues[0]!);
  const outPath = required(values, 'out');
  const reportPath = values['report'] as string | undefined;
  if (reportPath === '') throw new UsageError('--report needs a file name');
  checkWritable(outPath);
  if (reportPath !== undefined) checkWritable(reportPath);
  checkDistinct(
    [
      { option: '--out', path: outPath },
      ...(reportPath === undefined ? [] : [{ option: '--report', path: reportPath }]),
    ],
    [{ option: '--data', path: options.dataPath }],
  );

  const data = prepareData(options);
  const { table, nClasses } = data;
  const d = table.columns.length;
  checkPosteriorSize([d, ...hidden, nClasses], options);
  const fitted = fitOne(hidden, options, data, io, 'training');
  const { posterior } = fitted;
  const file: ModelFile = {
    format: MODEL_FORMAT,
    task: options.task,
    target: table.target!,
    columns: table.columns,
    inputScale: data.inputScale,
    ...(data.targetScale ? { targetScale: data.targetScale } : { nClasses }),
    architecture: {
      hidden,
      activation: options.settings.activation,
      hessianStructure: options.hessianStructure,
      subsetOfWeights: options.subsetOfWeights,
    },
    training: {
      data: options.dataPath,
      rows: data.train.X.length,
      holdout: options.holdout,
      epochs: options.settings.epochs,
      batchSize: options.settings.batchSize,
      learningRate: options.settings.learningRate,
      priorPrecision: options.settings.priorPrecision,
      sigmaNoise: options.settings.sigmaNoise,
      marglikTraining: options.marglikTraining,
      seed: options.settings.seed,
      finalLoss: fitted.losses.at(-1)!,
    },
    logMarginalLikelihood: fitted.logMarginalLikelihood,
    network: fitted.model.toJSON(),
    posterior: posterior.toJSON(),
  };
  const modelText = `${JSON.stringify(file)}\n`;
  checkUsable(modelText, outPath);
  const out = io.stdout;
  out.write(
    `${options.task}: ${data.train.X.length} training rows, ${d} feature${d === 1 ? '' : 's'} → ${
      options.task === 'classification' ? `${nClasses} classes` : JSON.stringify(table.target)
    }\n`,
  );
  out.write(
    `${describeNetwork(d, hidden, nClasses, options.settings.activation, fitted.model.nParams)}, trained ${options.settings.epochs} epochs, final training loss ${fitted.losses.at(-1)!.toPrecision(4)}\n`,
  );
  out.write(
    `Laplace (${options.hessianStructure}, ${options.subsetOfWeights === 'all' ? 'all' : 'last-layer'} weights, ${posterior.nParams} random): ${describeHyperparameters(posterior, data.targetScale)}\n`,
  );
  out.write(`log marginal likelihood (evidence): ${fitted.logMarginalLikelihood.toFixed(3)}\n`);
  if (fitted.scores) {
    out.write(`\nheld-out score (${data.test!.X.length} rows):\n${formatTable(scoreRows(fitted.scores))}\n`);
  }

  const files = [{ path: outPath, text: modelText }];
  if (reportPath !== undefined) {
    files.push({
      path: reportPath,
      text: fitReport({
        file,
        losses: fitted.losses,
        scoreRows: fitted.scores ? scoreRows(fitted.scores) : null,
        heldOut: fitted.heldOut && data.test ? { ...fitted.heldOut, X: data.test.X, y: data.test.y } : null,
        curve: d === 1 && data.targetScale ? predictiveCurve(data, posterior) : null,
      }),
    });
  }
  writeFilesAtomically(files);
  out.write(`\nwrote ${outPath}${reportPath ? ` and ${reportPath}` : ''}\n`);
}

/**
 * `fit --model net.onnx`: the MAP comes from elsewhere. The network is read as
 * it was trained, on the raw feature columns in file order, so the inputs and
 * the target keep their units (identity scales in the model file), and only
 * the posterior is fitted and tuned here.
 */
function fitImportedCommand(values: Values, io: CliIo): void {
  const options = trainingOptions(values);
  const modelPath = required(values, 'model');
  const outPath = required(values, 'out');
  if (values['report'] !== undefined)
    throw new UsageError('--report is not available with --model (no training to report)');
  checkWritable(outPath);
  checkDistinct(
    [{ option: '--out', path: outPath }],
    [
      { option: '--data', path: options.dataPath },
      { option: '--model', path: modelPath },
    ],
  );
  let imported: ReturnType<typeof importOnnxWithNotes>;
  try {
    imported = importOnnxWithNotes(readBinaryFile(modelPath));
  } catch (error) {
    if (error instanceof OnnxError) throw new FileError(`${modelPath}: ${error.message}`);
    throw error;
  }
  const { model } = imported;
  const table = readTable(options.dataPath, { target: options.target });
  const nClasses = options.task === 'classification' ? checkedClassCount(table) : 1;
  const d = table.columns.length;
  if (model.inFeatures !== d || model.outFeatures !== nClasses) {
    throw new FileError(
      `${modelPath}: the network maps ${model.inFeatures} inputs to ${model.outFeatures} outputs, but ${options.dataPath} has ${d} feature column${d === 1 ? '' : 's'} and ${options.task === 'classification' ? `${nClasses} classes` : 'one target'}`,
    );
  }
  const posterior = laplace(model, {
    likelihood: options.task,
    hessianStructure: options.hessianStructure,
    subsetOfWeights: options.subsetOfWeights,
  });
  posterior.fit(table.X, options.task === 'classification' ? table.y! : table.y!.map((v) => [v]));
  const tuned = posterior.optimizeHyperparameters();
  const activation = model.layers.find((l) => (ACTIVATION_NAMES as readonly string[]).includes(l.type));
  const file: ModelFile = {
    format: MODEL_FORMAT,
    task: options.task,
    target: table.target!,
    columns: table.columns,
    inputScale: { mean: new Array<number>(d).fill(0), std: new Array<number>(d).fill(1) },
    ...(options.task === 'regression' ? { targetScale: { mean: 0, std: 1 } } : { nClasses }),
    architecture: {
      hidden: [],
      activation: (activation?.type ?? 'identity') as ActivationName,
      hessianStructure: options.hessianStructure,
      subsetOfWeights: options.subsetOfWeights,
    },
    training: { data: options.dataPath, rows: table.X.length, imported: modelPath },
    logMarginalLikelihood: tuned.logMarginalLikelihood,
    network: model.toJSON(),
    posterior: posterior.toJSON(),
  };
  const modelText = `${JSON.stringify(file)}\n`;
  checkUsable(modelText, outPath);
  const out = io.stdout;
  for (const note of imported.notes) out.write(`${modelPath}: ${note}\n`);
  out.write(
    `imported network: ${model.layers.length} layers, ${model.nParams} weights; ${table.X.length} rows of ${d} features\n`,
  );
  out.write(
    `Laplace (${options.hessianStructure}, ${options.subsetOfWeights === 'all' ? 'all' : 'last-layer'} weights, ${posterior.nParams} random): ${describeHyperparameters(posterior, options.task === 'regression' ? { mean: 0, std: 1 } : null)}\n`,
  );
  out.write(`log marginal likelihood (evidence): ${tuned.logMarginalLikelihood.toFixed(3)}\n`);
  writeFilesAtomically([{ path: outPath, text: modelText }]);
  out.write(`\nwrote ${outPath}\n`);
}

/** The GLM predictive along the only feature, over the data's range and a quarter of it on each side. */
function predictiveCurve(data: PreparedData, posterior: BaseLaplace): NonNullable<FitReportInput['curve']> {
  const raw = data.table.X.map(([x]) => x!);
  // A reduction, not Math.min(...raw): spreading some 10⁵ rows overflows the call stack.
  const low = raw.reduce((a, b) => Math.min(a, b));
  const high = raw.reduce((a, b) => Math.max(a, b));
  const margin = 0.25 * (high - low || 1);
  const x = Array.from({ length: 200 }, (_, i) => low - margin + ((high - low + 2 * margin) * i) / 199);
  const grid = standardize(
    x.map((v) => [v]),
    data.inputScale,
  );
  return {
    x,
    prediction: regressionPredictive(posterior, grid, data.targetScale!),
    trainX: unstandardize(data.train.X, data.inputScale).map(([v]) => v!),
    trainY: data.train.y,
  };
}

function evidenceCommand(values: Values, io: CliIo): void {
  const options = trainingOptions(values);
  const architectures = ((values['hidden'] as string[] | undefined) ?? ['10', '50', '50,50']).map(
    parseHidden,
  );
  const data = prepareData(options);
  const d = data.table.columns.length;
  for (const hidden of architectures) checkPosteriorSize([d, ...hidden, data.nClasses], options);
  const rows = architectures.map((hidden, i) => {
    const name = architectureName(d, hidden, data.nClasses);
    const fitted = fitOne(hidden, options, data, io, `${i + 1}/${architectures.length} ${name}`);
    const row: Record<string, string | number> = {
      architecture: name,
      weights: fitted.model.nParams,
      'log evidence': fitted.logMarginalLikelihood,
      'train loss': fitted.losses.at(-1)!,
    };
    if (fitted.scores) {
      row['held-out NLL'] = fitted.scores.glm.nll;
      const glm = fitted.scores.glm as Partial<ClassificationScores & RegressionScores>;
      if (glm.accuracy !== undefined) row['held-out accuracy'] = glm.accuracy;
      if (glm.rmse !== undefined) row['held-out RMSE'] = glm.rmse;
    }
    return row;
  });
  rows.sort((a, b) => (b['log evidence'] as number) - (a['log evidence'] as number));
  const ranked: Record<string, string | number>[] = rows.map((row, i) => ({ rank: i + 1, ...row }));
  io.stdout.write(
    `${options.task} on ${data.train.X.length} training rows of ${options.dataPath}; Laplace ${options.hessianStructure} over ${options.subsetOfWeights === 'all' ? 'all' : 'last-layer'} weights, ranked by log marginal likelihood:\n`,
  );
  io.stdout.write(`${formatTable(ranked)}\n`);
  io.stdout.write(`\nthe evidence prefers ${ranked[0]!.architecture}\n`);
}

/** Run an image command, its usage mistakes reported as the other commands' are. */
function imageCommand(f: () => void): void {
  try {
    f();
  } catch (error) {
    if (error instanceof ImageUsageError) throw new UsageError(error.message);
    throw error;
  }
}

function predictCommand(values: Values, io: CliIo): void {
  const modelPath = required(values, 'model');
  const modelText = readTextFile(modelPath);
  const json = parseJsonOrNull(modelText);
  if ((json as { format?: unknown } | null)?.format === IMAGE_MODEL_FORMAT) {
    imageCommand(() => imagePredictCommand(json, modelPath, values, io));
    return;
  }
  for (const key of ['images', 'labels', 'input-shape'])
    if (values[key] !== undefined) throw new UsageError(`--${key} is for image models (fit --arch)`);
  const dataPath = required(values, 'data');
  const outPath = values['out'] as string | undefined;
  if (outPath === '') throw new UsageError('--out needs a file name');
  const link = choice(
    values,
    'link',
    ['probit', 'bridge', 'bridgeNorm', 'mc'] as const,
    'probit',
  ) as LinkApprox;
  if (outPath !== undefined) {
    checkWritable(outPath);
    checkDistinct(
      [{ option: '--out', path: outPath }],
      [
        { option: '--model', path: modelPath },
        { option: '--data', path: dataPath },
      ],
    );
  }

  const { file, posterior } = loadModel(modelText, modelPath);
  if (values['link'] !== undefined && file.task === 'regression')
    throw new UsageError('--link applies to classification models only');
  const parsed = parseCsv(readTextFile(dataPath), { fileName: dataPath });
  // The target is not needed to predict: it is read, to print a score, only when every row has one.
  const targetColumn = parsed.header.findIndex((h) => h.trim() === file.target);
  const unlabelled = targetColumn < 0 ? -1 : parsed.rows.findIndex((row) => row[targetColumn]!.trim() === '');
  const hasTarget = targetColumn >= 0 && unlabelled < 0;
  const table = numericTable(parsed, {
    fileName: dataPath,
    columns: file.columns,
    ...(hasTarget ? { target: file.target } : {}),
  });
  if (hasTarget && file.task === 'classification') classCount(table, file.nClasses);
  const X = standardize(table.X, file.inputScale);
  checkFinite(X, table, 'is too far outside the data the model was trained on to standardise', file.columns);

  let header: string[];
  let rows: number[][];
  let score = '';
  if (file.task === 'regression') {
    const prediction = predictRows(table, () => regressionPredictive(posterior, X, file.targetScale!));
    header = ['mean', 'std', 'lower95', 'upper95'];
    rows = Array.from(prediction.mean, (mean, i) => {
      const std = Math.sqrt(prediction.variance[i]!);
      return [mean, std, mean - Z95 * std, mean + Z95 * std];
    });
    checkFinite(rows, table, NOT_FINITE);
    if (hasTarget) {
      const s = regressionScores(prediction, table.y!);
      // A target far beyond the model's range squares to infinity: the predictions stand, the score cannot.
      score =
        Number.isFinite(s.nll) && Number.isFinite(s.rmse)
          ? `NLL ${s.nll.toFixed(4)}, RMSE ${s.rmse.toPrecision(4)}`
          : 'none, some targets are too large to score in double precision';
    }
  } else {
    const k = file.nClasses!;
    const probs = predictRows(table, () => classificationPredictive(posterior, X, link));
    const entropy = predictiveEntropy(tensor(probs, [X.length, k]));
    header = [...Array.from({ length: k }, (_, c) => `prob_${c}`), 'class', 'entropy'];
    rows = Array.from({ length: X.length }, (_, i) => {
      const p = Array.from(probs.subarray(i * k, (i + 1) * k));
      return [...p, p.indexOf(Math.max(...p)), entropy[i]!];
    });
    checkFinite(rows, table, NOT_FINITE);
    if (hasTarget) {
      const s = classificationScores(probs, table.y!, k);
      score = `accuracy ${s.accuracy.toFixed(4)}, NLL ${s.nll.toFixed(4)}, ECE ${s.ece.toFixed(4)}, Brier ${s.brier.toFixed(4)}`;
    }
  }
  const csv = formatCsv(header, rows);
  if (outPath === undefined) io.stdout.write(csv);
  else {
    writeFilesAtomically([{ path: outPath, text: csv }]);
    io.stderr.write(`wrote ${rows.length} predictions to ${outPath}\n`);
  }
  if (hasTarget) io.stderr.write(`score on ${JSON.stringify(file.target)} of ${dataPath}: ${score}\n`);
  else if (unlabelled >= 0) {
    io.stderr.write(
      `column ${JSON.stringify(file.target)} of ${dataPath} has empty cells (line ${parsed.lines[unlabelled]}), so the predictions are not scored\n`,
    );
  }
}

function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null; // loadModel reports it
  }
}

const NOT_FINITE =
  'has a prediction that is not a finite number; it is too far outside the data the model was trained on';

/**
 * The first non-finite entry of `rows` (one per row of `table`) is refused,
 * naming its line (and its column, when `columns` names them).
 */
function checkFinite(
  rows: readonly (readonly number[])[],
  table: NumericTable,
  problem: string,
  columns?: readonly string[],
): void {
  for (const [i, row] of rows.entries()) {
    const j = row.findIndex((v) => !Number.isFinite(v));
    if (j < 0) continue;
    const line = table.lines[i]!;
    if (columns === undefined)
      throw new CsvError(`${table.fileName}: line ${line} ${problem}`, {
        fileName: table.fileName,
        row: line,
      });
    const value = table.X[i]![j];
    throw new CsvError(
      `${table.fileName}: line ${line}, column ${JSON.stringify(columns[j])}: ${value} ${problem}`,
      { fileName: table.fileName, row: line, column: columns[j]! },
    );
  }
}

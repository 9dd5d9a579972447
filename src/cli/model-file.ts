/**
 * The model file written by `laplace-ts fit` and read by `laplace-ts predict`:
 * one JSON object holding everything a prediction needs, namely the network at
 * the MAP, its Laplace posterior, and the preprocessing (the feature columns by
 * name and the standardisation of inputs and, for regression, of the target).
 */

import type { Standardizer } from '../data/dataset.js';
import { LaplaceTsError } from '../errors.js';
import type { BaseLaplace, HessianStructure, LaplaceJSON } from '../laplace/base.js';
import { Laplace } from '../laplace/laplace.js';
import type { TargetScale, Task } from '../laplace/pipeline.js';
import { ACTIVATION_NAMES, type ActivationName, Sequential, type SequentialJSON } from '../nn/index.js';
import { FileError } from '../node/files.js';

export const MODEL_FORMAT = 'laplace-ts/model@1';

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  task: Task;
  /** The target column the model was trained on. */
  target: string;
  /** Feature columns, in the order the network reads them. */
  columns: string[];
  inputScale: Standardizer;
  /** Regression: y = mean + std·z, where the network predicts z. */
  targetScale?: TargetScale;
  /** Classification: the number of classes K (labels 0..K−1). */
  nClasses?: number;
  architecture: {
    hidden: number[];
    activation: ActivationName;
    hessianStructure: HessianStructure;
    subsetOfWeights: 'all' | 'lastLayer';
  };
  /** How the MAP was found, for the record. */
  training: Record<string, number | string | boolean>;
  /** Log marginal likelihood of the training targets in their own units. */
  logMarginalLikelihood: number;
  network: SequentialJSON;
  posterior: LaplaceJSON;
}

/** A model file checked and brought back to life. */
export interface LoadedModel {
  file: ModelFile;
  model: Sequential;
  posterior: BaseLaplace;
}

/** Parse and check a model file; every problem is a FileError naming `fileName`. */
export function loadModel(text: string, fileName: string): LoadedModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FileError(`${fileName}: not valid JSON (${(error as Error).message})`);
  }
  const bad = (what: string) => new FileError(`${fileName}: not a laplace-ts model file: ${what}`);
  if (typeof json !== 'object' || json === null) throw bad('expected a JSON object');
  const file = json as Partial<ModelFile>;
  if (file.format !== MODEL_FORMAT) {
    throw bad(
      `format is ${JSON.stringify(file.format)}, expected "${MODEL_FORMAT}" (written by laplace-ts fit)`,
    );
  }
  if (file.task !== 'regression' && file.task !== 'classification')
    throw bad(`task is ${JSON.stringify(file.task)}`);
  const strings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string');
  const numbers = (v: unknown, n: number) =>
    Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!strings(file.columns)) throw bad('columns must be a non-empty list of column names');
  const d = file.columns!.length;
  if (new Set(file.columns).size !== d) throw bad('columns must be distinct names');
  if (file.columns!.includes(file.target as string))
    throw bad(`the target ${JSON.stringify(file.target)} is also listed as a feature column`);
  if (typeof file.target !== 'string') throw bad('target must be a column name');
  if (!numbers(file.inputScale?.mean, d) || !numbers(file.inputScale?.std, d))
    throw bad(`inputScale must hold ${d} means and standard deviations`);
  // Inputs are divided by these, so each must be positive (fit writes 1 for a constant column).
  const zeroStd = file.inputScale!.std.findIndex((s) => !(s > 0));
  if (zeroStd >= 0) {
    throw bad(
      `inputScale: the standard deviation of column ${JSON.stringify(file.columns![zeroStd])} is ${file.inputScale!.std[zeroStd]}; standard deviations must be positive`,
    );
  }
  if (file.task === 'regression' && !numbers([file.targetScale?.mean, file.targetScale?.std], 2))
    throw bad('targetScale must hold the mean and standard deviation of the target');
  if (file.task === 'regression' && !(file.targetScale!.std > 0))
    throw bad(`targetScale: the standard deviation is ${file.targetScale!.std}; it must be positive`);
  if (file.task === 'classification' && !(Number.isInteger(file.nClasses) && file.nClasses! >= 2))
    throw bad('nClasses must be an integer of at least 2');
  const activation = file.architecture?.activation;
  if (!ACTIVATION_NAMES.includes(activation as ActivationName))
    throw bad(`unknown activation ${JSON.stringify(activation)}`);
  try {
    const model = Sequential.fromJSON(file.network as SequentialJSON);
    const outputs = file.task === 'regression' ? 1 : file.nClasses!;
    if (model.inFeatures !== d || model.outFeatures !== outputs) {
      throw bad(
        `the network maps ${model.inFeatures} inputs to ${model.outFeatures} outputs, but the file lists ${d} columns and ${outputs} outputs`,
      );
    }
    const posterior = Laplace.fromJSON(file.posterior as LaplaceJSON, model);
    if (posterior.likelihood !== file.task) throw bad(`the posterior is for ${posterior.likelihood}`);
    return { file: file as ModelFile, model, posterior };
  } catch (error) {
    if (error instanceof FileError) throw error;
    if (error instanceof LaplaceTsError) throw bad(error.message);
    throw error;
  }
}

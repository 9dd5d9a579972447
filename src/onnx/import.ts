/**
 * ONNX import.
 *
 * bytes → ModelProto (src/onnx/model.ts, on our own protobuf reader) → a
 * chain of layer specs (src/onnx/graph.ts) → a `Sequential`
 * (src/onnx/build.ts). Nothing is built until the whole graph has been read
 * and matched, so a file that fails anywhere yields an error and no model.
 *
 * Weights stored as float32 (what PyTorch and Keras export) are widened to
 * float64 exactly; the network then computes in float64, so its outputs agree
 * with the exporter's float32 outputs to float32 rounding and with the same
 * weights run in float64 to rounding in the last bits.
 */
import type { Sequential } from '../nn/sequential.js';
import { buildSequential } from './build.js';
import { OnnxError } from './errors.js';
import { graphToLayers, parameterNamesOf } from './graph.js';
import { decodeModel } from './model.js';

export interface OnnxImport {
  readonly model: Sequential;
  /** One example's input shape, e.g. [4] or [1, 28, 28]. */
  readonly inputShape: number[];
  /**
   * The file's name for each parameter tensor, in the model's parameter order
   * (`model.flatParameters()`): PyTorch's `named_parameters()` names when the
   * file came from `torch.onnx.export` without constant folding.
   */
  readonly parameterNames: string[];
  /** What the importer changed or dropped (a final Softmax, a transposed kernel, …), in words. */
  readonly notes: string[];
  readonly opsetVersion: number;
  /** The producer named in the file, e.g. "pytorch 1.13.0". */
  readonly producer: string;
}

/** Import an ONNX network and say what was changed on the way; an `OnnxError` for what cannot be imported. */
export function importOnnxWithNotes(bytes: Uint8Array): OnnxImport {
  if (!(bytes instanceof Uint8Array)) {
    throw new OnnxError(
      `importOnnx: expected the file's bytes as a Uint8Array (e.g. readFileSync(path) or new Uint8Array(await file.arrayBuffer())), got ${bytes === null ? 'null' : typeof bytes}`,
    );
  }
  const decoded = decodeModel(bytes);
  const graph = graphToLayers(decoded);
  const model = buildSequential(graph.layers, graph.inputShape);
  return {
    model,
    inputShape: graph.inputShape,
    parameterNames: parameterNamesOf(graph.layers),
    notes: graph.notes,
    opsetVersion: graph.opsetVersion,
    producer: `${decoded.producerName} ${decoded.producerVersion}`.trim(),
  };
}

/**
 * The network in an ONNX file, as a `Sequential` that `laplace(...)` accepts.
 * A trailing Softmax or LogSoftmax is dropped (Laplace works on logits); see
 * `importOnnxWithNotes` for the list of such changes and the parameter names.
 */
export function importOnnx(bytes: Uint8Array): Sequential {
  return importOnnxWithNotes(bytes).model;
}

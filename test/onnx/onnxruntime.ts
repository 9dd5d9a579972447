/**
 * onnxruntime-node as a second, independent runtime for the tests, or the
 * reason it cannot run here (then the tests that need it are skipped and say so).
 */
type Ort = typeof import('onnxruntime-node');

let ort: Ort | null = null;
let reason = '';
try {
  ort = await import('onnxruntime-node');
} catch (error) {
  reason = `onnxruntime-node is not available (${(error as Error).message.split('\n')[0]}); install it with npm ci (its install step is skipped by .npmrc, the CPU binaries ship in the package)`;
}

export const onnxruntime = ort;
export const onnxruntimeMissing = reason;

/** Run a one-input, one-output model in onnxruntime on x ([n, ...]) in `dtype`; the output's values. */
export async function runOnnxruntime(
  bytes: Uint8Array,
  x: { shape: readonly number[]; data: ArrayLike<number> },
  dtype: 'float32' | 'float64',
): Promise<{ shape: number[]; data: number[] }> {
  if (ort === null) throw new Error(reason);
  const session = await ort.InferenceSession.create(bytes);
  const data = dtype === 'float32' ? Float32Array.from(x.data) : Float64Array.from(x.data);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor(dtype, data, [...x.shape]) };
  const result = await session.run(feeds);
  const y = result[session.outputNames[0]!]!;
  return { shape: [...y.dims], data: Array.from(y.data as Float32Array | Float64Array) };
}

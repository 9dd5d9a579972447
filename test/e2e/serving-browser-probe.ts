/**
 * Bundled for test/e2e/serving-browser.test.ts: fetch a network (ONNX) and a
 * laplace-torch posterior (JSON) from the page's server, load them with the
 * library as a browser application would, and return the GLM predictive.
 */
import { Laplace } from '../../src/laplace/index.js';
import { importOnnx } from '../../src/onnx/index.js';

export interface ServedPrediction {
  mean: number[];
  functionalCovariance: number[];
  probs?: number[];
}

export async function servePrediction(
  networkUrl: string,
  posteriorUrl: string,
  X: unknown,
): Promise<ServedPrediction> {
  const bytes = new Uint8Array(await (await fetch(networkUrl)).arrayBuffer());
  const posterior = await (await fetch(posteriorUrl)).json();
  const prediction = Laplace.fromLaplaceTorch(posterior, importOnnx(bytes)).predict(X) as {
    mean: { data: Float64Array };
    functionalCovariance: { data: Float64Array };
    probs?: { data: Float64Array };
  };
  return {
    mean: Array.from(prediction.mean.data),
    functionalCovariance: Array.from(prediction.functionalCovariance.data),
    ...(prediction.probs ? { probs: Array.from(prediction.probs.data) } : {}),
  };
}

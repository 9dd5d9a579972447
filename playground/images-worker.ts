/**
 * The image page's Web Worker: it restores the CNN and its Laplace posterior
 * from the model file made by scripts/make-images-model.ts (bundled with the
 * worker, so nothing is fitted in the browser), and for each image posted
 * returns the MAP's softmax and the linearised Laplace predictive with the
 * probit approximation, p ≈ softmax(f / √(1 + π/8 · diag Σ_f)), where Σ_f =
 * J P⁻¹ Jᵀ is the functional covariance at that image.
 */
import { softmax } from '../src/autodiff/ops.js';
import type { LaplaceJSON } from '../src/laplace/base.js';
import { Laplace } from '../src/laplace/laplace.js';
import { Sequential, type SequentialJSON } from '../src/nn/index.js';
import { tensor } from '../src/tensor.js';
import file from './images-model.json' with { type: 'json' };
import type { ClassProbabilities, ImageReply, ImageRequest } from './images-protocol.js';

const scope = self as unknown as {
  postMessage(reply: ImageReply): void;
  onmessage: ((event: MessageEvent<ImageRequest>) => void) | null;
};

const model = Sequential.fromJSON(file.network as unknown as SequentialJSON);
const posterior = Laplace.fromJSON(file.posterior as unknown as LaplaceJSON, model);

function withEntropy(probs: ArrayLike<number>): ClassProbabilities {
  let entropy = 0;
  for (let k = 0; k < probs.length; k++) if (probs[k]! > 0) entropy -= probs[k]! * Math.log(probs[k]!);
  return { probs: Array.from(probs), entropy };
}

scope.onmessage = (event) => {
  const { id, pixels } = event.data;
  try {
    const start = performance.now();
    const x = tensor(Float64Array.from(pixels), [1, pixels.length]);
    const map = withEntropy(softmax(model.forward(x)).data);
    const prediction = posterior.predict(x, { predType: 'glm', linkApprox: 'probit' });
    const laplace = withEntropy((prediction as { probs: { data: Float64Array } }).probs.data);
    scope.postMessage({ kind: 'prediction', id, map, laplace, ms: performance.now() - start });
  } catch (error) {
    scope.postMessage({ kind: 'error', id, message: error instanceof Error ? error.message : String(error) });
  }
};

scope.postMessage({
  kind: 'ready',
  classes: [...file.classes],
  architecture: file.architecture,
  training: file.training,
  examples: file.examples,
});

/**
 * The Web Worker: training, Laplace and the predictive run here, off the
 * page's thread, so the page keeps drawing and answering clicks.
 *
 * The last MAP is kept: a request that changes only the posterior (structure,
 * predictive, link, tuning) reuses it and skips training. A request sent
 * while another runs is the page's business: it terminates this worker and
 * starts a fresh one.
 */
import {
  CLASSIFICATION_VIEW,
  evidenceByDepth,
  fitPlayground,
  REGRESSION_VIEW,
  type TrainedMap,
  trainingKey,
} from './fit.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';

const scope = self as unknown as {
  postMessage(reply: WorkerReply): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
};

const LAPLACE = 'Fitting the Laplace posterior…';

let cached: { key: string; map: TrainedMap } | undefined;

function handle(request: WorkerRequest): WorkerReply {
  const { id, task, points, settings } = request;
  if (request.kind === 'depth') {
    const maxDepth = request.maxDepth;
    const results = evidenceByDepth(task, points, settings, maxDepth, (depth, epoch, epochs) =>
      scope.postMessage({
        kind: 'progress',
        id,
        fraction: (depth - 1 + epoch / epochs) / maxDepth,
        message: `Depth ${depth} of ${maxDepth}: epoch ${epoch}/${epochs}`,
      }),
    );
    return { kind: 'depth', id, results };
  }
  const view = task === 'regression' ? REGRESSION_VIEW : CLASSIFICATION_VIEW;
  const reuse = cached?.key === trainingKey(task, points, settings, settings.hiddenLayers);
  scope.postMessage({
    kind: 'progress',
    id,
    fraction: reuse ? null : 0,
    message: reuse ? LAPLACE : 'Training…',
  });
  const { result, key, map } = fitPlayground(
    task,
    points,
    settings,
    view,
    (epoch, epochs, loss) => {
      const message = `Training: epoch ${epoch}/${epochs}, loss ${loss.toPrecision(3)}`;
      scope.postMessage({ kind: 'progress', id, fraction: epoch / epochs, message });
      if (epoch === epochs) scope.postMessage({ kind: 'progress', id, fraction: null, message: LAPLACE });
    },
    cached,
  );
  cached = { key, map };
  return { kind: 'fit', id, result };
}

scope.onmessage = (event) => {
  const request = event.data;
  try {
    scope.postMessage(handle(request));
  } catch (error) {
    scope.postMessage({
      kind: 'error',
      id: request.id,
      message: error instanceof Error ? error.message : String(error),
    });
  }
};

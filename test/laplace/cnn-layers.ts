/** The convolutional networks of the Laplace tests, small enough for finite differences. */
import {
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  LayerNorm,
  Linear,
  MaxPool2d,
  ReLU,
  Residual,
  Sequential,
  Tanh,
} from '../../src/nn/index.js';
import { seededRng } from '../../src/random.js';
import { Tensor } from '../../src/tensor.js';

function randomMatrix(rows: number, cols: number, seed: number): Tensor {
  const rng = seededRng(seed);
  return new Tensor(
    new Float64Array(rows * cols).map(() => rng.normal() * 0.5),
    [rows, cols],
  );
}

const head = (outputs: number, features: number, seed: number) =>
  Linear.fromParameters(randomMatrix(outputs, features, seed), randomMatrix(1, outputs, seed + 1).data);

/** The networks of the convolutional conformance cases. */
export function smallCnns(): { name: string; model: Sequential; outputs: number }[] {
  const reluMax = new Sequential(
    [
      new Conv2d(1, 2, 3, { padding: 1, seed: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      head(3, 8, 2),
    ],
    { inputShape: [1, 4, 4] },
  );
  const tanhStrided = new Sequential(
    [
      new Conv2d(1, 2, 3, { stride: 2, bias: false, seed: 4 }),
      new Tanh(),
      new AvgPool2d(2, { stride: 1 }),
      new Flatten(),
      head(3, 2, 5),
    ],
    { inputShape: [1, 5, 5] },
  );
  const twoChannel = new Sequential(
    [new Conv2d(2, 3, 2, { seed: 7 }), new Tanh(), new Flatten(), head(2, 12, 8)],
    {
      inputShape: [2, 3, 3],
    },
  );
  // Two convolutions with fewer channels in the first than classes: kron takes
  // the first one's bias rows in forward mode, through the channelwise layers.
  const twoConvolutions = new Sequential(
    [
      new Conv2d(1, 2, 3, { padding: 1, seed: 9 }),
      new ReLU(),
      new MaxPool2d(2),
      new Tanh(),
      new Conv2d(2, 3, 2, { seed: 10 }),
      new ReLU(),
      new Flatten(),
      head(3, 12, 11),
    ],
    { inputShape: [1, 6, 6] },
  );
  return [
    { name: 'relu + max pooling', model: reluMax, outputs: 3 },
    {
      name: 'tanh + strided conv without bias + overlapping average pooling',
      model: tanhStrided,
      outputs: 3,
    },
    { name: 'two-channel regression', model: twoChannel, outputs: 2 },
    { name: 'two convolutions', model: twoConvolutions, outputs: 3 },
  ];
}

/** A small residual CNN: conv stem, a residual block with a 1×1 conv shortcut, an identity block, a head. */
export function residualCnn(): Sequential {
  return new Sequential(
    [
      new Conv2d(1, 2, 3, { padding: 1, seed: 11 }),
      new Tanh(),
      new Residual(
        [new Conv2d(2, 3, 3, { padding: 1, seed: 12 }), new Tanh()],
        [new Conv2d(2, 3, 1, { bias: false, seed: 13 })],
      ),
      new Residual([new Tanh(), new Conv2d(3, 3, 3, { padding: 1, seed: 14 })]),
      new AvgPool2d(2),
      new Flatten(),
      head(2, 12, 15),
    ],
    { inputShape: [1, 4, 4] },
  );
}

/** A CNN with normalisation layers (BatchNorm in eval mode, LayerNorm), whose rows come from the generic rule. */
export function normalisedCnn(): Sequential {
  const bn = new BatchNorm2d(2, {});
  return new Sequential(
    [new Conv2d(1, 2, 3, { seed: 21 }), bn, new Tanh(), new Flatten(), new LayerNorm(8), head(2, 8, 22)],
    { inputShape: [1, 4, 4] },
  );
}

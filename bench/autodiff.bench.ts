/**
 * Automatic differentiation benchmarks:
 *  1. gradient of sum(f(x)²) for an MLP 1→50→tanh→50→tanh→1 over 1,000 inputs:
 *     ours vs tfjs-cpu `tf.grads` vs a hand-written backprop on our gemmKernel;
 *  2. per-example Jacobian of a 64→50→tanh→10 MLP over 1,000 inputs
 *     (1000×10×3760) by vmap(jacrev(f)) vs a hand-written version;
 *  3. forward + backward of the classic MNIST CNN (conv 1→32 3×3, relu,
 *     conv 32→64 3×3, relu, maxpool 2, flatten, linear 9216→128, relu,
 *     linear 128→10, softmax cross-entropy) on a batch of 128 in float64, vs
 *     tfjs-cpu `tf.grads` on the same net (float32).
 */
import * as tf from '@tensorflow/tfjs';
import {
  conv2d,
  linear,
  logSoftmax,
  maxPool2d,
  mean,
  mul,
  relu,
  reshape,
  square,
  sum,
  tanh,
} from '../src/autodiff/ops.js';
import { grad, jacrev, vmap } from '../src/autodiff/transforms.js';
import { gemmKernel } from '../src/kernels/gemm.js';
import { rand, randn, type Tensor } from '../src/tensor.js';
import { type Case, printTable, type Row } from './harness.js';

interface Layer {
  weight: Tensor;
  bias: Tensor;
}

/** Weights N(0, 1/fan-in), biases N(0, 0.01), seeded. */
function mlpParams(sizes: number[], seed: number): Layer[] {
  return sizes.slice(1).map((out, i) => ({
    weight: mul(randn([out, sizes[i]!], seed + 2 * i), 1 / Math.sqrt(sizes[i]!)),
    bias: mul(randn([out], seed + 2 * i + 1), 0.1),
  }));
}

/** y = tanh(… tanh(x W₁ᵀ + b₁) …) W_Lᵀ + b_L */
function mlp(params: Layer[], x: Tensor): Tensor {
  let h = x;
  params.forEach((p, i) => {
    h = linear(h, p.weight, p.bias);
    if (i < params.length - 1) h = tanh(h);
  });
  return h;
}

// ---------------------------------------------------------------------------
// Hand-written backprop for the 1→50→50→1 tanh MLP, products through gemmKernel.

function handGradient(ws: Float64Array[], bs: Float64Array[], sizes: number[], x: Float64Array, n: number) {
  const L = ws.length;
  const acts: Float64Array[] = [x];
  for (let l = 0; l < L; l++) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    const z = new Float64Array(n * fanOut);
    for (let r = 0; r < n; r++) z.set(bs[l]!, r * fanOut);
    gemmKernel(n, fanOut, fanIn, 1, acts[l]!, 0, fanIn, false, ws[l]!, 0, fanIn, true, 1, z, 0, fanOut);
    if (l < L - 1) for (let i = 0; i < z.length; i++) z[i] = Math.tanh(z[i]!);
    acts.push(z);
  }
  const gw: Float64Array[] = new Array(L);
  const gb: Float64Array[] = new Array(L);
  const out = acts[L]!;
  let delta = new Float64Array(out.length);
  for (let i = 0; i < out.length; i++) delta[i] = 2 * out[i]!;
  for (let l = L - 1; l >= 0; l--) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    gw[l] = new Float64Array(fanOut * fanIn);
    gemmKernel(fanOut, fanIn, n, 1, delta, 0, fanOut, true, acts[l]!, 0, fanIn, false, 0, gw[l]!, 0, fanIn);
    const b = new Float64Array(fanOut);
    for (let r = 0; r < n; r++) for (let j = 0; j < fanOut; j++) b[j]! += delta[r * fanOut + j]!;
    gb[l] = b;
    if (l > 0) {
      const prev = new Float64Array(n * fanIn);
      gemmKernel(n, fanIn, fanOut, 1, delta, 0, fanOut, false, ws[l]!, 0, fanIn, false, 0, prev, 0, fanIn);
      const a = acts[l]!;
      for (let i = 0; i < prev.length; i++) prev[i]! *= 1 - a[i]! * a[i]!;
      delta = prev;
    }
  }
  return { gw, gb };
}

// ---------------------------------------------------------------------------
// Hand-written per-example Jacobian of y = W₂ tanh(W₁x + b₁) + b₂ w.r.t. (W₁, b₁, W₂, b₂).

function handJacobian(
  w1: Float64Array,
  b1: Float64Array,
  w2: Float64Array,
  x: Float64Array,
  n: number,
  jac = new Float64Array(n * 10 * 3760),
) {
  const [d, hdim, o] = [64, 50, 10];
  const p = hdim * d + hdim + o * hdim + o;
  const z = new Float64Array(n * hdim);
  for (let r = 0; r < n; r++) z.set(b1, r * hdim);
  gemmKernel(n, hdim, d, 1, x, 0, d, false, w1, 0, d, true, 1, z, 0, hdim);
  const h = z.map(Math.tanh);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < o; i++) {
      const row = (r * o + i) * p;
      for (let j = 0; j < hdim; j++) {
        const hj = h[r * hdim + j]!;
        const g = w2[i * hdim + j]! * (1 - hj * hj); // ∂y_i/∂z_j
        const base = row + j * d;
        for (let k = 0; k < d; k++) jac[base + k] = g * x[r * d + k]!;
        jac[row + hdim * d + j] = g;
        jac[row + hdim * d + hdim + i * hdim + j] = hj;
      }
      jac[row + hdim * d + hdim + o * hdim + i] = 1;
    }
  }
  return jac;
}

/**
 * Medians over interleaved rounds: each round times every case once (after a
 * warm-up), so that load from other processes on this shared machine falls on
 * all cases alike and the same-process ratios stay meaningful.
 */
function interleaved(title: string, cases: Case[], baseline: string, rounds: number): Row[] {
  for (const c of cases) for (let i = 0; i < 3; i++) c.fn();
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      const start = performance.now();
      c.fn();
      times[i]!.push(performance.now() - start);
    });
  }
  const rows: Row[] = cases.map((c, i) => {
    const sorted = times[i]!.sort((a, b) => a - b);
    return { name: c.name, medianMs: sorted[sorted.length >> 1]! };
  });
  const base = rows.find((r) => r.name === baseline)!;
  for (const r of rows) r.ratio = base.medianMs / r.medianMs;
  printTable(`${title} (medians of ${rounds} interleaved rounds)`, rows);
  return rows;
}

export async function run(): Promise<void> {
  await tf.setBackend('cpu');

  // 1. MLP gradient.
  const sizes = [1, 50, 50, 1];
  const n = 1000;
  const params = mlpParams(sizes, 1);
  const x = randn([n, 1], 99);
  const loss = (p: Layer[]) => sum(square(mlp(p, x)));
  const gradient = grad(loss);

  const tfParams = params.flatMap((p) => [
    tf.tensor2d(Float32Array.from(p.weight.data), p.weight.shape as [number, number]),
    tf.tensor1d(Float32Array.from(p.bias.data)),
  ]);
  const tfX = tf.tensor2d(Float32Array.from(x.data), [n, 1]);
  const tfLoss = (...ps: tf.Tensor[]) => {
    let h: tf.Tensor = tfX;
    for (let l = 0; l < 3; l++) {
      h = tf.add(tf.matMul(h, ps[2 * l]!, false, true), ps[2 * l + 1]!);
      if (l < 2) h = tf.tanh(h);
    }
    return tf.sum(tf.square(h)) as tf.Scalar;
  };
  const tfGrads = tf.grads(tfLoss);
  const ws = params.map((p) => p.weight.data);
  const bs = params.map((p) => p.bias.data);

  // Same numbers from all three (float32 for tfjs).
  const ours = gradient(params);
  const hand = handGradient(ws, bs, sizes, x.data, n);
  const err = Math.max(...ours.map((g, l) => maxAbsDiff(g.weight.data, hand.gw[l]!)));
  console.log(`MLP gradient: max |ours − hand-written| = ${err.toExponential(2)}`);

  interleaved(
    'Gradient of sum(f(x)²), MLP 1→50→tanh→50→tanh→1, 1,000 inputs',
    [
      {
        name: 'tfjs-cpu tf.grads (float32)',
        fn: () => {
          const gs = tfGrads(tfParams);
          for (const g of gs) g.dataSync();
          tf.dispose(gs);
        },
      },
      { name: 'hand-written backprop (gemmKernel)', fn: () => handGradient(ws, bs, sizes, x.data, n) },
      { name: 'laplace-ts grad', fn: () => gradient(params) },
    ],
    'tfjs-cpu tf.grads (float32)',
    200,
  );

  // 2. Per-example Jacobians.
  const jsizes = [64, 50, 10];
  const jparams = mlpParams(jsizes, 7);
  const X = randn([n, 64], 5);
  const perExample = vmap((xi: Tensor) => jacrev((p: Layer[]) => mlp(p, xi))(jparams));
  const J = perExample(X);
  const Jhand = handJacobian(
    jparams[0]!.weight.data,
    jparams[0]!.bias.data,
    jparams[1]!.weight.data,
    X.data,
    n,
  );
  const J0 = J[0]!.weight;
  let jerr = 0;
  for (let r = 0; r < n; r += 97) {
    for (let i = 0; i < 10; i++) {
      for (let q = 0; q < 3200; q += 13) {
        jerr = Math.max(jerr, Math.abs(J0.data[(r * 10 + i) * 3200 + q]! - Jhand[(r * 10 + i) * 3760 + q]!));
      }
    }
  }
  console.log(
    `Per-example Jacobian: shape of the W₁ block ${JSON.stringify(J0.shape)}, max |ours − hand| = ${jerr.toExponential(2)}`,
  );

  const reused = new Float64Array(n * 10 * 3760);
  interleaved(
    'Per-example Jacobian, MLP 64→50→tanh→10, 1,000 inputs (1000×10×3760)',
    [
      {
        name: 'hand-written',
        fn: () =>
          handJacobian(jparams[0]!.weight.data, jparams[0]!.bias.data, jparams[1]!.weight.data, X.data, n),
      },
      {
        name: 'hand-written, output buffer reused (no page faults)',
        fn: () =>
          handJacobian(
            jparams[0]!.weight.data,
            jparams[0]!.bias.data,
            jparams[1]!.weight.data,
            X.data,
            n,
            reused,
          ),
      },
      { name: 'laplace-ts vmap(jacrev(f))', fn: () => perExample(X) },
    ],
    'hand-written',
    15,
  );

  // 3. The MNIST CNN.
  await runCnn();
}

// ---------------------------------------------------------------------------
// The MNIST CNN of PyTorch's examples, without dropout.

interface Cnn {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  w3: Tensor;
  b3: Tensor;
  w4: Tensor;
  b4: Tensor;
}

function cnnParams(seed: number): Cnn {
  const init = (shape: number[], fanIn: number, s: number) =>
    mul(rand(shape, seed + s, -1, 1), 1 / Math.sqrt(fanIn));
  return {
    w1: init([32, 1, 3, 3], 9, 1),
    b1: init([32], 9, 2),
    w2: init([64, 32, 3, 3], 288, 3),
    b2: init([64], 288, 4),
    w3: init([128, 9216], 9216, 5),
    b3: init([128], 9216, 6),
    w4: init([10, 128], 128, 7),
    b4: init([10], 128, 8),
  };
}

function cnn(p: Cnn, x: Tensor): Tensor {
  let h = relu(conv2d(x, p.w1, p.b1));
  h = relu(conv2d(h, p.w2, p.b2));
  h = maxPool2d(h, { kernelSize: 2 });
  h = reshape(h, [h.shape[0]!, -1]);
  h = relu(linear(h, p.w3, p.b3));
  return linear(h, p.w4, p.b4);
}

/** Mean cross-entropy of the logits against one-hot labels. */
function cnnLoss(p: Cnn, x: Tensor, oneHot: Tensor): Tensor {
  return mul(mean(sum(mul(logSoftmax(cnn(p, x)), oneHot), 1)), -1);
}

export async function runCnn(): Promise<void> {
  const n = 128;
  const params = cnnParams(11);
  const x = rand([n, 1, 28, 28], 12);
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const oneHot = reshape(
    labels.flatMap((l) => Array.from({ length: 10 }, (_, k) => (k === l ? 1 : 0))),
    [n, 10],
  );
  const gradient = grad((p: Cnn) => cnnLoss(p, x, oneHot));

  const f32 = (t: Tensor) => tf.tensor(Float32Array.from(t.data), [...t.shape]);
  // tfjs is NHWC with HWIO filters: transpose ours (OIHW) once, outside the timing.
  const filter = (w: Tensor) => tf.transpose(f32(w), [2, 3, 1, 0]);
  const tfParams = [
    filter(params.w1),
    f32(params.b1),
    filter(params.w2),
    f32(params.b2),
    // Flatten order differs (NHWC vs NCHW); the timing does not depend on it.
    f32(params.w3),
    f32(params.b3),
    f32(params.w4),
    f32(params.b4),
  ];
  const tfX = tf.transpose(f32(x), [0, 2, 3, 1]);
  const tfOneHot = f32(oneHot);
  const tfLoss = (...q: tf.Tensor[]) => {
    let h = tf.relu(tf.add(tf.conv2d(tfX as tf.Tensor4D, q[0] as tf.Tensor4D, 1, 'valid'), q[1]!));
    h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, q[2] as tf.Tensor4D, 1, 'valid'), q[3]!));
    h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
    h = tf.reshape(h, [n, -1]);
    h = tf.relu(tf.add(tf.matMul(h, q[4]!, false, true), q[5]!));
    h = tf.add(tf.matMul(h, q[6]!, false, true), q[7]!);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(h), tfOneHot), 1))) as tf.Scalar;
  };
  const tfGrads = tf.grads(tfLoss);

  // tfjs-cpu takes minutes per step here (its convolution gradients are plain
  // loops), so it runs only on request (BENCH_TFJS_CNN=1), timed once without
  // warm-up (irrelevant at that length); wall and CPU times are both reported,
  // the machine being shared.
  const timed = (f: () => unknown, warmup: number, rounds: number) => {
    for (let i = 0; i < warmup; i++) f();
    const wall: number[] = [];
    const cpuMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      f();
      const used = process.cpuUsage(cpu);
      wall.push(performance.now() - start);
      cpuMs.push((used.user + used.system) / 1000);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    return { wall: median(wall), cpu: median(cpuMs) };
  };
  const ours = timed(() => gradient(params), 2, 9);
  console.log(
    `\nMNIST CNN forward + backward, batch 128 (conv 1→32→64 3×3, maxpool 2, linear 9216→128→10): laplace-ts grad (float64) median of 9: ${ours.wall.toFixed(0)} ms wall, ${ours.cpu.toFixed(0)} ms CPU`,
  );
  if (process.env['BENCH_TFJS_CNN'] !== '1') {
    console.log('tfjs-cpu skipped (328 s CPU for one step on 2026-12-03); set BENCH_TFJS_CNN=1 to time it');
    return;
  }
  const theirs = timed(
    () => {
      const gs = tfGrads(tfParams);
      for (const g of gs) g.dataSync();
      tf.dispose(gs);
    },
    0,
    1,
  );
  const rows: Row[] = [
    { name: 'tfjs-cpu tf.grads (float32), one call', medianMs: theirs.wall, ratio: 1 },
    { name: 'laplace-ts grad (float64), median of 9', medianMs: ours.wall, ratio: theirs.wall / ours.wall },
  ];
  printTable('MNIST CNN forward + backward, batch 128', rows);
  console.log(
    `CPU time: laplace-ts ${ours.cpu.toFixed(0)} ms (median), tfjs-cpu ${theirs.cpu.toFixed(0)} ms`,
  );
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

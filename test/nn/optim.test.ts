/** Optimiser steps against the published update rules, computed by hand. */
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { adam, sgd } from '../../src/nn/index.js';
import { type Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';

type Tree = { w: Tensor; b: Tensor }[];
const tree = (w: number[], b: number): Tree => [{ w: tensor(w), b: tensor([b]) }];
const flat = (t: Tree) => [...t[0]!.w.data, ...t[0]!.b.data];

describe('sgd', () => {
  it('without momentum: θ ← θ − lr·g', () => {
    const next = sgd({ lr: 0.1 }).step(tree([1, -2], 3), tree([0.5, 1], -4));
    expectClose(flat(next), [1 - 0.05, -2 - 0.1, 3 + 0.4], { rtol: 1e-15 });
  });

  it('with momentum and weight decay: b₁ = g₁ + λθ₀, b₂ = μb₁ + g₂ + λθ₁ (PyTorch)', () => {
    const opt = sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    const theta0 = 2;
    const g1 = 1;
    const g2 = -3;
    const d1 = g1 + 0.01 * theta0; // 1.02
    const theta1 = theta0 - 0.1 * d1; // 1.898
    const b2 = 0.9 * d1 + (g2 + 0.01 * theta1); // 0.918 − 2.98102
    const theta2 = theta1 - 0.1 * b2;
    const p1 = opt.step([tensor([theta0])], [tensor([g1])]);
    expectClose(p1[0]!, [theta1], { rtol: 1e-15 });
    const p2 = opt.step(p1, [tensor([g2])]);
    expectClose(p2[0]!, [theta2], { rtol: 1e-15 });
    expect(theta2).toBeCloseTo(1.898 - 0.1 * (0.918 - 2.98102), 14);
  });

  it('leaves its arguments untouched and reset() forgets the momentum', () => {
    const opt = sgd({ lr: 1, momentum: 0.5 });
    const p = [tensor([0])];
    const g = [tensor([1])];
    opt.step(p, g);
    expect(p[0]!.data[0]).toBe(0);
    expect(g[0]!.data[0]).toBe(1);
    expect(opt.step(p, g)[0]!.data[0]).toBe(-1.5); // b = 0.5·1 + 1
    opt.reset();
    expect(opt.step(p, g)[0]!.data[0]).toBe(-1);
  });
});

describe('adam', () => {
  it('two steps match the published rule with bias correction', () => {
    const lr = 0.01;
    const [beta1, beta2] = [0.8, 0.99];
    const eps = 1e-8;
    const opt = adam({ lr, betas: [beta1, beta2], eps });
    // One parameter, gradients 2 then −1.
    let m = (1 - beta1) * 2;
    let v = (1 - beta2) * 4;
    const theta1 = 0.5 - (lr * (m / (1 - beta1))) / (Math.sqrt(v / (1 - beta2)) + eps);
    // The first step of Adam moves every coordinate by ≈ lr·sign(g).
    expect(theta1).toBeCloseTo(0.5 - lr, 8);
    m = beta1 * m + (1 - beta1) * -1;
    v = beta2 * v + (1 - beta2) * 1;
    const theta2 = theta1 - (lr * (m / (1 - beta1 ** 2))) / (Math.sqrt(v / (1 - beta2 ** 2)) + eps);
    const p1 = opt.step({ x: tensor([0.5]) }, { x: tensor([2]) });
    expectClose(p1.x, [theta1], { rtol: 1e-15 });
    const p2 = opt.step(p1, { x: tensor([-1]) });
    expectClose(p2.x, [theta2], { rtol: 1e-15 });
    // m = 0.32 − 0.2 = 0.12, m̂ = 0.12/0.36; v = 0.0396 + 0.01, v̂ = 0.0496/0.0199 (ε neglected).
    expect(theta2).toBeCloseTo(theta1 - (0.01 * (0.12 / 0.36)) / Math.sqrt(0.0496 / 0.0199), 9);
  });

  it('weight decay adds λθ to the gradient before the moments (L2, as torch.optim.Adam)', () => {
    const decayed = adam({ lr: 0.1, weightDecay: 0.5 }).step([tensor([2, -2])], [tensor([0, 0])]);
    // g = 0.5·θ = (1, −1): the first step moves each coordinate by lr against its sign.
    expectClose(decayed[0]!, [1.9, -1.9], { rtol: 1e-9 });
  });

  it('defaults to lr 1e-3, betas (0.9, 0.999), eps 1e-8', () => {
    const step = adam().step([tensor([0])], [tensor([3])]);
    expectClose(step[0]!, [-1e-3 * (3 / (3 + 1e-8))], { rtol: 1e-15 });
  });
});

describe('optimiser errors', () => {
  it('rejects bad hyperparameters', () => {
    expect(() => sgd({ lr: -1 })).toThrow(/sgd: lr must be a finite number ≥ 0, got -1/);
    expect(() => sgd({ lr: 0.1, momentum: Number.NaN })).toThrow(ValueError);
    expect(() => adam({ betas: [0.9, 1] })).toThrow(/adam: betas\[1\] must be a finite number in \[0, 1\)/);
    expect(() => adam({ eps: -1 })).toThrow(ValueError);
  });

  it('rejects grads that do not match params, and non-finite grads', () => {
    const opt = adam();
    expect(() => opt.step([tensor([1, 2])], [tensor([1])])).toThrow(
      /leaf 0 has params \[2\] but grads \[1\]/,
    );
    expect(() => opt.step({ a: tensor([1]) }, { b: tensor([1]) } as never)).toThrow(ShapeError);
    expect(() => opt.step([tensor([1])], [tensor([Number.NaN])])).toThrow(/non-finite value NaN/);
  });

  it('rejects a change of structure between steps', () => {
    const opt = sgd({ lr: 0.1, momentum: 0.9 });
    opt.step([tensor([1])], [tensor([1])]);
    expect(() => opt.step([tensor([1, 2])], [tensor([1, 2])])).toThrow(/changed structure or shape/);
  });
});

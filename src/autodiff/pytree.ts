/**
 * Pytrees: nested arrays and plain objects whose leaves are Tensors (or numbers).
 *
 * Transformations work on flat lists of tensors; pytrees let users pass
 * structured values (a network's parameters as `[{ weight, bias }, …]`) instead.
 * `treeFlatten` splits a tree into its leaves, in depth-first order with object
 * keys in insertion order, and a `TreeDef` describing the structure;
 * `treeUnflatten` puts leaves back. `null` and `undefined` are empty subtrees
 * (no leaves), like JAX's None.
 */
import { ShapeError, ValueError } from '../errors.js';
import { asTensor, type Shape, shapeString, sizeOf, Tensor, type TensorLike } from '../tensor.js';
import { concat, reshape, slice } from './ops.js';

/** A tree of leaves `L` built from arrays and plain objects. */
export type Pytree<L = Tensor | number> =
  | L
  | null
  | undefined
  | readonly Pytree<L>[]
  | { readonly [key: string]: Pytree<L> };

/** The structure of a pytree, without its leaves. */
export type TreeDef =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'none'; readonly value: null | undefined }
  | { readonly kind: 'array'; readonly children: readonly TreeDef[] }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

const LEAF: TreeDef = { kind: 'leaf' };

function isLeaf(x: unknown): x is Tensor | number {
  return x instanceof Tensor || typeof x === 'number';
}

function isPlainObject(x: object): x is Record<string, unknown> {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Leaves (depth first) and structure of a tree. */
export function treeFlatten<L extends Tensor | number = Tensor | number>(tree: Pytree<L>): [L[], TreeDef] {
  const leaves: L[] = [];
  const walk = (node: unknown, path: string): TreeDef => {
    if (isLeaf(node)) {
      leaves.push(node as L);
      return LEAF;
    }
    if (node === null || node === undefined) return { kind: 'none', value: node };
    if (Array.isArray(node)) return { kind: 'array', children: node.map((c, i) => walk(c, `${path}[${i}]`)) };
    if (typeof node === 'object' && isPlainObject(node)) {
      const keys = Object.keys(node);
      return { kind: 'object', keys, children: keys.map((k) => walk(node[k], `${path}.${k}`)) };
    }
    throw new ValueError(
      `treeFlatten: ${path || 'the tree'} is ${describeValue(node)}; pytrees hold Tensors or numbers in arrays and plain objects`,
    );
  };
  const def = walk(tree, '');
  return [leaves, def];
}

function describeValue(x: unknown): string {
  if (typeof x !== 'object' || x === null) return `a ${typeof x}`;
  return `an instance of ${Object.getPrototypeOf(x)?.constructor?.name ?? 'an unknown class'}`;
}

/** Number of leaves a structure holds. */
export function treeSize(def: TreeDef): number {
  switch (def.kind) {
    case 'leaf':
      return 1;
    case 'none':
      return 0;
    default:
      return def.children.reduce((n, c) => n + treeSize(c), 0);
  }
}

/** Rebuild a tree of structure `def` from leaves in flatten order. */
export function treeUnflatten<L>(def: TreeDef, leaves: readonly L[]): Pytree<L> {
  if (treeSize(def) !== leaves.length) {
    throw new ValueError(
      `treeUnflatten: structure ${treeString(def)} holds ${treeSize(def)} leaves, got ${leaves.length}`,
    );
  }
  let next = 0;
  const build = (d: TreeDef): Pytree<L> => {
    switch (d.kind) {
      case 'leaf':
        return leaves[next++]!;
      case 'none':
        return d.value;
      case 'array':
        return d.children.map(build);
      case 'object': {
        const out: Record<string, Pytree<L>> = {};
        d.keys.forEach((k, i) => {
          out[k] = build(d.children[i]!);
        });
        return out;
      }
    }
  };
  return build(def);
}

/** Structural equality of two tree definitions. */
export function treeEqual(a: TreeDef, b: TreeDef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'leaf') return true;
  if (a.kind === 'none') return true;
  const bc = (b as { children: readonly TreeDef[] }).children;
  if (a.children.length !== bc.length) return false;
  if (a.kind === 'object' && (b.kind !== 'object' || a.keys.some((k, i) => k !== b.keys[i]))) return false;
  return a.children.every((c, i) => treeEqual(c, bc[i]!));
}

/** A compact description of a structure for error messages: `[*, {w: *, b: *}]`. */
export function treeString(def: TreeDef): string {
  switch (def.kind) {
    case 'leaf':
      return '*';
    case 'none':
      return String(def.value);
    case 'array':
      return `[${def.children.map(treeString).join(', ')}]`;
    case 'object':
      return `{${def.keys.map((k, i) => `${k}: ${treeString(def.children[i]!)}`).join(', ')}}`;
  }
}

/** Apply `f` leafwise to `tree` and trees of the same structure in `rest`. */
export function treeMap<L, R>(
  f: (leaf: L, ...rest: L[]) => R,
  tree: Pytree<L>,
  ...rest: Pytree<L>[]
): Pytree<R> {
  const [leaves, def] = treeFlatten(tree as Pytree<Tensor | number>) as [L[], TreeDef];
  const others = rest.map((r, i) => {
    const [l, d] = treeFlatten(r as Pytree<Tensor | number>) as [L[], TreeDef];
    if (!treeEqual(d, def)) {
      throw new ValueError(
        `treeMap: tree ${i + 1} has structure ${treeString(d)}, expected ${treeString(def)}`,
      );
    }
    return l;
  });
  return treeUnflatten(
    def,
    leaves.map((leaf, j) => f(leaf, ...others.map((o) => o[j]!))),
  );
}

/**
 * One flat vector of all leaves (each raveled row-major, in flatten order) and
 * the inverse map. Both directions are ops, so they can be differentiated.
 */
export function ravelPytree(tree: Pytree): [Tensor, (flat: TensorLike) => Pytree<Tensor>] {
  const [leaves, def] = treeFlatten(tree);
  const tensors = leaves.map((l) => asTensor(l));
  const shapes: Shape[] = tensors.map((t) => t.shape);
  const sizes = shapes.map(sizeOf);
  const total = sizes.reduce((a, b) => a + b, 0);
  const flat =
    tensors.length === 0 ? asTensor(new Float64Array(0)) : concat(tensors.map((t) => reshape(t, [-1])));
  const unravel = (v: TensorLike): Pytree<Tensor> => {
    const t = asTensor(v);
    if (t.ndim !== 1 || t.shape[0] !== total) {
      throw new ShapeError(
        `unravel: expected a vector of ${total} values, got shape ${shapeString(t.shape)}`,
      );
    }
    let offset = 0;
    return treeUnflatten(
      def,
      shapes.map((s, i) => {
        const piece = reshape(slice(t, [offset], [offset + sizes[i]!]), s);
        offset += sizes[i]!;
        return piece;
      }),
    );
  };
  return [flat, unravel];
}

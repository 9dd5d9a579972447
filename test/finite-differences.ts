/** The oracle of the nn tests: ∂f/∂θᵢ ≈ (f(θ + h·eᵢ) − f(θ − h·eᵢ)) / 2h, error O(h²). */
export function finiteDifferenceGradient(
  f: (theta: Float64Array) => number,
  theta: Float64Array,
  h = 1e-6,
): Float64Array {
  const g = new Float64Array(theta.length);
  for (let i = 0; i < theta.length; i++) {
    const plus = theta.slice();
    const minus = theta.slice();
    plus[i]! += h;
    minus[i]! -= h;
    g[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return g;
}

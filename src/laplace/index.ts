/** Linearised Laplace approximations: curvature, posteriors, marginal likelihood, predictives. */
export {};

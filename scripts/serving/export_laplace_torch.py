"""Fit laplace-torch on a network trained in PyTorch and write what laplace-ts
needs to serve its predictive (not run by CI).

The path for models that outgrow laplace-ts: train and fit the Laplace
approximation with PyTorch (on a GPU if need be), then hand two files to
laplace-ts, which serves the GLM predictive in Node or a browser:

- <name>.onnx: the network, torch.onnx.export in eval mode, opset 13, without
  constant folding (so every initializer is a parameter, in parameters() order);
- <name>.<case>.json: the posterior, `format: 'laplace-torch'`, read by
  `Laplace.fromLaplaceTorch(json, model)`:
    likelihood            'classification' | 'regression'
    subsetOfWeights       'all' | 'lastLayer'
    hessianStructure      'full' (last layer) | 'kron' (all weights)
    mean                  the MAP of the random weights (la.mean)
    priorPrecision        scalar, per parameter tensor or per weight (la.prior_precision)
    sigmaNoise, temperature
    lossFactor            the backend's factor c of the loss (1/2 for MSELoss, 1 for
                          cross-entropy): BackPACK's GGN of the summed MSE is 2 sum J^T J
    full: posteriorPrecision   la.posterior_precision, [P x P]
    kron: kroneckerFactors     per parameter tensor of model.parameters(), the
                          eigendecompositions laplace-torch holds in la.H (a
                          KronDecomposed): {eigenvalues: [l_B, l_A], eigenvectors:
                          [Q_B, Q_A]} for a weight and {[l_B], [Q_B]} for a bias,
                          with c spread over the factors as c**(1/len); the
                          posterior precision of a tensor is
                          (Q_B x Q_A)(l_B x l_A / (sigma^2 T) + delta)(Q_B x Q_A)^T.
                          damping must be false.
    nData, loss           la.n_data and la.loss (for the evidence; not needed to predict)

and test/fixtures/serving/reference.json with, per case, a few test inputs and
laplace-torch's GLM predictive on them (f_mu, f_var and, for classification,
the probit, bridge and Monte Carlo (10^5 samples) probabilities), which test/laplace/laplace-torch-serving.test.ts checks.

Networks are trained in float32, as a user would. Laplace is fitted in float32
for one case (as it would be on a GPU) and on the float64 copy of the same
float32 weights for the others (so the comparison measures the mapping, not
float32 rounding). Needs the reference environment of shared/REFERENCE_ENV.md:

    PYTHONPATH=... /usr/bin/python3 scripts/serving/export_laplace_torch.py
"""

import json
import os
import subprocess

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from laplace import Laplace

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "serving")


def exact(t):
    """A tensor as nested lists of the doubles it holds (float32 values widen exactly)."""
    t = t.detach().cpu()
    if t.ndim == 0:
        return float(t)
    return [exact(s) for s in t]


def train(model, x, y, loss, steps=300):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(model(x), y).backward()
        optimizer.step()
    return model.eval()


def data():
    """Three Gaussian blobs in 2-D, 8x8 images of a bar at one of three angles, a noisy sine."""
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-1.5, 0.0], [1.5, 0.5], [0.0, 1.8]])
    yb = torch.arange(60) % 3
    xb = centres[yb] + 0.6 * torch.randn(60, 2, generator=g)
    yi = torch.arange(48) % 3
    xi = 0.3 * torch.randn(48, 1, 8, 8, generator=g)
    for n, c in enumerate(yi.tolist()):
        for k in range(1, 7):
            r, s = [(4, k), (k, 4), (k, k)][c]
            xi[n, 0, r, s] += 1.0
    xs = torch.linspace(-3, 3, 40).reshape(-1, 1)
    ys = torch.sin(xs) + 0.2 * torch.randn(40, 1, generator=g)
    return (xb, yb), (xi, yi), (xs, ys)


def fit(model, x, y, likelihood, subset, structure, dtype, sigma=1.0, tune=None):
    model = model.to(dtype)
    loader = DataLoader(TensorDataset(x.to(dtype), y.to(dtype) if likelihood == "regression" else y), batch_size=16)
    # sigma as a tensor of the model's dtype: a Python float becomes a float32 tensor, and so would 1/sigma^2
    la = Laplace(
        model, likelihood, subset_of_weights=subset, hessian_structure=structure,
        sigma_noise=torch.tensor(sigma, dtype=dtype),
    )
    la.fit(loader)
    if tune is not None:
        la.optimize_prior_precision(method="marglik", init_prior_prec=tune)
    return la


def posterior_json(la, likelihood, subset, structure):
    prior = la.prior_precision.detach()
    out = {
        "format": "laplace-torch",
        "version": "0.1a2",
        "likelihood": likelihood,
        "subsetOfWeights": "all" if subset == "all" else "lastLayer",
        "hessianStructure": structure,
        "mean": exact(la.mean),
        "priorPrecision": float(prior[0]) if prior.numel() == 1 else exact(prior),
        "sigmaNoise": float(la.sigma_noise),
        "temperature": float(la.temperature),
        "lossFactor": float(la.backend.factor),
        "nData": int(la.n_data),
        "loss": float(la.loss),
    }
    if structure == "full":
        out["posteriorPrecision"] = exact(la.posterior_precision)
    else:
        assert not la.damping
        out["kroneckerFactors"] = [
            {"eigenvalues": [exact(l) for l in ls], "eigenvectors": [exact(q) for q in qs]}
            for ls, qs in zip(la.H.eigenvalues, la.H.eigenvectors)
        ]
    return out


def predictive(la, x, likelihood):
    f_mu, f_var = la._glm_predictive_distribution(x)
    out = {"fMu": exact(f_mu), "fVar": exact(f_var)}
    if likelihood == "classification":
        out["probs"] = exact(la(x, pred_type="glm", link_approx="probit"))
        out["probsBridge"] = exact(la(x, pred_type="glm", link_approx="bridge"))
        torch.manual_seed(0)
        out["probsMc"] = exact(la(x, pred_type="glm", link_approx="mc", n_samples=100000))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    (xb, yb), (xi, yi), (xs, ys) = data()
    ce = nn.CrossEntropyLoss()

    torch.manual_seed(0)
    mlp = train(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)), xb, yb, ce)
    torch.manual_seed(1)
    cnn = train(
        nn.Sequential(
            nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(27, 3)
        ),
        xi, yi, ce, steps=200,
    )
    torch.manual_seed(2)
    sine = train(nn.Sequential(nn.Linear(1, 10), nn.Tanh(), nn.Linear(10, 1)), xs, ys, nn.MSELoss())

    g = torch.Generator().manual_seed(1)
    tests = {
        "mlp": 2.0 * torch.randn(5, 2, generator=g),
        "cnn": xi[:4] + 0.3 * torch.randn(4, 1, 8, 8, generator=g),
        "sine": torch.tensor([[-4.0], [-1.0], [0.5], [2.5], [5.0]]),
    }
    networks = {"mlp": (mlp, (2,)), "cnn": (cnn, (1, 8, 8)), "sine": (sine, (1,))}
    for name, (model, shape) in networks.items():
        torch.onnx.export(
            model.float(), torch.zeros(1, *shape), os.path.join(OUT, f"{name}.onnx"),
            opset_version=13, do_constant_folding=False, input_names=["input"], output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )

    f32, f64 = torch.float32, torch.float64
    cases = [
        # name, network, data, likelihood, subset, structure, dtype, sigma, prior tuning
        ("mlp", mlp, xb, yb, "classification", "last_layer", "full", f32, 1.0, torch.ones(1)),
        ("mlp", mlp, xb, yb, "classification", "all", "kron", f32, 1.0, torch.ones(6)),
        ("cnn", cnn, xi, yi, "classification", "last_layer", "full", f64, 1.0, torch.ones(1)),
        ("cnn", cnn, xi, yi, "classification", "all", "kron", f64, 1.0, torch.ones(4)),
        ("sine", sine, xs, ys, "regression", "all", "kron", f64, 0.2, torch.ones(1)),
        ("sine", sine, xs, ys, "regression", "last_layer", "full", f64, 0.2, None),
    ]
    reference = []
    for name, model, x, y, likelihood, subset, structure, dtype, sigma, tune in cases:
        tune = tune.to(dtype) if isinstance(tune, torch.Tensor) else tune
        la = fit(model, x, y, likelihood, subset, structure, dtype, sigma, tune)
        label = f"{name}.{'all' if subset == 'all' else 'lastLayer'}-{structure}"
        with open(os.path.join(OUT, f"{label}.json"), "w") as f:
            json.dump(posterior_json(la, likelihood, subset, structure), f)
        record = {
            "network": f"{name}.onnx",
            "posterior": f"{label}.json",
            "dtype": "float32" if dtype == f32 else "float64",
            "X": exact(tests[name].to(dtype)),
        }
        record.update(predictive(la, tests[name].to(dtype), likelihood))
        reference.append(record)
        model.float()
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"torch": torch.__version__, "laplace": "0.1a2", "cases": reference}, f)
    subprocess.run(["npx", "biome", "format", "--write", OUT], check=False)


if __name__ == "__main__":
    main()

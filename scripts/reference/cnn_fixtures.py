"""Reference numbers from laplace-torch 0.1a2 (BackPACK 1.5.2 backend) for small CNNs.

Writes test/fixtures/laplace-torch/cnn.json, read by
test/laplace/laplace-torch-cnn.test.ts. Not run by CI: it needs the reference
environment described in shared/REFERENCE_ENV.md (Debian's python3-torch 1.13,
laplace-torch at tag 0.1a2, BackPACK 1.5.2 with its version patch, einops
v0.6.0, asdfghjkl v0.1a2 on PYTHONPATH). Run from the repository root:

    PYTHONPATH=... /usr/bin/python3 scripts/reference/cnn_fixtures.py

(it then runs `npx biome format --write` on the fixture, so node_modules must
be installed).

Everything is float64 with fixed seeds. For each network the fixture holds the
network in laplace-ts's Sequential JSON, its parameters in PyTorch
parameters() order, the data, and for every (subset_of_weights, hessian_structure)
in {all, last_layer} x {full, kron, diag}, fitted on one full batch with a
scalar prior precision:

- logMarginalLikelihood, logLikelihood, logDetPosteriorPrecision, scatter at
  that prior;
- the posterior precision: full -> the dense matrix; diag -> its diagonal;
  kron -> la.H_facs.kfacs as laplace-torch stores them (per parameter tensor,
  [B, A] for a weight and [B] for a bias; the backend's loss factor c, 1/2 for
  MSELoss(sum) and 1 for CrossEntropyLoss(sum), is spread as c**(1/len(F))
  over the factors, and A = (1/N) sum_n U_n U_n^T), without the 1/sigma^2 and
  the prior, which enter as H * (1/(sigma^2 T)) + delta on the eigenvalues;
- the GLM predictive at the test inputs: f_mu and f_var, and for
  classification the probit probabilities (laplace-torch's default link);
- laplace-torch's optimize_prior_precision(method='marglik') (Adam, 100 steps,
  lr 0.1, from 1) and the evidence at its result.
"""

import json
import os
import subprocess
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import backpack
import laplace
from laplace import Laplace

torch.set_default_dtype(torch.float64)

PRIOR_PRECISION = 0.7
DIGITS = 15  # significant digits of the results; far below the tests' tolerances


def num(x):
    return float(f'{float(x):.{DIGITS}g}')


def exact(x):
    return float(x)  # json writes the shortest repr that reads back to the same double


def nested(t, write=num):
    """A tensor as nested lists; inputs (weights, data) exactly, results to DIGITS."""
    t = t.detach()
    if t.ndim == 0:
        return write(t)
    return [nested(s, write) for s in t]


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def layer_json(m):
    """One layer in laplace-ts's JSON form (src/nn/*.ts toJSON)."""
    if isinstance(m, nn.Conv2d):
        return {
            'type': 'conv2d', 'inChannels': m.in_channels, 'outChannels': m.out_channels,
            'kernelSize': pair(m.kernel_size), 'stride': pair(m.stride),
            'padding': pair(m.padding), 'dilation': pair(m.dilation), 'groups': m.groups,
            'weight': nested(m.weight, exact),
            'bias': None if m.bias is None else nested(m.bias, exact),
        }
    if isinstance(m, nn.Linear):
        return {
            'type': 'linear', 'inFeatures': m.in_features, 'outFeatures': m.out_features,
            'weight': nested(m.weight, exact),
            'bias': None if m.bias is None else nested(m.bias, exact),
        }
    if isinstance(m, nn.MaxPool2d):
        return {'type': 'maxpool2d', 'kernelSize': pair(m.kernel_size), 'stride': pair(m.stride),
                'padding': pair(m.padding), 'dilation': pair(m.dilation)}
    if isinstance(m, nn.AvgPool2d):
        assert m.count_include_pad and not m.ceil_mode
        return {'type': 'avgpool2d', 'kernelSize': pair(m.kernel_size), 'stride': pair(m.stride),
                'padding': pair(m.padding)}
    if isinstance(m, nn.Flatten):
        return {'type': 'flatten'}
    if isinstance(m, nn.ReLU):
        return {'type': 'relu'}
    if isinstance(m, nn.Tanh):
        return {'type': 'tanh'}
    raise TypeError(f'no JSON form for {m}')


def networks():
    """(name, likelihood, sigma_noise, input shape, build, n_train, n_outputs)."""
    return [
        ('relu-maxpool', 'classification', 1.0, (1, 4, 4),
         lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Flatten(), nn.Linear(8, 3)), 12, 3),
        ('tanh-strided-avgpool', 'classification', 1.0, (1, 5, 5),
         lambda: nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, bias=False), nn.Tanh(),
                               nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(2, 3)), 10, 3),
        ('two-channel-regression', 'regression', 0.6, (2, 3, 3),
         lambda: nn.Sequential(nn.Conv2d(2, 3, 2), nn.Tanh(), nn.Flatten(), nn.Linear(12, 2)), 9, 2),
    ]


def fit_case(model, likelihood, sigma_noise, X, y, subset, structure):
    la = Laplace(model, likelihood, subset_of_weights=subset, hessian_structure=structure,
                 sigma_noise=sigma_noise, prior_precision=PRIOR_PRECISION)
    la.fit(DataLoader(TensorDataset(X, y), batch_size=len(X), shuffle=False))
    return la


def record_case(la, structure, X_test, likelihood):
    out = {
        'logMarginalLikelihood': num(la.log_marginal_likelihood()),
        'logLikelihood': num(la.log_likelihood),
        'logDetPosteriorPrecision': num(la.log_det_posterior_precision),
        'scatter': num(la.scatter),
        'nParams': int(la.n_params),
    }
    if structure == 'full':
        out['posteriorPrecision'] = nested(la.posterior_precision)
    elif structure == 'diag':
        out['posteriorPrecisionDiagonal'] = nested(la.posterior_precision)
    else:
        out['kroneckerFactors'] = [[nested(F) for F in fs] for fs in la.H_facs.kfacs]
    f_mu, f_var = la._glm_predictive_distribution(X_test)
    out['fMu'] = nested(f_mu)
    out['fVar'] = nested(f_var)
    if likelihood == 'classification':
        out['probs'] = nested(la(X_test, pred_type='glm', link_approx='probit'))
    la.optimize_prior_precision(method='marglik')
    out['adamPriorPrecision'] = num(la.prior_precision)
    out['adamLogMarginalLikelihood'] = num(la.log_marginal_likelihood())
    return out


def problem(seed, name, likelihood, sigma_noise, prior_precision, shape, build, n, n_out):
    """One fixture network drawn from `seed`: the model, n training inputs and
    targets (balanced classes, or normal values), 3 test inputs, and the
    fixture entry's fields that describe them, exactly."""
    torch.manual_seed(seed)
    model = build()
    X = torch.randn(n, *shape)
    X_test = torch.randn(3, *shape)
    if likelihood == 'classification':
        y = torch.arange(n) % n_out
        y = y[torch.randperm(n)]
    else:
        y = torch.randn(n, n_out)
    params = torch.cat([p.detach().flatten() for p in model.parameters()])
    entry = {
        'name': name,
        'likelihood': likelihood,
        'sigmaNoise': sigma_noise,
        'priorPrecision': prior_precision,
        'model': {'inputShape': list(shape), 'layers': [layer_json(m) for m in model]},
        'parameters': nested(params, exact),
        'X': nested(X.flatten(start_dim=1), exact),
        'y': [int(v) for v in y] if likelihood == 'classification' else nested(y, exact),
        'XTest': nested(X_test.flatten(start_dim=1), exact),
    }
    return model, X, y, X_test, entry


def write_fixture(doc, name):
    """test/fixtures/laplace-torch/<name>, in the layout of the repository's formatter."""
    path = os.path.join('test', 'fixtures', 'laplace-torch', name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    # The repository's formatter owns the layout of every JSON file (npm run lint checks it).
    subprocess.run(['npx', 'biome', 'format', '--write', path], check=True, stdout=subprocess.DEVNULL)
    print(f'wrote {path} ({os.path.getsize(path)} bytes)', file=sys.stderr)


def main():
    fixtures = []
    for k, (name, likelihood, sigma_noise, shape, build, n, n_out) in enumerate(networks()):
        model, X, y, X_test, entry = problem(100 + k, name, likelihood, sigma_noise, PRIOR_PRECISION,
                                             shape, build, n, n_out)
        entry['fMap'] = nested(model(X_test))
        entry['cases'] = []
        for subset in ['all', 'last_layer']:
            for structure in ['full', 'kron', 'diag']:
                # BackPACK extends the modules in place: every case starts from its own copy.
                copy = build()
                copy.load_state_dict(model.state_dict())
                la = fit_case(copy, likelihood, sigma_noise, X, y, subset, structure)
                case = {'subsetOfWeights': 'lastLayer' if subset == 'last_layer' else 'all',
                        'hessianStructure': structure}
                case.update(record_case(la, structure, X_test, likelihood))
                entry['cases'].append(case)
                print(f"{name:24s} {subset:10s} {structure:5s} lml {case['logMarginalLikelihood']:.10f}"
                      f" adam p0 {case['adamPriorPrecision']:.6f}", file=sys.stderr)
        fixtures.append(entry)

    doc = {
        'generatedBy': 'scripts/reference/cnn_fixtures.py',
        'reference': {
            'laplace-torch': '0.1a2 (556475cbdc650e7f3d260450f94f9323828d957f)',
            'backpack': '1.5.2 (ed362e43503d7a8a777126f48a61b9c0fcc9536d) with the version patch of REFERENCE_ENV.md',
            'torch': torch.__version__,
            'backend': 'BackPackGGN',
        },
        'networks': fixtures,
    }
    write_fixture(doc, 'cnn.json')


if __name__ == '__main__':
    main()

"""Reference numbers from laplace-torch 0.2.2.2's FunctionalLaplace (hessian_structure='gp').

Writes test/fixtures/laplace-torch/gp.json, read by
test/laplace/laplace-torch-gp.test.ts. Not run by CI: it needs the reference
environment of shared/REFERENCE_ENV.md with the section "laplace-torch 0.2.2.2
for FunctionalLaplace" (scripts/reference/REFERENCE_ENV-gp.md): Debian's
python3-torch 1.13, laplace-torch at tag 0.2.2.2, BackPACK 1.5.2 with its
version patch, einops v0.6.0. Run from the repository root:

    PYTHONPATH=$ENV/laplace-0.2.2.2:$ENV/backpack-1.5.2:$ENV/einops-0.6.0 \
        /usr/bin/python3 scripts/reference/gp_fixtures.py

laplace-torch 0.2.2.2 declares torch >= 2, but its FunctionalLaplace with the
default BackPackGGN backend (Jacobians by BackPACK's BatchGrad, one backward
pass per output) only needs torch 1.13. What stands in the way is at import
time, and install_import_shims() below removes it without touching laplace's
files: torch 1.13 calls the LR scheduler base class `_LRScheduler` (imported
by name in laplace/marglik_training.py), and baselaplace.py and utils import
torchmetrics, tqdm, opt_einsum, asdl and curvlinops, used only by other
structures, backends, progress bars and validation metrics, never by the GP
maths recorded here. Those modules are replaced by empty stand-ins whose
every attribute is an inert class.

Everything is float64 with fixed seeds. Per network (two MLPs and a small CNN)
the fixture holds the network in laplace-ts's Sequential JSON, its parameters
in PyTorch parameters() order, the data, and for every case (n_subset = N or
M < N with laplace-torch's own seeded subset, recorded as subsetIndices;
independent_outputs off and on; one with a prior mean) what FunctionalLaplace
computed:

- at each (prior precision, sigma noise) of the grid: log_marginal_likelihood
  and its terms log_likelihood, log_det_ratio, scatter;
- at the network's prior precision and noise: the GP predictive f_mu and f_var
  at the test inputs and, for classification, the probit and bridge
  probabilities, as laplace-torch computes them ('predictive') and with the
  output axes of its cross-kernel swapped ('predictiveOutputsSwapped').

The swap: for dependent outputs, FunctionalLaplace._build_K_star_M reshapes
K_{*M} [N*, M, C*, C] (test output c, training output e) to [N*, M*C, C], so the
rows it solves against (K_MM + L^-1) are indexed by (training point, test
output) and the columns by the training output: it computes the GP covariance of
the kernel k(x*, x)_{ec} instead of k(x*, x)_{ce}. The two agree when
J(x*)_c . J(x)_e = J(x*)_e . J(x)_c, as for an MLP with one hidden layer, not in
general (the CNN here). The swapped version is laplace-torch's own code given
the transposed blocks, and check_against_dense() asserts that it is the GP
posterior covariance, computed densely from the same BackPACK Jacobians.
"""

import importlib.abc
import importlib.machinery
import os
import sys
import types


def install_import_shims():
    import torch.optim.lr_scheduler as schedulers

    if not hasattr(schedulers, 'LRScheduler'):
        schedulers.LRScheduler = schedulers._LRScheduler

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith('__'):
                raise AttributeError(name)
            return type(name, (), {'__init__': lambda self, *args, **kwargs: None})

    class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        roots = {'torchmetrics', 'tqdm', 'opt_einsum', 'asdl', 'curvlinops'}

        def find_spec(self, name, path, target=None):
            if name.split('.')[0] in self.roots:
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            module = Stub(spec.name)
            module.__path__ = []
            return module

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, StubFinder())


install_import_shims()

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import laplace  # noqa: E402
from laplace import Laplace  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn_fixtures import nested, num, problem, write_fixture  # noqa: E402

torch.set_default_dtype(torch.float64)

BATCH_SIZE = 4  # smaller than every subset, so that laplace-torch assembles K_MM from blocks


def networks():
    """(name, likelihood, sigma_noise, prior precision, input shape, build, N, outputs, M)."""
    return [
        ('mlp-regression', 'regression', 0.6, 0.7, (3,),
         lambda: nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2)), 10, 2, 6),
        ('mlp-classification', 'classification', 1.0, 0.7, (2,),
         lambda: nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3)), 12, 3, 7),
        ('cnn-classification', 'classification', 1.0, 1.3, (1, 4, 4),
         lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Flatten(), nn.Linear(8, 3)), 9, 3, 5),
    ]


def grid(likelihood, sigma_noise, prior_precision):
    deltas = [prior_precision, 0.2, 3.0]
    sigmas = [sigma_noise, 0.3, 1.4] if likelihood == 'regression' else [1.0]
    return [(d, s) for d in deltas for s in sigmas]


def record_case(la, likelihood, sigma_noise, prior_precision, X_test):
    out = {'evidence': []}
    for delta, sigma in grid(likelihood, sigma_noise, prior_precision):
        lml = la.log_marginal_likelihood(
            prior_precision=torch.tensor(delta),
            sigma_noise=torch.tensor(sigma) if likelihood == 'regression' else None,
        )
        out['evidence'].append({
            'priorPrecision': delta,
            'sigmaNoise': sigma,
            'logMarginalLikelihood': num(lml),
            'logLikelihood': num(la.log_likelihood),
            'logDetRatio': num(la.log_det_ratio),
            'scatter': num(la.scatter),
        })
    la.prior_precision = prior_precision
    la.sigma_noise = sigma_noise
    out['predictive'] = predictive(la, likelihood, X_test)
    # The same with _build_K_star_M given K_{*M} with its two output axes swapped (see the header).
    build = la._build_K_star_M
    la._build_K_star_M = lambda K_M_star, joint=False: build(
        K_M_star if la.independent_outputs else [K.transpose(-1, -2) for K in K_M_star], joint)
    out['predictiveOutputsSwapped'] = predictive(la, likelihood, X_test)
    check_against_dense(la, likelihood, X_test, out['predictiveOutputsSwapped']['fVar'])
    return out


def predictive(la, likelihood, X_test):
    la._build_Sigma_inv()  # _glm_predictive_distribution uses the factor as it stands
    f_mu, f_var = la._glm_predictive_distribution(X_test)
    out = {'fMu': nested(f_mu), 'fVar': nested(f_var)}
    if likelihood == 'classification':
        out['probsProbit'] = nested(la(X_test, link_approx='probit'))
        out['probsBridge'] = nested(la(X_test, link_approx='bridge'))
    return out


def check_against_dense(la, likelihood, X_test, f_var):
    """The swapped predictive is the GP posterior covariance, by a dense solve from the same Jacobians."""
    X_S = torch.cat([X for X, _ in la.train_loader])
    J_S, f_S = la.backend.jacobians(X_S)
    J_star, _ = la.backend.jacobians(X_test)
    C = la.n_outputs
    J_S = J_S.reshape(-1, J_S.shape[-1])
    s = la.gp_kernel_prior_variance
    if likelihood == 'classification':
        p = torch.softmax(f_S, dim=-1)
        lam = (p * (1 - p)).reshape(-1) * la._H_factor
    else:
        lam = torch.ones(J_S.shape[0]) * la._H_factor
    mask = torch.ones(C, C) if not la.independent_outputs else torch.eye(C)
    n_S = J_S.shape[0] // C
    K = s * (J_S @ J_S.T) * mask.repeat(n_S, n_S)
    A = K + torch.diag(1 / lam)
    for b in range(J_star.shape[0]):
        cross = s * (J_star[b] @ J_S.T) * mask.repeat(1, n_S)
        dense = s * (J_star[b] @ J_star[b].T) * mask - cross @ torch.linalg.solve(A, cross.T)
        assert torch.allclose(torch.tensor(f_var[b]), dense, rtol=1e-9, atol=1e-12), (b, dense, f_var[b])


def main():
    fixtures = []
    for k, (name, likelihood, sigma_noise, prior_precision, shape, build, n, n_out, m) in enumerate(networks()):
        model, X, y, X_test, entry = problem(200 + k, name, likelihood, sigma_noise, prior_precision,
                                             shape, build, n, n_out)
        entry['cases'] = []
        variants = [(n, False, 0.0), (n, True, 0.0), (m, False, 0.0), (m, True, 0.0), (m, False, 0.1)]
        for n_subset, independent, prior_mean in variants:
            # BackPACK extends the modules in place: every case starts from its own copy.
            copy = build()
            copy.load_state_dict(model.state_dict())
            la = Laplace(copy, likelihood, subset_of_weights='all', hessian_structure='gp',
                         n_subset=n_subset, independent_outputs=independent,
                         sigma_noise=sigma_noise, prior_precision=prior_precision,
                         prior_mean=prior_mean)
            la.fit(DataLoader(TensorDataset(X, y), batch_size=BATCH_SIZE, shuffle=False))
            case = {
                'nSubset': n_subset,
                'subsetIndices': sorted(int(i) for i in la.train_loader.sampler.indices),
                'independentOutputs': independent,
                'priorMean': prior_mean,
            }
            case.update(record_case(la, likelihood, sigma_noise, prior_precision, X_test))
            entry['cases'].append(case)
            print(f"{name:20s} M={n_subset:2d} independent={independent!s:5s} mu0={prior_mean}"
                  f" lml {case['evidence'][0]['logMarginalLikelihood']:.10f}", file=sys.stderr)
        fixtures.append(entry)

    doc = {
        'generatedBy': 'scripts/reference/gp_fixtures.py',
        'reference': {
            'laplace-torch': '0.2.2.2 (a4fd3e5759367672cbc67a1c58acf5166cb31b16), FunctionalLaplace',
            'backpack': '1.5.2 (ed362e43503d7a8a777126f48a61b9c0fcc9536d) with the version patch of REFERENCE_ENV.md',
            'torch': torch.__version__,
            'backend': 'BackPackGGN (Jacobians by BatchGrad)',
            'laplacePackage': os.path.dirname(os.path.dirname(laplace.__file__)).split(os.sep)[-1],
        },
        'networks': fixtures,
    }
    write_fixture(doc, 'gp.json')


if __name__ == '__main__':
    main()

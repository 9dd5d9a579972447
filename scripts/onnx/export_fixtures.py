"""Export the ONNX fixtures of test/onnx from PyTorch (not run by CI).

Each network is built with a fixed seed, put in eval mode, exported with
torch.onnx.export and run in PyTorch on a fixed input. For every network this
writes test/fixtures/onnx/<name>.onnx and <name>.json holding the input, the
output PyTorch computes in float32 (the model as exported) and in float64 (the
same float32 weights, promoted, so the comparison measures the importer and
not float32 rounding), the names of `model.parameters()` in order, and for
the networks that end in logits the diagonal of the generalised Gauss–Newton
of the softmax cross-entropy over `model.parameters()` (laplace-torch's
Hessian for classification), in float64.

Run from the repository root with Debian's PyTorch:

    apt-get install -y python3-torch python3-numpy
    /usr/bin/python3 scripts/onnx/export_fixtures.py

Exports keep the parameters as PyTorch has them (training=PRESERVE on a
model in eval mode, no constant folding), so BatchNormalization stays a node
and every initializer keeps its parameter's name; `cnn_bn_folded` is exported
with the defaults instead, which fold BatchNorm into the convolution before it.
"""

import json
import math
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "onnx")


class KerasDense(nn.Module):
    """A Dense layer as Keras holds it: kernel [in, out], y = x·kernel + bias."""

    def __init__(self, n_in, n_out, mode):
        super().__init__()
        bound = 1 / math.sqrt(n_in)
        self.kernel = nn.Parameter(torch.empty(n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_out).uniform_(-bound, bound))
        self.mode = mode

    def forward(self, x):
        if self.mode == "gemm":  # Gemm with transB = 0
            return torch.addmm(self.bias, x, self.kernel)
        if self.mode == "gemm_scaled":  # Gemm with alpha, beta
            return torch.addmm(self.bias, x, self.kernel, beta=0.5, alpha=2.0)
        return torch.matmul(x, self.kernel) + self.bias  # MatMul then Add


class KerasStyle(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense1 = KerasDense(5, 7, "gemm")
        self.dense2 = KerasDense(7, 6, "matmul")
        self.dense3 = KerasDense(6, 3, "gemm_scaled")

    def forward(self, x):
        h = torch.relu(self.dense1(x))
        h = torch.tanh(self.dense2(h))
        return torch.log_softmax(self.dense3(h), dim=-1)


class MeanPooled(nn.Module):
    """A convolution, then the mean over H and W written by hand (ReduceMean)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))


class Block(nn.Module):
    """y = relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)), ResNet's basic block."""

    def __init__(self, c_in, c_out, batchnorm):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(c_out) if batchnorm else nn.Identity()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=not batchnorm)
        self.bn2 = nn.BatchNorm2d(c_out) if batchnorm else nn.Identity()
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, batchnorm=False):
        super().__init__()
        self.stem = nn.Conv2d(1, 3, 3, padding=1)
        self.block1 = Block(3, 3, batchnorm)
        self.block2 = Block(3, 4, batchnorm)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        h = torch.tanh(self.stem(x))
        h = self.block2(self.block1(h))
        h = self.pool(h)
        return self.head(h.view(h.size(0), -1))


def randomize_batchnorm(model):
    """Non-trivial running statistics and affine parameters."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)


def ggn_diagonal(model, x):
    """diag Σₙ Jₙᵀ (diag(pₙ) − pₙpₙᵀ) Jₙ over model.parameters() in order: the
    generalised Gauss–Newton of the softmax cross-entropy, laplace-torch's
    Hessian for classification, with Jₙ = ∂ logitsₙ / ∂θ by backward passes."""
    params = list(model.parameters())
    logits = model(x)
    n, k = logits.shape
    diag = torch.zeros(sum(p.numel() for p in params), dtype=torch.float64)
    for i in range(n):
        rows = []
        for j in range(k):
            grads = torch.autograd.grad(logits[i, j], params, retain_graph=True, allow_unused=True)
            rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)]))
        jac = torch.stack(rows)  # [k, P]
        prob = torch.softmax(logits[i].detach(), dim=0)
        lam = torch.diag(prob) - torch.outer(prob, prob)
        diag += torch.einsum("kp,kl,lp->p", jac, lam, jac)
    return diag


# Networks whose output is the logits (no final Softmax), small enough for a GGN check.
GGN_FIXTURES = {"cnn_mean", "mlp", "mlp_bn", "cnn", "cnn_strided", "residual", "residual_bn", "cnn_bn", "mlp_float64"}


def networks():
    torch.manual_seed(0)
    yield "mlp", nn.Sequential(
        nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)
    ), (4,), {"opset": 13}

    torch.manual_seed(1)
    yield "mlp_activations", nn.Sequential(
        nn.Linear(3, 6),
        nn.LeakyReLU(0.2),
        nn.Linear(6, 6),
        nn.ELU(0.5),
        nn.Linear(6, 6),
        nn.Sigmoid(),
        nn.Linear(6, 6),
        nn.Softplus(),
        nn.Linear(6, 6),
        nn.GELU(),
        nn.Dropout(0.3),
        nn.Identity(),
        nn.Linear(6, 4),
        nn.Softmax(dim=-1),
    ), (3,), {"opset": 11}

    torch.manual_seed(2)
    yield "mlp_opset17", nn.Sequential(
        nn.Linear(3, 5), nn.GELU(), nn.Linear(5, 2), nn.LogSoftmax(dim=1)
    ), (3,), {"opset": 17}

    torch.manual_seed(3)
    yield "cnn", nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, stride=1),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(5, 3),
    ), (1, 8, 8), {"opset": 13}

    torch.manual_seed(4)
    yield "cnn_strided", nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=1, padding=1),
        nn.Conv2d(3, 4, 2, stride=1, dilation=2),
        nn.AvgPool2d(2, stride=1, padding=1),
        nn.Flatten(),
        nn.Linear(36, 2),
    ), (2, 7, 7), {"opset": 15}

    torch.manual_seed(5)
    yield "residual", ResNet(batchnorm=False), (1, 6, 6), {"opset": 13}

    torch.manual_seed(6)
    model = ResNet(batchnorm=True)
    randomize_batchnorm(model)
    yield "residual_bn", model, (1, 6, 6), {"opset": 16}

    torch.manual_seed(7)
    model = nn.Sequential(
        nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2)
    )
    randomize_batchnorm(model)
    yield "mlp_bn", model, (4,), {"opset": 13}

    torch.manual_seed(8)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)
    )
    randomize_batchnorm(model)
    yield "cnn_bn", model, (1, 6, 6), {"opset": 13}
    yield "cnn_bn_folded", model, (1, 6, 6), {"opset": 13, "default_export": True}

    torch.manual_seed(9)
    yield "keras_dense", KerasStyle(), (5,), {"opset": 13}

    torch.manual_seed(11)
    yield "cnn_mean", MeanPooled(), (2, 5, 5), {"opset": 14}

    torch.manual_seed(10)
    yield "mlp_float64", nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double(), (3,), {
        "opset": 12,
        "dtype": torch.float64,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, model, example_shape, options in networks():
        model.eval()
        dtype = options.get("dtype", torch.float32)
        torch.manual_seed(100)
        x = torch.randn(3, *example_shape, dtype=dtype)
        path = os.path.join(OUT, name + ".onnx")
        kwargs = dict(
            opset_version=options["opset"],
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
        if not options.get("default_export"):
            kwargs.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        torch.onnx.export(model, x, path, **kwargs)
        with torch.no_grad():
            y = model(x)
            y64 = model.double()(x.double())
        ggn = ggn_diagonal(model, x.double()).tolist() if name in GGN_FIXTURES else None
        model.to(dtype)
        record = {
            "name": name,
            "opset": options["opset"],
            "exportedWithDefaults": bool(options.get("default_export")),
            "dtype": "float64" if dtype == torch.float64 else "float32",
            "inputShape": list(example_shape),
            "input": {"shape": list(x.shape), "data": x.double().flatten().tolist()},
            "output": {"shape": list(y.shape), "data": y.double().flatten().tolist()},
            "outputFloat64": {"shape": list(y64.shape), "data": y64.flatten().tolist()},
            "parameters": [n for n, _ in model.named_parameters()],
            "parameterShapes": [list(p.shape) for p in model.parameters()],
            "torch": torch.__version__,
            **({"ggnDiagonal": ggn} if ggn is not None else {}),
        }
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        print(f"{name}: {os.path.getsize(path)} bytes, opset {options['opset']}")


if __name__ == "__main__":
    main()

"""PyTorch CPU timings of the LeNet-5 in bench/lenet.ts, for bench/RESULTS.md.

The same network (conv 1->6 5x5, relu, maxpool 2, conv 6->16 5x5, relu,
maxpool 2, 256->120->84->10), data (the first N Fashion-MNIST training images,
pixels v/255) and stages: forward+backward of one batch of 128 (median of 5
after a warm-up) and one epoch of Adam (lr 1e-3, batch 128), in float64 (as
laplace-ts computes) and float32 (PyTorch's default).

    /usr/bin/python3 scripts/torch-lenet.py --images 2000 [--threads 2]

Debian's python3-torch; reads /usr/share/datasets/fashion-mnist (Debian's
dataset-fashion-mnist) or else the subset in data/fashion-mnist.
"""
import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--images", type=int, default=60000)
parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
args = parser.parse_args()
if args.threads > 0:
    torch.set_num_threads(args.threads)

here = os.path.dirname(os.path.abspath(__file__))
system = "/usr/share/datasets/fashion-mnist"
directory = system if os.path.exists(os.path.join(system, "train-images-idx3-ubyte.gz")) else os.path.join(here, "..", "data", "fashion-mnist")


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


images = idx(os.path.join(directory, "train-images-idx3-ubyte.gz"))
labels = idx(os.path.join(directory, "train-labels-idx1-ubyte.gz"))
n = min(args.images, images.shape[0])
print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {n} images from {directory}")


def lenet():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


for dtype in (torch.float64, torch.float32):
    X = torch.tensor(images[:n].reshape(n, 1, 28, 28) / 255.0, dtype=dtype)
    y = torch.tensor(labels[:n].astype(np.int64))
    model = lenet().to(dtype)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for r in range(6):
        start = time.perf_counter()
        model.zero_grad()
        loss_fn(model(X[:128]), y[:128]).backward()
        if r > 0:
            times.append(time.perf_counter() - start)
    name = str(dtype).replace("torch.", "")
    print(f"{name}: forward+backward, batch 128: {statistics.median(times):.4f} s (median of 5)")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    order = torch.randperm(n, generator=generator)
    total = 0.0
    for i in range(0, n, 128):
        batch = order[i : i + 128]
        optimizer.zero_grad()
        loss = loss_fn(model(X[batch]), y[batch])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    print(f"{name}: one epoch of Adam, batch 128: {time.perf_counter() - start:.2f} s (loss {total / n:.4f})")

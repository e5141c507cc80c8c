#!/usr/bin/env python3
"""The bench-train reference net in PyTorch, for a same-machine comparison with `uirgen bench-train`.

Same network, batch and optimizer as src/train/nets/reference.ts: input 16x3x64x64; conv 3x3 3->32
same + ReLU; depthwise 3x3 same; conv 2x2 stride 2 32->32 + ReLU; conv 3x3 32->64 same + ReLU; global
average pool; linear 19; softmax cross-entropy; Adam 1e-3; every layer with a bias.
Needs PyTorch (Debian: apt-get install python3-torch). Prints the same JSON keys as bench-train
(median ms_per_step, mean_ms, p90_ms, step_ms).
Usage: python3 scripts/bench-train-torch.py [--steps 30] [--warmup 20] [--threads N]
"""
import argparse
import json
import os
import statistics
import time

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument('--steps', type=int, default=30)
parser.add_argument('--warmup', type=int, default=20)
parser.add_argument('--threads', type=int, default=os.cpu_count())
parser.add_argument('--batch', type=int, default=16)
parser.add_argument('--size', type=int, default=64)
args = parser.parse_args()

torch.manual_seed(0)
torch.set_num_threads(args.threads)
net = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
    nn.Conv2d(32, 32, 3, padding=1, groups=32),
    nn.Conv2d(32, 32, 2, stride=2), nn.ReLU(),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 19),
)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.rand(args.batch, 3, args.size, args.size)
y = torch.randint(0, 19, (args.batch,))
loss_fn = nn.CrossEntropyLoss()


def step() -> float:
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(args.warmup):
    step()
times = []
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
ms = statistics.median(times)
ranked = sorted(times)
print(json.dumps({
    'backend': f'pytorch-{torch.__version__}-cpu',
    'ms_per_step': round(ms, 2),
    'mean_ms': round(statistics.fmean(times), 2),
    'p90_ms': round(ranked[min(len(ranked) - 1, max(0, -(-9 * len(ranked) // 10) - 1))], 2),
    'images_per_s': round(args.batch * 1000 / ms, 2),
    'threads': torch.get_num_threads(),
    'steps': args.steps,
    'warmup': args.warmup,
    'step_ms': [round(t, 2) for t in times],
}))

#!/usr/bin/python3
"""Reference PyTorch convolutional autoencoder, for test/bench (run by /usr/bin/python3
with Debian's python3-torch; the TypeScript benches call it, it installs nothing).

The model is imgsim's reference CAE: 5 encoder stages of conv 3x3 'same' + ReLU +
max-pool 2x2 (16, 32, 64, 128, 256 filters), a decoder of 2x2 stride-2 transposed
convolutions (ReLU between, sigmoid last), Adam (lr 1e-3), MSE loss.

  train: images from an .npy file (uint8, N x S x S x 3, written by test/bench/train.ts),
         `--warmup` steps then `--steps` timed steps of batch `--batch`, batches drawn
         from a seeded permutation of the images (as the project's trainer does).
  embed: JPEG files from a folder (sorted), PIL open + centre crop + Lanczos resize to
         S x S (ImageOps.fit: the project's 'crop' fit and libvips' default kernel),
         encoder forward in batches of `--batch`, flattened vectors copied out.

Prints one JSON line: imagesPerSecond, seconds, images, maxRssMiB, and more.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

FILTERS = (16, 32, 64, 128, 256)


def build(kernel_size=3):
    enc, cin = [], 3
    for f in FILTERS:
        enc += [nn.Conv2d(cin, f, kernel_size, padding=kernel_size // 2), nn.ReLU(), nn.MaxPool2d(2, 2)]
        cin = f
    outs = list(reversed(FILTERS))[1:] + [3]
    dec = []
    for i, f in enumerate(outs):
        dec += [nn.ConvTranspose2d(cin, f, 2, stride=2), nn.Sigmoid() if i == len(outs) - 1 else nn.ReLU()]
        cin = f
    return nn.Sequential(*enc), nn.Sequential(*dec)


def blas_library():
    """The BLAS shared library this process mapped (Debian picks it by update-alternatives).

    Debian's netlib reference BLAS (.../blas/libblas.so.3, what python3-torch gets with
    --no-install-recommends) is ~25x slower than OpenBLAS and slows the reference CAE ~1.5-2x.
    """
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1].lower()}
    except OSError:
        return None
    resolved = sorted({os.path.realpath(p) for p in paths if p.startswith("/")})
    return ", ".join(resolved) or None


def max_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def train(a):
    pool = np.load(a.npy)  # uint8 N x S x S x 3
    n, size = pool.shape[0], pool.shape[1]
    data = torch.from_numpy(pool).permute(0, 3, 1, 2).contiguous().float().div_(255)
    encoder, decoder = build()
    model = nn.Sequential(encoder, decoder)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(a.seed + 1)
    order, pos = torch.randperm(n, generator=gen), 0
    losses = []

    def step():
        nonlocal order, pos
        if pos + a.batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        x = data.index_select(0, order[pos:pos + a.batch])
        pos += a.batch
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        losses.append(step())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    images = a.steps * a.batch
    return {
        "mode": "train", "size": size, "batch": a.batch, "steps": a.steps, "images": images, "seconds": seconds,
        "imagesPerSecond": images / seconds, "cpuSeconds": cpu, "imagesPerCpuSecond": images / cpu,
        "firstLoss": losses[0] if losses else None,
        "lastLoss": losses[-1] if losses else None,
    }


def embed(a):
    from PIL import Image, ImageOps

    names = sorted(f for f in os.listdir(a.dir) if f.lower().endswith((".jpg", ".jpeg")))
    if a.limit:
        names = names[: a.limit]
    encoder, _ = build()
    encoder.eval()
    resample = Image.Resampling.LANCZOS if hasattr(Image, "Resampling") else Image.LANCZOS

    def load(name):
        with Image.open(os.path.join(a.dir, name)) as im:
            im = ImageOps.fit(im.convert("RGB"), (a.size, a.size), resample)
            return np.asarray(im, dtype=np.uint8)

    with torch.no_grad():
        encoder(torch.zeros(a.batch, 3, a.size, a.size))  # warm-up (allocator, oneDNN primitives)
        t0, c0 = time.perf_counter(), time.process_time()
        chunks = []
        for start in range(0, len(names), a.batch):
            batch = np.stack([load(n) for n in names[start:start + a.batch]])
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255)
            chunks.append(encoder(x).flatten(1).numpy().copy())
        vectors = np.concatenate(chunks)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "mode": "embed", "size": a.size, "batch": a.batch, "images": len(names), "dim": int(vectors.shape[1]),
        "seconds": seconds, "imagesPerSecond": len(names) / seconds, "cpuSeconds": cpu,
        "imagesPerCpuSecond": len(names) / cpu,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "embed"])
    p.add_argument("--npy", help="train: uint8 N x S x S x 3 images")
    p.add_argument("--dir", help="embed: folder of JPEG files")
    p.add_argument("--size", type=int, default=64, help="embed: input side")
    p.add_argument("--limit", type=int, default=0, help="embed: first N files only (0 = all)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    result = train(a) if a.mode == "train" else embed(a)
    result.update(threads=torch.get_num_threads(), torch=torch.__version__, blas=blas_library(), maxRssMiB=max_rss_mib())
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

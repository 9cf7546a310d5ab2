"""Mosaics per second: our vectorised synthesis against a faithful re-creation of the source's approach
(per-row ``np.random.permutation(np.where(y == c))`` and ``df.loc[i] = [...]``), on the same tiles.

Usage: python benchmarks/synthesis.py [--tiles N] [--mosaics N] [--source-mosaics N] [--repeats N]
Prints a human line per method, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from labelbench.datasets.mosaic import synthesise


def source_combine_single_image(X, y, rng):
    """The source's per-mosaic function, at 32×32 tiles → 64×64."""
    h = X.shape[1]
    out_image = np.zeros((2 * h, 2 * h, 3), dtype=np.uint8)
    out_label = np.zeros(10, dtype=np.float32)
    for i, category in enumerate(rng.permutation(np.arange(10))[:4]):
        item_idx = rng.permutation(np.where(y == category)[0])[0]
        r, c = divmod(i, 2)
        out_image[r * h:(r + 1) * h, c * h:(c + 1) * h] = X[item_idx]
        out_label[category] = 1.0
    return out_image, out_label


def source_create_data(X, y, num, rng):
    df = pd.DataFrame(columns=["Image", "Label"])
    for i in range(num):
        df.loc[i] = list(source_combine_single_image(X, y, rng))
    return df


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiles", type=int, default=50_000, help="32×32 tiles (CIFAR-10's training set size)")
    parser.add_argument("--mosaics", type=int, default=50_000, help="mosaics made by our synthesis")
    parser.add_argument("--source-mosaics", type=int, default=1_000, help="mosaics made the source's way")
    parser.add_argument("--repeats", type=int, default=4, help="timed calls of ours (median of all but the first)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (args.tiles, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, args.tiles)

    synthesise(tiles, labels, 100, 10, seed=0)  # warm-up
    rates = []
    for r in range(args.repeats):  # the first call also pays the OS for touching fresh memory (cold)
        t0 = time.perf_counter()
        images, multi_hot, _ = synthesise(tiles, labels, args.mosaics, 10, seed=1 + r)
        rates.append(args.mosaics / (time.perf_counter() - t0))
        assert images.shape == (args.mosaics, 64, 64, 3) and (multi_hot.sum(1) == 4).all()
        del images, multi_hot
    cold, ours = rates[0], float(np.median(rates[1:])) if len(rates) > 1 else rates[0]

    t0 = time.perf_counter()
    df = source_create_data(tiles, labels, args.source_mosaics, np.random.default_rng(2))
    theirs = args.source_mosaics / (time.perf_counter() - t0)
    assert len(df) == args.source_mosaics

    print(f"ours:   {ours:12,.0f} mosaics/s ({args.mosaics} mosaics of 64×64; median of {args.repeats - 1} calls)")
    print(f"        {cold:12,.0f} mosaics/s in the first call (fresh memory: page faults)")
    print(f"source: {theirs:12,.0f} mosaics/s ({args.source_mosaics} mosaics, per-row DataFrame)")
    print(json.dumps({"benchmark": "synthesis", "mosaics_per_s": round(ours), "source_mosaics_per_s": round(theirs),
                      "speedup": round(ours / theirs, 1), "cold_mosaics_per_s": round(cold),
                      "cold_speedup": round(cold / theirs, 1)}))


if __name__ == "__main__":
    main()

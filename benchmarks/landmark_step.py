"""The landmark source's speed claim ("fixing the rank-1 mistake made training 10-20 % faster"), measured:
training steps of the same model under ``landmark_masked`` and ``landmark_rank1_bug``, side by side in one
process, on the same batches, alternating rounds (``labelbench.keras.speed``; the pipeline's ``step_timing``
rule runs the same measurement for the claims table).

Usage: python benchmarks/landmark_step.py [--size 32] [--batch 64] [--steps 60] [--rounds 5]
Prints one line per loss, then one line of JSON; ratio > 1 means the fixed loss is faster.
"""

from __future__ import annotations

import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keypoints", type=int, default=4)
    args = parser.parse_args()

    from labelbench.keras.speed import step_times

    losses = ["landmark_rank1_bug", "landmark_masked"]
    r = step_times(losses, args.size, args.batch, args.steps, args.rounds, args.keypoints)
    for name in losses:
        ms = r["ms_per_step"][name]
        print(f"{name:20s} {ms:7.2f} ms/step  {args.batch / ms * 1e3:8.0f} images/s (median of {args.rounds} rounds)")
    print(f"rank1_bug time / masked time = {r['ratio']:.3f} (the source claimed 1.1-1.2)")
    print(json.dumps(r))


if __name__ == "__main__":
    main()

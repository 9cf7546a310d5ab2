"""Training images/s of the tagging model through the real DataLoader and transforms against the same model fed
one pre-built batch (the ceiling), side by side in one process; on CUDA with AMP (bf16) and channels_last, and
the share of the GPU's bf16 peak that the ceiling reaches.

The images are synthetic tagged scenes in NUS-WIDE's layout (JPEG files + JSON), written once to a temporary
folder at ``--stored`` pixels, so the loader path really decodes JPEGs and runs the source's augmentations
(resize, flip, colour jitter, affine with fill). To name what holds the loader back, two stages are also timed
alone in this process: JPEG decoding, and decoding + transforms.

Usage: python benchmarks/tagging_throughput.py                       # the default config's model, 64 px, CPU
       python benchmarks/tagging_throughput.py --paper --workers 8   # resnext50_32x4d at 256 px (the paper config)
Prints one line per path, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

#: dense bf16 tensor-core peak by device name (vendor data sheets), for the share-of-peak figure
BF16_PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}


def bf16_peak(name: str) -> float | None:
    for key in sorted(BF16_PEAK_TFLOPS, key=len, reverse=True):
        if key in name:
            return BF16_PEAK_TFLOPS[key] * 1e12
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--size", type=int, default=64, help="training input size (pixels)")
    parser.add_argument("--stored", type=int, default=0, help="stored JPEG size (default: the input size)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--paper", action="store_true", help="resnext50_32x4d at 256 px, batch 32 (paper config)")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic kernels, as the training job runs by default (training.deterministic); "
                             "else cuDNN times and picks the fastest")
    args = parser.parse_args()
    if args.paper:
        args.model, args.size = "resnext50_32x4d", 256
    args.stored = args.stored or args.size

    import numpy as np
    import torch
    from torch.utils.data import DataLoader
    from torch.utils.flop_counter import FlopCounterMode

    from labelbench.datasets.embedded import shapes_scenes
    from labelbench.pytorch.data import NusWideDataset, load_rgb, model_input, transforms
    from labelbench.pytorch.models import build_model
    from labelbench.pytorch.train import configure

    # seed, threads and kernels as the training job sets them; the GPU when there is one
    device = configure(0, args.threads, args.deterministic, "gpu" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    n_images = args.batch * args.steps
    tmp = tempfile.TemporaryDirectory(prefix="lb-tagging-bench-")
    shapes_scenes(tmp.name, size=args.stored, n_train=n_images, n_test=args.batch, seed=0)
    augment = {"hflip": True, "color_jitter": {"brightness": 0.2, "contrast": 0.2},
               "affine": {"degrees": 20, "translate": [0.2, 0.2], "scale": [0.5, 1.5]}}
    train_tf, _ = transforms(args.size, augment)
    dataset = NusWideDataset(tmp.name, "train", transform=train_tf)
    n_tags = len(dataset.classes)

    extra = {"widths": (24, 48, 96, 192), "convs": 1} if args.model == "small_cnn" else {}  # the default config's
    model = build_model(args.model, n_tags, **extra).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step(x, y):  # uint8 batches in both paths, scaled and normalised on the device as the trainer does
        x = model_input(x, device, channels_last=cuda)
        y = y.to(device, non_blocking=True).float()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = loss_fn(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def sync():
        if cuda:
            torch.cuda.synchronize()

    x0, y0 = next(iter(DataLoader(dataset, batch_size=args.batch)))
    with FlopCounterMode(display=False) as counter, torch.no_grad():  # training = 3 x forward FLOPs (the
        model(model_input(x0[:1], device))  # usual convention; torch's backward count overstates grouped convolutions)
    flops_per_image = 3 * counter.get_total_flops()
    xb, yb = x0.to(device), y0.to(device)
    for _ in range(3):  # warm-up: cudnn autotuning, allocator
        step(xb, yb)
    sync()

    # workers started once and kept, so that the rounds time the steady state: a short round would otherwise be
    # mostly worker start-up, which the training job pays once per epoch (~4,500 images an epoch in the paper config)
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers, pin_memory=cuda,
                        drop_last=True, generator=torch.Generator().manual_seed(0),
                        persistent_workers=args.workers > 0)
    if args.workers:
        for x, y in loader:  # start the workers, outside the clock
            step(x, y)

    def run_loader(_r):
        t0 = time.perf_counter()
        for x, y in loader:
            step(x, y)
        sync()
        return (time.perf_counter() - t0) / (len(loader) * args.batch)

    def run_ceiling(_r):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step(xb, yb)
        sync()
        return (time.perf_counter() - t0) / (args.steps * args.batch)

    seconds = {"loader": [], "ceiling": []}
    for r in range(args.rounds):
        order = ["loader", "ceiling"] if r % 2 == 0 else ["ceiling", "loader"]
        for name in order:
            seconds[name].append((run_loader if name == "loader" else run_ceiling)(r))
    rate = {name: 1.0 / float(np.median(s)) for name, s in seconds.items()}

    # stages alone, one process: what the loader's workers must each sustain
    names = [dataset.root / dataset.name(i) for i in range(min(len(dataset), 256))]
    t0 = time.perf_counter()
    decoded = [load_rgb(p) for p in names]
    decode_rate = len(names) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for im in decoded:
        train_tf(im)
    transform_rate = len(names) / (time.perf_counter() - t0)
    pipeline_rate = 1.0 / (1.0 / decode_rate + 1.0 / transform_rate)

    device_name = torch.cuda.get_device_name(0) if cuda else "cpu"
    peak = bf16_peak(device_name) if cuda else None
    share = rate["ceiling"] * flops_per_image / peak if peak else None
    print(f"loader   {rate['loader']:9.1f} images/s  ({args.workers} workers; {rate['loader'] / rate['ceiling']:.3f} "
          f"of the ceiling)")
    print(f"ceiling  {rate['ceiling']:9.1f} images/s  ({args.model} at {args.size} px, batch {args.batch}, "
          f"{flops_per_image / 1e9:.2f} GFLOP per training image, {device_name})")
    if share is not None:
        print(f"         {100 * share:.1f} % of the bf16 peak ({peak / 1e12:.0f} TFLOP/s)")
    print(f"stages   JPEG decode {decode_rate:.0f}/s, transforms {transform_rate:.0f}/s, both "
          f"{pipeline_rate:.0f} images/s per worker process")
    print(json.dumps({
        "benchmark": "tagging_throughput",
        "model": args.model, "size": args.size, "batch": args.batch, "workers": args.workers,
        "loader_images_per_s": round(rate["loader"], 1),
        "ceiling_images_per_s": round(rate["ceiling"], 1),
        "loader_over_ceiling": round(rate["loader"] / rate["ceiling"], 4),
        "gflop_per_training_image": round(flops_per_image / 1e9, 3),
        "bf16_peak_share": round(share, 4) if share is not None else None,
        "deterministic": args.deterministic,
        "decode_images_per_s": round(decode_rate, 1),
        "transform_images_per_s": round(transform_rate, 1),
        "device": device_name,
    }))
    tmp.cleanup()


if __name__ == "__main__":
    main()

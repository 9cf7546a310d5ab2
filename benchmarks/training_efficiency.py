"""How close each model of a config trains to what one CPU core can do: one epoch on one thread per backend, its
images/s, and the arithmetic rate it reaches against one core's fp32 matrix-multiply rate measured in the same run.

For every experiment of the config: the Keras ones on every installed Keras backend (TensorFlow, JAX, torch), each
in a process of its own, through the training job's own model, loss, optimiser, batch size, augmentation and input
pipeline (``benchmarks/keras_epoch.py``'s ``measure``, synthetic images of the dataset's shape); the PyTorch one
(tagging) through its own model, loss, optimiser and channels-last input, fed batches already decoded (its jobs
cache the decoded images: ``training.cache_images``). Every process sets the allocator as the jobs do
(``labelbench.scripting.keep_freed_memory``).

Forward FLOPs per image are counted by ``torch.utils.flop_counter.FlopCounterMode`` (a library counter, not ours):
on the PyTorch model directly, and on each Keras model built on Keras's torch backend, whose layers run torch's
own convolution and matmul ops. A training step is taken as 3x the forward FLOPs (forward, and a backward pass of
twice its cost), the usual convention. One core's rate is a 1024x1024 fp32 matrix product in PyTorch on one
thread, the median of its rounds.

Usage: python benchmarks/training_efficiency.py                        # config.yaml, every experiment, whole epochs
       python benchmarks/training_efficiency.py --steps 40             # 40 timed steps an epoch, epoch extrapolated
       python benchmarks/training_efficiency.py configs/smoke.yaml --experiments mosaic --backends jax
Prints one line per measurement, a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import keras_epoch  # noqa: E402  (benchmarks/keras_epoch.py: dataset sizes and one experiment's epochs)

MATMUL_N = 1024
#: tags of the tagging model's head (the default scenes: 10 shapes + 8 colours; the head's cost is negligible)
N_TAGS = 18


def child_env(backend: str | None = None) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": "1"}
    if backend:
        env["KERAS_BACKEND"] = backend
    return env


def run_child(args: list[str], backend: str | None = None) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True,
                          env=child_env(backend))
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- children: each runs in a process of its own --------------------------------------------------------------

def matmul_rate(rounds: int = 7) -> dict:
    """One core's fp32 matrix-multiply rate (GFLOP/s): PyTorch, one thread, 1024x1024, median of ``rounds``."""
    from labelbench.scripting import keep_freed_memory

    keep_freed_memory()
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)
    for _ in range(3):
        a @ b
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        reps = 10
        for _ in range(reps):
            a @ b
        rates.append(2 * MATMUL_N**3 * reps / (time.perf_counter() - t0) / 1e9)
    return {"gflops": round(float(np.median(rates)), 1), "rounds": [round(r, 1) for r in rates]}


def forward_flops(config_path: str, experiment: str) -> dict:
    """Forward FLOPs per image of the experiment's model at its input size, by FlopCounterMode (Keras models on
    Keras's torch backend; this process must have KERAS_BACKEND=torch)."""
    from torch.utils.flop_counter import FlopCounterMode

    config = keras_epoch.load_config(config_path)
    spec = config["experiments"][experiment]
    model_args = {k: v for k, v in spec["model"].items() if k != "name"}
    if spec.get("framework") == "torch":
        import torch

        from labelbench.pytorch.models import build_model

        size = spec["training"].get("image_size", 64)
        model = build_model(spec["model"]["name"], N_TAGS, **model_args).eval()
        x = torch.zeros(1, 3, size, size)
        shape = [size, size, 3]
    else:
        from labelbench.keras.models import build_model

        variant = next(iter(spec["variants"]))
        vspec = spec["variants"][variant]
        shape, _, outputs = keras_epoch.dataset_size(config["datasets"], vspec.get("dataset", spec["dataset"]))
        model = build_model(spec["model"]["name"], shape, outputs, **model_args)
        x = np.zeros((1, *shape), np.float32)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return {"forward_flops": int(counter.get_total_flops()), "input": list(shape)}


def tagging_steps(config_path: str, experiment: str, steps: int) -> dict:
    """Training steps of the PyTorch experiment's model, loss and optimiser on one thread, as its job runs them
    (channels-last, the first variant's loss), fed decoded batches; the images/s of the steady steps."""
    from labelbench.scripting import keep_freed_memory, prepare_training_env

    keep_freed_memory()
    prepare_training_env("torch", "cpu", 1)
    import torch

    from labelbench.pytorch.data import model_input
    from labelbench.pytorch.losses import get_loss
    from labelbench.pytorch.models import build_model
    from labelbench.pytorch.train import configure, make_optimizer

    config = keras_epoch.load_config(config_path)
    spec = config["experiments"][experiment]
    training = spec["training"]
    configure(0, 1)
    size, batch = training.get("image_size", 64), training["batch_size"]
    model = build_model(spec["model"]["name"], N_TAGS, **{k: v for k, v in spec["model"].items() if k != "name"})
    channels_last = training.get("channels_last", True)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    variant = next(iter(spec["variants"]))
    loss_fn = get_loss(spec["variants"][variant]["loss"])
    optimizer = make_optimizer(model.parameters(), training)
    gen = torch.Generator().manual_seed(0)
    x_u8 = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=gen)
    y = (torch.rand(batch, N_TAGS, generator=gen) < 0.2).float()
    model.train()
    device = torch.device("cpu")
    times = []
    for _ in range(steps + 3):
        t0 = time.perf_counter()
        x = model_input(x_u8, device, channels_last)
        loss = loss_fn(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - t0)
    steady = float(np.median(times[3:]))
    return {"experiment": experiment, "backend": "torch (PyTorch)", "model": spec["model"]["name"],
            "images_per_s": round(batch / steady, 1), "ms_per_step": round(1e3 * steady, 3), "batch": batch,
            "timed_steps": steps, "threads": torch.get_num_threads()}


# --- the parent: every measurement side by side in one run -----------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config.yaml")
    parser.add_argument("--experiments", nargs="+", help="default: every experiment of the config")
    parser.add_argument("--backends", nargs="+", choices=keras_epoch.BACKENDS, help="default: every installed one")
    parser.add_argument("--steps", type=int, default=0, help="timed steps an epoch (0: the whole epoch)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs in all; the first (tracing) is not counted")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "matmul":
            result = matmul_rate()
        elif kind == "flops":
            result = forward_flops(args.config, rest[0])
        elif kind == "tagging":
            result = tagging_steps(args.config, rest[0], args.steps or 40)
        else:
            result = keras_epoch.measure(args.config, rest[0], args.epochs, args.steps, 1)
        print(json.dumps(result))
        return

    config = keras_epoch.load_config(args.config)
    experiments = args.experiments or list(config["experiments"])
    backends = args.backends or keras_epoch.installed_backends()
    matmul = run_child(["--child", "matmul"])
    print(f"one core's fp32 matmul ({MATMUL_N}x{MATMUL_N}, PyTorch, 1 thread): {matmul.get('gflops')} GFLOP/s "
          f"(rounds {matmul.get('rounds')})", flush=True)
    rows = []
    for experiment in experiments:
        spec = config["experiments"][experiment]
        torch_experiment = spec.get("framework") == "torch"
        flops = run_child([args.config, "--child", "flops", experiment], backend="torch")
        chosen = "torch (PyTorch)" if torch_experiment else None
        if not torch_experiment:
            from labelbench.config import keras_backend

            chosen = sorted({keras_backend(config, experiment, v) for v in spec["variants"]})
        for backend in ["torch (PyTorch)"] if torch_experiment else backends:
            if torch_experiment:
                result = run_child([args.config, "--steps", str(args.steps or 40), "--child", "tagging", experiment])
            else:
                result = run_child([args.config, "--epochs", str(args.epochs), "--steps", str(args.steps),
                                    "--child", "keras", experiment], backend=backend)
            row = {"experiment": experiment, "model": spec["model"]["name"], "backend": backend,
                   "config_backend": chosen, **flops, **result}
            if "error" not in row and "forward_flops" in row:
                achieved = 3 * row["forward_flops"] * row["images_per_s"] / 1e9
                row["achieved_gflops"] = round(achieved, 1)
                row["share_of_matmul"] = round(achieved / matmul["gflops"], 3) if "gflops" in matmul else None
            rows.append(row)
            print(f"{experiment} [{backend}]: " + (row.get("error") or (
                f"{row['images_per_s']:.0f} images/s, {row['ms_per_step']:.1f} ms a step, forward "
                f"{row['forward_flops'] / 1e6:.1f} MFLOP/image, {row['achieved_gflops']:.1f} GFLOP/s = "
                f"{100 * row['share_of_matmul']:.0f} % of the matmul rate")), flush=True)
    print()
    print(f"training on one thread; one core's fp32 matmul: {matmul.get('gflops')} GFLOP/s; "
          "GFLOP/s = 3 x forward FLOPs x images/s")
    print(f"{'experiment':14s} {'model':14s} {'fwd MFLOP':>9s} {'backend':>16s} {'images/s':>9s} {'ms/step':>8s} "
          f"{'GFLOP/s':>8s} {'of matmul':>9s}  config")
    for row in rows:
        if "error" in row:
            print(f"{row['experiment']:14s} {row['model']:14s} {'':9s} {row['backend']:>16s} failed: {row['error']}")
            continue
        used = row["config_backend"]
        mark = "uses" if (used == row["backend"] or (isinstance(used, list) and row["backend"] in used)) else ""
        print(f"{row['experiment']:14s} {row['model']:14s} {row['forward_flops'] / 1e6:9.2f} {row['backend']:>16s} "
              f"{row['images_per_s']:9.0f} {row['ms_per_step']:8.1f} {row['achieved_gflops']:8.1f} "
              f"{100 * row['share_of_matmul']:8.0f}%  {mark}")
    print(json.dumps({"benchmark": "training_efficiency", "config": args.config, "matmul": matmul,
                      "steps": args.steps, "rows": rows}))


if __name__ == "__main__":
    main()

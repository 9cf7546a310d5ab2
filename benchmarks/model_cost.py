"""Parameters and FLOPs of every experiment's model at its config's input size, and the training FLOPs of a
whole run (3 x forward FLOPs per image x images x epochs), for the README's cost estimates.

Keras models are counted layer by layer here (Conv2D, SeparableConv2D, DepthwiseConv2D, Dense: 2 FLOPs per
multiply-add), because Keras 3 has no FLOP counter of its own; the PyTorch model is counted by
``torch.utils.flop_counter.FlopCounterMode`` (forward). Training FLOPs are 3 x forward for both.
One framework per process: each
experiment is counted in a child process.

Usage: python benchmarks/model_cost.py [--configfile configs/paper.yaml]
Prints a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: input sizes of the real sources (their datasets are downloaded, so the config does not state them)
SOURCE_SHAPES = {"cifar10": (32, 32, 3), "mnist": (28, 28, 1), "digits": (28, 28, 1)}


def input_shape(config: dict, dataset: str, training: dict) -> tuple[int, int, int]:
    spec = config["datasets"][dataset]
    if training.get("image_size"):
        return (training["image_size"], training["image_size"], 3)
    if spec["source"] == "mosaic":
        h, w, c = input_shape(config, spec["tiles"], {})
        return (2 * h, 2 * w, c)
    if spec["source"] in SOURCE_SHAPES and "size" not in spec:
        return SOURCE_SHAPES[spec["source"]]
    channels = 1 if spec["source"] in ("digits", "mnist") else 3
    return (spec.get("size", 64), spec.get("size", 64), channels)


def keras_cost(name: str, spec: dict, shape: tuple, n_out: int) -> dict:
    import keras

    from labelbench.keras.models import build_model

    model = build_model(name, shape, n_out, **{k: v for k, v in spec.items() if k != "name"})
    flops = 0
    for layer in model.layers:
        cls = type(layer).__name__
        if cls not in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Dense"):
            continue
        out = layer.output.shape
        positions = 1
        for d in out[1:-1]:
            positions *= d
        c_in = layer.input.shape[-1]
        if cls == "Dense":
            flops += 2 * c_in * out[-1]
            continue
        k = layer.kernel_size[0] * layer.kernel_size[1]
        if cls == "Conv2D":
            flops += 2 * positions * k * c_in * out[-1]
        elif cls == "DepthwiseConv2D":
            flops += 2 * positions * k * c_in * layer.depth_multiplier
        else:  # separable: depthwise then pointwise
            flops += 2 * positions * (k * c_in + c_in * out[-1])
    del keras
    return {"params": model.count_params(), "forward_flops": flops, "training_flops": 3 * flops}


def torch_cost(name: str, spec: dict, shape: tuple, n_out: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from labelbench.pytorch.models import build_model

    extra = {k: v for k, v in spec.items() if k not in ("name", "weights", "dropout")}
    model = build_model(name, n_out, **extra)
    x = torch.zeros(1, shape[2], shape[0], shape[1])
    with FlopCounterMode(display=False) as fwd, torch.no_grad():
        model(x)
    # training = 3 x forward, as for Keras (its backward count overstates grouped convolutions: ResNeXt's)
    return {"params": sum(p.numel() for p in model.parameters()), "forward_flops": fwd.get_total_flops(),
            "training_flops": 3 * fwd.get_total_flops()}


def child(args):
    spec = json.loads(args.child)
    fn = torch_cost if spec["framework"] == "torch" else keras_cost
    print(json.dumps(fn(spec["model"]["name"], spec["model"], tuple(spec["shape"]), spec["n_out"])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default=str(ROOT / "configs/paper.yaml"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    config = yaml.safe_load(Path(args.configfile).read_text())
    n_outputs = {"mosaic": 10, "masked": 10, "complementary": 3, "landmark": 9, "tagging": 81}
    rows = []
    for exp, spec in config["experiments"].items():
        training = spec.get("training", {})
        shape = input_shape(config, spec["dataset"], training)
        framework = spec.get("framework", "keras")
        job = {"framework": framework, "model": spec["model"], "shape": shape, "n_out": n_outputs.get(exp, 10)}
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)], capture_output=True,
                             text=True, check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
        cost = json.loads(out.stdout.strip().splitlines()[-1])
        runs = sum(len(v.get("seeds", spec["seeds"])) for v in spec["variants"].values())
        rows.append({"experiment": exp, "model": spec["model"]["name"], "input": "x".join(map(str, shape)),
                     "runs": runs, "epochs": training.get("epochs"), **cost})
    for r in rows:
        print(f"{r['experiment']:14s} {r['model']:18s} {r['input']:>11s}  {r['params'] / 1e6:7.2f} M params  "
              f"{r['forward_flops'] / 1e9:9.4f} GFLOP forward  {r['training_flops'] / 1e9:9.4f} GFLOP/training image")
    print(json.dumps({"benchmark": "model_cost", "config": Path(args.configfile).name, "models": rows}))


if __name__ == "__main__":
    main()

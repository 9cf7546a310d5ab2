"""Where training runs (`device: cpu | gpu`) and with how many threads: which jobs claim the `gpu` resource, what a
job sets before its framework loads, what it records, and that its numbers never follow --cores."""

import copy
import json
import logging
import os
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, run_snakemake

from labelbench.config import (
    MAX_TRAINING_PRIORITY,
    UNKNOWN_MODEL_MFLOP_PER_PIXEL,
    UNSTATED_TRAINING_IMAGES,
    keras_backend,
    model_mflop_per_pixel,
    training_cost,
    training_device,
    training_images,
    training_priority,
)
from labelbench.errors import DeviceError
from labelbench.report import training_placement
from labelbench.runs import ALLOW_CPU_FALLBACK
from labelbench.scripting import THREAD_VARIABLES, prepare_keras_env, prepare_training_env

SMOKE = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
EXPERIMENTS = tuple(SMOKE["experiments"])


def test_an_experiment_device_overrides_the_global_one():
    cfg = {"device": "gpu", "experiments": {"mosaic": {"device": None}, "tagging": {"device": "cpu"}}}
    assert training_device(cfg, "mosaic") == "gpu"
    assert training_device(cfg, "tagging") == "cpu"
    assert training_device({"experiments": {"mosaic": {}}}, "mosaic") == "cpu"


def planned_jobs(text: str) -> list[dict]:
    """rule, wildcards, threads and resources of every job in a dry run's output."""
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", text):
        rule = re.match(r"rule (\w+):", block)
        if not rule:
            continue
        fields = dict(re.findall(r"^\s+(wildcards|resources|threads): (.*)$", block, re.M))
        jobs.append({"rule": rule.group(1),
                     "wildcards": dict(re.findall(r"(\w+)=([^,\s]+)", fields.get("wildcards", ""))),
                     "resources": dict(re.findall(r"(\w+)=([^,\s]+)", fields.get("resources", ""))),
                     "threads": int(fields.get("threads", 1))})
    return jobs


@pytest.mark.e2e
def test_only_jobs_of_gpu_experiments_claim_the_gpu_and_threads_follow_the_config(workdir):
    cfg = copy.deepcopy(SMOKE)
    cfg["experiments"]["landmark"]["device"] = "gpu"
    cfg["experiments"]["tagging"]["training"]["threads"] = 3
    (workdir / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "--configfile", str(workdir / "c.yaml"), "--cores", "8", "-n")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    training = [j for j in jobs if j["rule"] in ("train_keras", "train_torch")]
    assert len(training) == sum(len(e["variants"]) * len(e["seeds"]) for e in cfg["experiments"].values())
    for job in training:
        exp = job["wildcards"]["experiment"]
        assert job["resources"]["gpu"] == ("1" if exp == "landmark" else "0"), job
        assert job["threads"] == {"mosaic": 2, "tagging": 3}.get(exp, 1), job
    speed = next(j for j in jobs if j["rule"] == "step_timing")
    assert speed["resources"]["gpu"] == "1"
    assert all("gpu" not in j["resources"] for j in jobs if j["rule"] not in ("train_keras", "train_torch",
                                                                             "step_timing"))


@pytest.mark.e2e
def test_the_paper_config_sends_every_training_job_to_the_gpu(workdir):
    (workdir / "data/nus_wide").mkdir(parents=True)  # the paper config's NUS-WIDE copy (refused if absent)
    proc = run_snakemake(workdir, "--configfile", str(ROOT / "configs/paper.yaml"), "--cores", "8", "-n")
    training = [j for j in planned_jobs(proc.stdout + proc.stderr) if j["rule"] in ("train_keras", "train_torch")]
    assert training and all(j["resources"]["gpu"] == "1" for j in training)


@pytest.mark.parametrize("device, hidden", [("cpu", True), ("gpu", False)])
def test_a_job_hides_the_gpus_on_cpu_and_sets_its_thread_variables_before_the_framework_loads(
        monkeypatch, device, hidden):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, "1")  # what Snakemake sets with --cores 1
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    prepare_training_env("keras", device, 3)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ("" if hidden else "0")
    assert {os.environ[name] for name in THREAD_VARIABLES} == {"3"}
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


@pytest.mark.parametrize("device, threads", [("cpu", 1), ("cpu", 2), ("gpu", 1)])
def test_tensorflow_runs_without_onednn_on_every_device_whatever_the_callers_environment(
        monkeypatch, device, threads):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    prepare_training_env("keras", device, threads)
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_an_experiment_backend_overrides_the_global_one():
    cfg = {"backend": "jax", "experiments": {"mosaic": {"backend": None}, "landmark": {"backend": "torch"}}}
    assert keras_backend(cfg, "mosaic") == "jax"
    assert keras_backend(cfg, "landmark") == "torch"
    assert keras_backend({"experiments": {"mosaic": {}}}, "mosaic") == "tensorflow"


def test_a_variant_backend_overrides_the_experiments_for_its_training_jobs_only():
    cfg = {"backend": "torch", "experiments": {"mosaic": {"backend": "jax", "variants": {
        "bce": {}, "cce_keras3": {"backend": "tensorflow"}, "mse": {"backend": None}}}}}
    assert keras_backend(cfg, "mosaic", "cce_keras3") == "tensorflow"
    assert keras_backend(cfg, "mosaic", "bce") == "jax"
    assert keras_backend(cfg, "mosaic", "mse") == "jax"
    assert keras_backend(cfg, "mosaic") == "jax"  # the experiment's other jobs (Grad-CAM, worked examples, timing)


def test_a_jax_job_gets_its_backend_threads_cpu_and_compilation_cache_before_keras_loads(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as in a fresh job: Keras not imported yet
    for name in ("KERAS_BACKEND", "NPROC", "JAX_PLATFORMS", "JAX_COMPILATION_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    prepare_training_env("keras", "cpu", 2, "jax")
    assert (os.environ["KERAS_BACKEND"], os.environ["NPROC"], os.environ["JAX_PLATFORMS"]) == ("jax", "2", "cpu")
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "labelbench" / "jax")
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"


def test_a_backend_other_than_the_one_keras_runs_on_is_refused(monkeypatch):
    import keras

    with pytest.raises(ValueError, match="backend must be one of tensorflow, jax, torch, got 'mxnet'"):
        prepare_keras_env("mxnet")
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    with pytest.raises(RuntimeError, match=f"Keras was imported on backend '{keras.backend.backend()}' in this "
                                           f"process before backend '{other}' was asked for"):
        prepare_keras_env(other)
    with pytest.raises(ValueError, match="backend 'jax' chooses Keras's backend; the torch framework has none"):
        from labelbench.scripting import load_trainer

        load_trainer("tagging", "cpu", 1, "jax")


def test_a_device_or_thread_count_out_of_range_is_refused():
    with pytest.raises(ValueError, match="device must be cpu or gpu, got 'cuda'"):
        prepare_training_env("torch", "cuda", 1)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        prepare_training_env("torch", "cpu", 0)


def test_torch_on_cpu_sees_no_gpu_even_where_one_is_installed():
    """In a fresh process, as a training job: the environment set by prepare_training_env hides CUDA."""
    code = ("from labelbench.scripting import prepare_training_env; prepare_training_env('torch', 'cpu', 2);"
            "import torch; from labelbench.pytorch.train import configure, placement;"
            "d = configure(0, 2, True, 'cpu'); p = placement('cpu', d);"
            "print(torch.cuda.device_count(), d.type, p.threads, p.device_used)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split() == ["0", "cpu", "2", "cpu"]


@pytest.fixture
def torch_without_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.delenv(ALLOW_CPU_FALLBACK, raising=False)
    return torch


def test_torch_asked_for_a_gpu_it_cannot_see_stops_naming_what_it_found(torch_without_gpu):
    from labelbench.pytorch.train import configure

    with pytest.raises(DeviceError) as err:
        configure(0, 1, True, "gpu")
    message = str(err.value)
    assert f"device gpu was asked for, but PyTorch {torch_without_gpu.__version__} sees no GPU" in message
    assert "torch.cuda.is_available() is False, torch.cuda.device_count() 0, built with CUDA: " in message
    assert "CUDA_VISIBLE_DEVICES '0'" in message
    assert "install a CUDA build of PyTorch" in message and "set device: cpu" in message
    assert f"set {ALLOW_CPU_FALLBACK}=1" in message


def test_torch_without_a_gpu_trains_on_the_cpu_where_the_fallback_is_allowed(torch_without_gpu, caplog,
                                                                              monkeypatch):
    from labelbench.pytorch.train import configure

    monkeypatch.setenv(ALLOW_CPU_FALLBACK, "1")
    with caplog.at_level(logging.WARNING, logger="labelbench.train"):
        assert configure(0, 1, True, "gpu").type == "cpu"
    assert "device gpu was asked for, but PyTorch" in caplog.text
    assert f"Training on the CPU instead, as {ALLOW_CPU_FALLBACK}=1 allows" in caplog.text
    monkeypatch.setenv(ALLOW_CPU_FALLBACK, "yes")  # only 1 allows it
    with pytest.raises(DeviceError, match="sees no GPU"):
        configure(0, 1, True, "gpu")


@pytest.fixture
def tensorflow_without_gpu(monkeypatch):
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU that TensorFlow sees")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(ALLOW_CPU_FALLBACK, raising=False)
    return tf


def test_tensorflow_asked_for_a_gpu_it_cannot_see_stops_naming_what_it_found(tensorflow_without_gpu):
    from labelbench.keras.train import configure

    tf = tensorflow_without_gpu
    with pytest.raises(DeviceError) as err:
        configure(0, 1, "gpu")
    message = str(err.value)
    assert f"device gpu was asked for, but TensorFlow {tf.__version__} sees no GPU" in message
    assert f"list_physical_devices('GPU') is [], built with CUDA: {tf.test.is_built_with_cuda()}" in message
    assert "CUDA_VISIBLE_DEVICES unset" in message
    assert "pip install -e '.[gpu]' (tensorflow[and-cuda]" in message and "make run GPU=1" in message


def test_tensorflow_without_a_gpu_trains_on_the_cpu_where_the_fallback_is_allowed(tensorflow_without_gpu, caplog,
                                                                                   monkeypatch):
    from labelbench.keras.train import configure

    monkeypatch.setenv(ALLOW_CPU_FALLBACK, "1")
    with caplog.at_level(logging.WARNING, logger="labelbench.train"):
        placed = configure(0, 1, "gpu")
    assert (placed.device, placed.device_used, placed.kind) == ("gpu", "cpu", "cpu")
    assert "device gpu was asked for, but TensorFlow" in caplog.text and "tensorflow[and-cuda]" in caplog.text


@pytest.mark.e2e
def test_a_gpu_training_job_without_a_gpu_fails_the_run_and_leaves_no_result(workdir, monkeypatch):
    """Through Snakemake: the job stops at once (before any epoch), its log says why, and nothing is written."""
    tf = pytest.importorskip("tensorflow")
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU that TensorFlow sees")
    monkeypatch.delenv(ALLOW_CPU_FALLBACK, raising=False)
    cfg = {"device": "gpu", "datasets": {"digits": {"source": "digits"}}, "experiments": {"masked": {
        "dataset": "digits", "model": {"name": "mlp", "hidden": 8},
        "training": {"batch_size": 32, "epochs": 1}, "variants": {"mask_odd": {"loss": "masked_cce"}}, "seeds": [0]}}}
    (workdir / "c.yaml").write_text(yaml.safe_dump(cfg))
    run = "results/masked/mask_odd/0"
    proc = run_snakemake(workdir, f"{run}/history.csv", "--configfile", str(workdir / "c.yaml"), "--cores", "1",
                         "--resources", "gpu=1", check=False)
    assert proc.returncode != 0
    log = (workdir / "results/logs/train/masked/mask_odd/0.log").read_text()
    assert "DeviceError: device gpu was asked for, but TensorFlow" in log and "sees no GPU" in log
    assert "Epoch 1" not in log
    assert not (workdir / run / "history.csv").exists() and not (workdir / run / "model.keras").exists()


def test_the_report_groups_the_runs_by_placement(tmp_path):
    runs = []
    for i, (exp, device, used, threads) in enumerate([("mosaic", "cpu", "cpu", 1), ("mosaic", "cpu", "cpu", 1),
                                                       ("tagging", "gpu", "gpu: NVIDIA H200", 8),
                                                       ("mosaic", "cpu", "cpu", 2)]):
        path = tmp_path / f"{i}.json"
        framework = "torch" if exp == "tagging" else "keras"  # a record from before backends: no "backend" key
        path.write_text(json.dumps({"experiment": exp, "framework": framework, "device": device, "device_used": used,
                                    "threads": threads, "inter_op_threads": min(2, threads), "seed": i}))
        runs.append(str(path))
    assert training_placement(runs) == [
        {"experiment": "mosaic", "framework": "keras", "backend": "tensorflow", "device": "cpu", "device_used": "cpu",
         "threads": 1, "inter_op_threads": 1, "runs": 2},
        {"experiment": "mosaic", "framework": "keras", "backend": "tensorflow", "device": "cpu", "device_used": "cpu",
         "threads": 2, "inter_op_threads": 2, "runs": 1},
        {"experiment": "tagging", "framework": "torch", "backend": "torch", "device": "gpu",
         "device_used": "gpu: NVIDIA H200", "threads": 8, "inter_op_threads": 2, "runs": 1},
    ]
    assert training_placement([]) == []


def test_the_report_keeps_runs_on_different_backends_apart(tmp_path):
    runs = []
    for i, backend in enumerate(["jax", "jax", "tensorflow"]):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps({"experiment": "mosaic", "framework": "keras", "backend": backend, "device": "cpu",
                                    "device_used": "cpu", "threads": 1, "inter_op_threads": 1, "seed": i}))
        runs.append(str(path))
    assert [(r["backend"], r["runs"]) for r in training_placement(runs)] == [("jax", 2), ("tensorflow", 1)]


@pytest.mark.e2e
def test_the_numbers_do_not_depend_on_cores(smoke_run, tmp_path):
    """The smoke pipeline with --cores 1 against the session's run (conftest: --cores 2): every summary.csv and every
    run's history, metrics and run.json byte-identical, on every backend the default config trains with (the smoke
    config uses the same ones: checked first). The smoke config's mosaic runs use 2 threads, more than --cores 1
    schedules, so a job whose threads followed Snakemake's would differ (measured: it does)."""
    default = yaml.safe_load((ROOT / "config.yaml").read_text())

    def backends(cfg):
        return {keras_backend(cfg, e, v) if cfg["experiments"][e].get("framework", "keras") == "keras" else "torch"
                for e in cfg["experiments"] for v in cfg["experiments"][e]["variants"]}

    assert backends(default) == backends(SMOKE) == {"tensorflow", "jax", "torch"}
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    run_snakemake(tmp_path, "--configfile", str(ROOT / "configs/smoke.yaml"), "--cores", "1", "--resources", "gpu=1")
    compared = 0
    for exp in EXPERIMENTS:
        files = [f"results/{exp}/summary.csv"]
        spec = SMOKE["experiments"][exp]
        files += [f"results/{exp}/{v}/{s}/{name}" for v in spec["variants"] for s in spec["seeds"]
                  for name in ("history.csv", "metrics.csv", "run.json")]
        for name in files:
            assert (tmp_path / name).read_bytes() == (smoke_run / name).read_bytes(), name
            compared += 1
    runs = sum(len(e["variants"]) * len(e["seeds"]) for e in SMOKE["experiments"].values())
    assert compared == len(EXPERIMENTS) + 3 * runs
    mosaic = json.loads((tmp_path / "results/mosaic/bce/0/run.json").read_text())
    assert (mosaic["device"], mosaic["device_used"], mosaic["threads"]) == ("cpu", "cpu", 2)
    html = (smoke_run / "results/report/index.html").read_text()
    assert "mosaic on cpu with 2 threads (1 inter-op), 4 runs, Keras on jax" in html  # bce, cce
    assert "mosaic on cpu with 2 threads (2 inter-op), 2 runs, Keras on tensorflow" in html  # cce_keras3
    assert "masked on cpu with 1 thread (1 inter-op), 2 runs, Keras on jax" in html
    assert "complementary on cpu with 1 thread (1 inter-op), 3 runs, Keras on tensorflow" in html
    assert "tagging on cpu with 1 thread (1 inter-op), 2 runs, PyTorch" in html


@pytest.mark.e2e
def test_the_cpu_scaling_benchmark_runs_both_modes_through_the_pipeline(tmp_path):
    """benchmarks/cpu_scaling.py on two smoke runs: each mode's jobs recorded the threads it gave them, and the
    JSON line carries both wall times, their ratio and the memory peaks (timings: only their presence)."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/cpu_scaling.py"), "--configfile",
                           str(ROOT / "configs/smoke.yaml"), "--cores", "2", "--runs", "masked/mask_odd/0",
                           "masked/no_mask/0", "--workdir", str(tmp_path)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["threads_recorded"] == {"one_at_a_time": [2], "side_by_side": [1]}
    assert result["one_at_a_time_s"] > 0 and result["side_by_side_s"] > 0
    assert result["ratio_one_at_a_time_over_side_by_side"] == pytest.approx(
        result["one_at_a_time_s"] / result["side_by_side_s"], rel=1e-2)
    assert 0 < result["job_max_rss_mb"] <= result["peak_rss_mb_side_by_side"]
    assert 0 < result["peak_pss_mb_side_by_side"] <= result["peak_rss_mb_side_by_side"] < result["machine_memory_mb"]
    one = yaml.safe_load((tmp_path / "one_at_a_time.yaml").read_text())
    assert {e["device"] for e in one["experiments"].values()} == {"cpu"}


def test_the_cpu_scaling_benchmark_refuses_an_unknown_run():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/cpu_scaling.py"), "--configfile",
                           str(ROOT / "configs/smoke.yaml"), "--cores", "2", "--runs", "masked/mask_prime/0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "--runs masked/mask_prime/0: no such experiment/variant in" in proc.stderr


ALLOCATION_LOOP = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from labelbench.scripting import keep_freed_memory
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for step in range(100):
    blocks = [np.ones(n * 2**18, np.float32) for n in (1, 3, 8, 2, 5)]  # 1-8 MiB, as a training step's tensors
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_job_keeps_the_memory_it_frees_instead_of_faulting_it_in_again_every_step(tmp_path):
    """The allocator setting every job makes (labelbench.scripting.keep_freed_memory, called by redirect_logs):
    a loop that allocates and frees MB-sized arrays like a training step faults its pages in once, not on every
    step (measured here: ~500,000 minor faults for 200 steps with glibc's defaults, ~2,800 with the setting)."""
    script = tmp_path / "loop.py"
    script.write_text(ALLOCATION_LOOP)
    faults = {mode: int(subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("default", "keep")}
    assert faults["default"] > 20 * faults["keep"], faults


def test_every_job_script_sets_the_allocator_before_anything_else_allocates():
    """redirect_logs, which every script under workflow/scripts calls first, sets the allocator."""
    from labelbench import scripting

    called = []
    original = scripting.keep_freed_memory
    scripting.keep_freed_memory = lambda: called.append(True) or True
    try:
        scripting.redirect_logs(None)
    finally:
        scripting.keep_freed_memory = original
    assert called == [True]
    scripts = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
    first_calls = {s.name: next((line for line in s.read_text().splitlines() if line and not line.startswith(
        ("from ", "import ", "#"))), "") for s in scripts}
    assert all(re.match(r"(\w+ = )?redirect_logs\(", line) for line in first_calls.values()), first_calls


def _environment_writes(path) -> list[str]:
    """Lines of ``path`` that write the process environment: ``os.environ[...] =``, ``os.environ.setdefault/update/
    pop/clear``, ``del os.environ[...]``, ``os.putenv``."""
    import ast

    def is_environ(node):
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else []
        if any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets):
            found.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                (is_environ(node.func.value) and node.func.attr in ("setdefault", "update", "pop", "clear"))
                or node.func.attr == "putenv"):
            found.append(node.lineno)
    return found


def test_a_jobs_environment_is_written_in_one_place():
    """labelbench.scripting alone sets what a job's environment holds (device, threads, backend, oneDNN, XLA's
    cache), before any framework is imported; no other module, rule or script writes os.environ."""
    writers = {}
    for path in [*sorted((ROOT / "src/labelbench").rglob("*.py")), *sorted((ROOT / "workflow/scripts").glob("*.py"))]:
        lines = _environment_writes(path)
        if lines:
            writers[str(path.relative_to(ROOT))] = lines
    assert set(writers) == {"src/labelbench/scripting.py"}, writers
    assert not any("os.environ" in p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")])


def test_core_occupancy_counts_each_jobs_threads_over_the_span_the_jobs_covered():
    """Two 1-thread jobs side by side for 10 s, then one 2-thread job for 5 s, on 2 cores: fully busy (1.0); the same
    jobs with a 5-s gap before the last one: 30 busy core-seconds over 20 s x 2 cores = 0.75."""
    import pandas as pd

    from labelbench.report import core_occupancy

    busy = pd.DataFrame({"seconds": [10.0, 10.0, 5.0], "end": [110.0, 110.0, 115.0], "threads": [1, 1, 2]})
    assert core_occupancy(busy, 2)["occupancy"] == pytest.approx(1.0)
    gap = busy.assign(end=[110.0, 110.0, 120.0])
    facts = core_occupancy(gap, 2)
    assert facts["occupancy"] == pytest.approx(0.75) and facts["span_s"] == 20.0 and facts["busy_core_s"] == 30.0


def test_training_jobs_are_ranked_by_their_size_from_the_config_alone():
    """Snakemake's priority for a training job (the longest start first): sizes the config states, the upstream
    sizes of the sources that fix them, and the default only for a user's own folder."""
    assert training_images({"source": "digits", "size": 28}) == round(1797 * 0.75)
    assert training_images({"source": "digits", "test_fraction": 0.5}) == round(1797 * 0.5)
    assert training_images({"source": "mnist"}) == 60_000 and training_images({"source": "cifar10"}) == 50_000
    caltech = {"source": "caltech101", "classes": ["airplanes", "watch", "Leopards"],
               "max_per_class": {"airplanes": 200}, "test_fraction": 0.2}
    assert training_images(caltech) == round((200 + 90 + 90) * 0.8)
    assert training_images({"source": "shapes", "n_train_per_class": 50, "classes": ["a", "b", "c"]}) == 150
    assert training_images({"source": "imagefolder", "path": "data/mine"}) == UNSTATED_TRAINING_IMAGES
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    cost = {exp: max(training_cost(default, exp, v) for v in spec["variants"])
            for exp, spec in default["experiments"].items()}
    # the masked digits count 1,348 images (not the 10,000 assumed for an unknown size), and its MLP costs ~1/90 of
    # a VGG-13's FLOPs a pixel: its ~10-s jobs come last, not first (235 when the size and model were ignored)
    assert cost["masked"] == round(30 * 1348 * 28 * 28 * 0.10 / 28**2 / 1e3) == 4
    assert cost["tagging"] > cost["mosaic"] > cost["complementary"] > cost["landmark"] > cost["masked"], cost
    # a width counts by its square; a model the table does not know costs a small convnet's
    assert model_mflop_per_pixel({"name": "vgg13", "width": 1.0}) == pytest.approx(16 * 11.65 / 32**2)
    assert model_mflop_per_pixel({"name": "my_net"}) == UNKNOWN_MODEL_MFLOP_PER_PIXEL
    # a width left out is the builder's default (mini-Xception's is 0.25, VGG-13's 1.0)
    assert model_mflop_per_pixel({"name": "mini_xception"}) == model_mflop_per_pixel(
        {"name": "mini_xception", "width": 0.25})
    # the priority keeps the order on a log scale and stays below the Grad-CAM tables' and dataset builds' even for
    # the paper config's full-size jobs (tens of millions of GFLOP)
    paper = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    for config in (default, paper):
        pairs = [(training_cost(config, e, v), training_priority(config, e, v))
                 for e, spec in config["experiments"].items() for v in spec["variants"]]
        assert max(p for _, p in pairs) <= MAX_TRAINING_PRIORITY < 50_000
        assert sorted(pairs) == sorted(pairs, key=lambda pair: (pair[1], pair[0]))

"""The Keras experiments on every installed Keras backend (TensorFlow, JAX, PyTorch), each in a process of its own:
a process holds one backend, and a torch-backend process must never load TensorFlow (DEVELOPERS.md).

* the Keras unit tests (tests/test_keras.py) again on JAX, all of them, and on torch the models, losses and
  training runs (same seed twice, killed-and-resumed): each backend repeats itself bit for bit on the CPU;
* Grad-CAM gives the same maps on every backend, within float32 rounding;
* no module of ``labelbench.keras`` loads TensorFlow on JAX or torch;
* the smoke pipeline with every Keras experiment on JAX, and again on torch.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_snakemake

BACKENDS = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b) is not None]
WORKER = ROOT / "tests" / "keras_backend_worker.py"
#: Grad-CAM maps lie in [0, 1]; three backends' maps of one model and image differ by float32 rounding only
#: (measured: at most 1.4e-6)
GRADCAM_TOLERANCE = 1e-5


@pytest.fixture(scope="session")
def jax_cache(tmp_path_factory):
    """One JAX compilation cache for the session's JAX processes (they compile the same small models)."""
    return str(tmp_path_factory.mktemp("jax_cache"))


def _env(backend: str, jax_cache: str) -> dict:
    return {**os.environ, "KERAS_BACKEND": backend, "JAX_COMPILATION_CACHE_DIR": jax_cache,
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
            "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}


def _needs(backend: str):
    if backend not in BACKENDS:
        pytest.skip(f"Keras backend {backend} is not installed")


#: pytest in a child process, and what it loaded: the last line it prints
PYTEST_CHILD = (
    "import json, sys, pytest\n"
    "rc = pytest.main(sys.argv[1:])\n"
    "loaded = sorted(m for m in ('tensorflow', 'jax', 'torch') if sys.modules.get(m) is not None)\n"
    "print(json.dumps({'rc': int(rc), 'loaded': loaded}))\n"
)


def _pytest_on(backend: str, jax_cache: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PYTEST_CHILD, str(ROOT / "tests" / "test_keras.py"), "-q",
                           "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", *args],
                          capture_output=True, text=True, timeout=1800, env=_env(backend, jax_cache), cwd=ROOT)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout and " error" not in proc.stdout
    return result


@pytest.mark.e2e
def test_the_keras_unit_tests_pass_on_jax(jax_cache):
    """Every test of tests/test_keras.py on JAX: losses, models, gradients, the input pipeline, one trace of the
    train step, a run repeated with its seed and a killed run resumed, both bit for bit."""
    _needs("jax")
    result = _pytest_on("jax", jax_cache)
    assert "tensorflow" not in result["loaded"]


@pytest.mark.e2e
def test_models_losses_and_training_on_torch_never_load_tensorflow(jax_cache):
    """Keras on torch: the losses against NumPy, every model's outputs and gradients, the same seed twice and a
    killed run resumed (bit for bit), in a process that never imports TensorFlow."""
    _needs("torch")
    result = _pytest_on("torch", jax_cache, "-k", "loss or model or seed_repeats or resumes")
    assert "torch" in result["loaded"] and "tensorflow" not in result["loaded"]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_no_keras_module_loads_tensorflow_on_another_backend(backend, tmp_path, jax_cache):
    _needs(backend)
    out = tmp_path / "imports.json"
    subprocess.run([sys.executable, str(WORKER), "imports", str(out)], check=True, timeout=300,
                   env=_env(backend, jax_cache), capture_output=True)
    record = json.loads(out.read_text())
    assert record["backend"] == backend and backend in record["frameworks"]
    assert "tensorflow" not in record["frameworks"]


@pytest.mark.e2e
def test_gradcam_gives_the_same_maps_on_every_backend(tmp_path, jax_cache):
    """One mini-Xception (weights drawn once, saved as .weights.h5 and read by every backend), four images, two
    layers (one after a residual add, the last activation): the maps of each backend, computed in its own process,
    agree within GRADCAM_TOLERANCE."""
    if len(BACKENDS) < 2:
        pytest.skip("one Keras backend installed: nothing to compare")
    weights = tmp_path / "model.weights.h5"
    maps = {}
    for backend in BACKENDS:
        out = tmp_path / f"{backend}.npz"
        proc = subprocess.run([sys.executable, str(WORKER), "gradcam", str(weights), str(out)], timeout=600,
                              env=_env(backend, jax_cache), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        maps[backend] = np.load(out)
        assert str(maps[backend]["backend"]) == backend
    reference = maps[BACKENDS[0]]
    for layer in ("entry_add_1", "exit_act"):
        ref = reference[layer]
        assert ref.shape == (4, 32, 32) and ref.dtype == np.float32
        assert ref.max() == pytest.approx(1.0) and ref.std() > 0.05  # real maps, not flat ones
        for backend in BACKENDS[1:]:
            assert maps[backend][layer].shape == ref.shape
            np.testing.assert_allclose(maps[backend][layer], ref, rtol=0, atol=GRADCAM_TOLERANCE,
                                       err_msg=f"{layer}: {backend} against {BACKENDS[0]}")


def smoke_on(backend: str) -> dict:
    """The smoke config with every Keras experiment on ``backend`` (the PyTorch experiment left out): the
    experiments' and variants' own ``backend:`` choices removed, so nothing stays on another backend."""
    config = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    config["backend"] = backend
    config["experiments"] = {e: s for e, s in config["experiments"].items() if s.get("framework") != "torch"}
    for spec in config["experiments"].values():
        spec.pop("backend", None)
        for variant in spec["variants"].values():
            variant.pop("backend", None)
    config["datasets"].pop("shapes_scenes")
    return config


#: what a run's record lists as the versions of the framework under Keras, by backend
FRAMEWORK_VERSIONS = {"jax": {"keras", "jax", "jaxlib"}, "torch": {"keras", "torch"}}


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_smoke_pipeline_runs_every_keras_experiment_on_another_backend(tmp_path, jax_cache, backend):
    """The whole smoke pipeline (training, Grad-CAM, worked examples, step timings, claims, notebooks, report)
    with every Keras experiment on ``backend`` (the plain smoke run trains some on TensorFlow, some on JAX): every
    output says that backend made it, and the claims that do not depend on the backend's numbers hold as on
    TensorFlow."""
    _needs(backend)
    config = smoke_on(backend)
    path = tmp_path / f"smoke_{backend}.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    cache = {k: v for k, v in _env("jax", jax_cache).items() if k.startswith("JAX_") and k != "JAX_PLATFORMS"}
    run_snakemake(tmp_path, "--configfile", str(path), "--cores", "2", "--resources", "gpu=1", timeout=1800,
                  env=cache)
    results = tmp_path / "results"
    runs = 0
    for exp, spec in config["experiments"].items():
        for variant in spec["variants"]:
            for seed in spec["variants"][variant].get("seeds", spec["seeds"]):
                run = results / exp / variant / str(seed)
                record = json.loads((run / "run.json").read_text())
                assert record["backend"] == backend, (exp, variant)
                assert set(record["versions"]) == FRAMEWORK_VERSIONS[backend]
                assert pd.read_csv(run / "history.csv")["backend"].unique().tolist() == [backend]
                assert pd.read_csv(run / "metrics.csv")["backend"].unique().tolist() == [backend]
                runs += 1
    assert runs == sum(len(s["variants"]) * len(s["seeds"]) for s in config["experiments"].values())
    assert json.loads((results / "landmark/speed.json").read_text())["backend"] == backend
    cam = pd.read_csv(results / "complementary/gradcam_metrics.csv")
    assert len(cam) and cam["mean"].notna().any()
    claims = pd.read_csv(results / "report/claims.csv").set_index("claim_id")
    assert claims.loc["rank1_scalar", "verdict"] == "holds"  # the source's worked example, recomputed
    html = (results / "report/index.html").read_text()
    inter_op = {"jax": 1, "torch": 2}[backend]  # JAX has no inter-op pool (recorded as 1); torch sets its own
    assert f"mosaic on cpu with 2 threads ({3 - inter_op} inter-op)" not in html
    assert f"mosaic on cpu with 2 threads ({inter_op} inter-op), 6 runs, Keras on {backend}" in html
    assert f"masked on cpu with 1 thread (1 inter-op), 2 runs, Keras on {backend}" in html
    assert f"complementary on cpu with 1 thread (1 inter-op), 3 runs, Keras on {backend}" in html

"""The framework-free declaration of loss and model names (used to check configs at start-up) matches the real
registries exactly: names and builder parameters. torch is imported first (conftest), then Keras."""

import inspect

import pytest

from labelbench import registry_names as R


def _parameters(fn, skip=()) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(fn).parameters if p not in skip)


def test_keras_losses_match_the_registry():
    losses = pytest.importorskip("labelbench.keras.losses")
    assert sorted(R.KERAS_LOSSES) == sorted(losses.LOSSES)
    for name, fn in losses.LOSSES.items():
        assert R.KERAS_LOSSES[name] == _parameters(fn), name
    # what each loss declares it reads and needs, in its registry entry, is what the start-up check assumes
    assert R.KERAS_LOSS_TARGETS == losses.TARGETS
    assert R.KERAS_LOSS_NEEDS == {name: needs for name, needs in losses.NEEDS.items() if needs}


def test_keras_models_match_the_registry():
    models = pytest.importorskip("labelbench.keras.models")
    assert sorted(R.KERAS_MODELS) == sorted(models.MODELS)
    for name, fn in models.MODELS.items():
        params = _parameters(fn)
        assert params[:2] == R.KERAS_MODEL_DATA_ARGS, name
        assert R.KERAS_MODELS[name] == params[2:], name


def test_torch_losses_match_the_registry():
    losses = pytest.importorskip("labelbench.pytorch.losses")
    assert sorted(R.TORCH_LOSSES) == sorted(losses.LOSSES)
    for name, fn in losses.LOSSES.items():
        assert R.TORCH_LOSSES[name] == _parameters(fn), name


def test_torch_models_match_the_builder_and_torchvision():
    models = pytest.importorskip("labelbench.pytorch.models")
    torchvision = pytest.importorskip("torchvision")
    assert R.TORCHVISION_MODELS == tuple(torchvision.models.list_models(module=torchvision.models))
    assert R.TORCH_MODELS == {"small_cnn": _parameters(models.SmallCNN.__init__, skip=("self", "n_outputs"))}
    # build_model(name, n_outputs, weights, dropout, **kwargs): weights and dropout are what a torchvision model takes
    assert _parameters(models.build_model, skip=("name", "n_outputs", "kwargs")) == R.TORCHVISION_MODEL_ARGS


def test_complementary_losses_are_those_declaring_complementary_targets():
    targets = R.KERAS_LOSS_TARGETS
    assert {n for n, kind in targets.items() if kind == "complementary_labels"} == set(R.COMPLEMENTARY_LOSSES)


def test_what_the_workflow_imports_at_start_up_loads_no_framework():
    import subprocess
    import sys

    code = ("import sys, labelbench.config, labelbench.config_check, labelbench.datasets.build, "
            "labelbench.datasets.real, labelbench.datasets.store; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_weights_value_is_a_torchvision_name_in_capitals_or_else_a_file():
    from labelbench.registry_names import is_weights_file

    assert not any(is_weights_file(w) for w in ("IMAGENET1K_V1", "IMAGENET1K_SWAG_E2E_V1", "DEFAULT", None, ""))
    assert all(is_weights_file(w) for w in ("weights/rx50.pt", "/abs/r50.pth", "imagenet1k_v1", "IMAGENET1K_V1.pt"))


def test_the_framework_free_test_modules_run_without_loading_a_framework():
    """A developer running the statistics or method-ranking tests alone pays for no framework: conftest imports
    torch (first, before TensorFlow) only where a collected module may load one."""
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).parent
    code = ("import sys, pytest; rc = pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', "
            f"'{tests / 'test_stats.py'}', '{tests / 'test_method_ranking.py'}', '-m', 'not e2e']); "
            "print('LOADED', sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules), rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tests.parent).stdout
    assert "LOADED [] 0" in out, out[-3000:]

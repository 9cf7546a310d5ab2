"""The framework-free reading of the loss and model registries (labelbench.registry, used to check configs at
start-up) equals the real registries exactly: names, builder parameters, and each loss's declared targets and
needs. torch is imported first (conftest), then Keras."""

import inspect
import textwrap

import pytest

from labelbench import registry as R


def _parameters(fn, skip=()) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(fn).parameters if p not in skip)


def test_keras_losses_read_without_keras_are_the_registry():
    losses = pytest.importorskip("labelbench.keras.losses")
    read = R.keras_losses()
    assert sorted(read) == sorted(losses.LOSSES)
    for name, fn in losses.LOSSES.items():
        assert read[name].arguments == _parameters(fn), name
        # what each loss declares it reads and needs, in its registry entry, is what the start-up check assumes
        assert read[name].targets == losses.TARGETS[name] and read[name].needs == losses.NEEDS[name], name
    assert R.loss_needs("fwd") == {"transition": "complementary.transition"} and R.loss_needs("bce_sum") == {}


def test_keras_models_read_without_keras_are_the_registry():
    models = pytest.importorskip("labelbench.keras.models")
    assert sorted(R.keras_models()) == sorted(models.MODELS)
    for name, fn in models.MODELS.items():
        params = _parameters(fn)
        assert params[:2] == R.KERAS_MODEL_DATA_ARGS, name
        assert R.keras_models()[name] == params[2:], name


def test_torch_losses_read_without_torch_are_the_registry():
    losses = pytest.importorskip("labelbench.pytorch.losses")
    assert sorted(R.torch_losses()) == sorted(losses.LOSSES)
    for name, fn in losses.LOSSES.items():
        assert R.torch_losses()[name] == _parameters(fn), name


def test_torch_models_match_the_builder_and_torchvision():
    models = pytest.importorskip("labelbench.pytorch.models")
    torchvision = pytest.importorskip("torchvision")
    assert R.TORCHVISION_MODELS == tuple(torchvision.models.list_models(module=torchvision.models))
    assert R.torch_models() == {"small_cnn": _parameters(models.SmallCNN.__init__, skip=("self", "n_outputs"))}
    # build_model(name, n_outputs, weights, dropout, **kwargs): weights and dropout are what a torchvision model takes
    assert _parameters(models.build_model, skip=("name", "n_outputs", "kwargs")) == R.TORCHVISION_MODEL_ARGS


def test_complementary_losses_are_those_declaring_complementary_targets():
    declared = {n for n, d in R.keras_losses().items() if d.targets == "complementary_labels"}
    assert set(R.complementary_losses()) == declared and "pc_sigmoid" in declared and "bce_sum" not in declared
    assert R.uses_complementary_labels("fwd") and not R.uses_complementary_labels(None)


def test_a_new_loss_is_known_to_the_config_check_from_its_decorator_alone(tmp_path, monkeypatch):
    """One place to add a loss: a builder with ``@register(...)`` in keras/losses.py is read by the config check
    (targets and needs included) with no second list to edit; a decorator argument that is not a literal is
    refused, naming the loss, because the check could not read it without importing Keras."""
    package = tmp_path / "labelbench"
    (package / "keras").mkdir(parents=True)
    source = (R._PACKAGE / "keras/losses.py").read_text()
    extra = textwrap.dedent('''

        @register(targets="weighted_labels", needs={"n_classes": "classes.count"})
        def my_weighted_loss(n_classes: int = 10, scale: float = 1.0):
            """A toy loss."""
    ''')
    (package / "keras/losses.py").write_text(source + extra)
    monkeypatch.setattr(R, "_PACKAGE", package)
    R.keras_losses.cache_clear()
    try:
        mine = R.keras_losses()["my_weighted_loss"]
        assert mine == R.LossDeclaration(("n_classes", "scale"), "weighted_labels", {"n_classes": "classes.count"})
        assert R.losses("keras")["my_weighted_loss"] == ("n_classes", "scale")
        (package / "keras/losses.py").write_text(source + extra.replace('"weighted_labels"', "KIND"))
        R.keras_losses.cache_clear()
        with pytest.raises(ValueError, match="keras/losses.py: @register of my_weighted_loss takes literal "
                                             "arguments only"):
            R.keras_losses()
        positional = extra.replace('targets="weighted_labels"', '"weighted_labels"')
        (package / "keras/losses.py").write_text(source + positional)
        R.keras_losses.cache_clear()
        with pytest.raises(ValueError, match="@register of my_weighted_loss takes keyword arguments only"):
            R.keras_losses()
    finally:
        R.keras_losses.cache_clear()


def test_what_the_workflow_imports_at_start_up_loads_no_framework():
    import subprocess
    import sys

    code = ("import sys, labelbench.config, labelbench.config_check, labelbench.datasets.build, "
            "labelbench.datasets.real, labelbench.datasets.store; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_weights_value_is_a_torchvision_name_in_capitals_or_else_a_file():
    from labelbench.registry import is_weights_file

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


def test_both_frameworks_trainers_implement_the_one_trainer_interface():
    """labelbench.trainers.Trainer is what a training job calls, whatever the framework: both train_run functions
    take exactly its parameters, with its defaults, and the experiment registry says which one an experiment uses."""
    from labelbench.experiments import experiment_names, get_experiment
    from labelbench.trainers import TRAINER_MODULES, Trainer

    torch_train = pytest.importorskip("labelbench.pytorch.train")
    keras_train = pytest.importorskip("labelbench.keras.train")
    wanted = [(p.name, p.default) for p in inspect.signature(Trainer.__call__).parameters.values() if p.name != "self"]
    for module in (torch_train, keras_train):
        assert [(p.name, p.default) for p in inspect.signature(module.train_run).parameters.values()] == wanted
    assert TRAINER_MODULES == {"keras": keras_train.__name__, "torch": torch_train.__name__}
    assert {get_experiment(e).framework for e in experiment_names()} == set(TRAINER_MODULES)

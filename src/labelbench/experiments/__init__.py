"""The experiments, one framework-free module each, found by name: :func:`get_experiment`."""

# importing a module registers its experiment
from labelbench.experiments import complementary, landmark, masked, mosaic, tagging  # noqa: E402, F401, I001
from labelbench.experiments.base import Experiment, experiment_names, get_experiment, register_experiment

__all__ = ["Experiment", "experiment_names", "get_experiment", "register_experiment"]

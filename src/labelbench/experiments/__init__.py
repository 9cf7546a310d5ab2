"""The experiments, one framework-free module each, found by name: :func:`get_experiment`.

Every module of this package is imported here, and importing one registers its experiment: a new study is a new
module, with nothing to add anywhere else.
"""

import importlib
import pkgutil

from labelbench.experiments.base import Experiment, experiment_names, get_experiment, register_experiment

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Experiment", "experiment_names", "get_experiment", "register_experiment"]

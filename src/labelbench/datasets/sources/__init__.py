"""The dataset sources, one module each, found by name: :func:`get_source`.

Every module of this package is imported here, and importing one registers its source. A source kept outside
labelbench (a user's own package) registers itself the same way once its module is imported, which happens here
for every module named in the ``labelbench.sources`` entry-point group of an installed distribution (declared in
its ``pyproject.toml`` as ``[project.entry-points."labelbench.sources"] mine = "my_package.my_source"``): the
standard plugin mechanism of Python packaging, so no config file can name code to run.
"""

import importlib
import pkgutil
from importlib.metadata import entry_points

from labelbench.datasets.sources.base import (
    TASKS,
    Source,
    get_source,
    register_source,
    source_names,
    sources_for,
)

#: the entry-point group through which installed packages add sources
ENTRY_POINT_GROUP = "labelbench.sources"

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")
for _entry in entry_points(group=ENTRY_POINT_GROUP):
    try:
        _entry.load()  # a module ("pkg.mod") or an attribute of one ("pkg.mod:Source"): importing registers it
    except Exception as _err:
        _dist = _entry.dist.name if _entry.dist else "an unknown distribution"
        raise ImportError(f"dataset source plugin {_entry.name!r} = {_entry.value!r} (entry point group "
                          f"{ENTRY_POINT_GROUP!r}, from {_dist}) failed to load: {type(_err).__name__}: {_err}; "
                          "fix or uninstall that package") from _err

__all__ = ["ENTRY_POINT_GROUP", "TASKS", "Source", "get_source", "register_source", "source_names", "sources_for"]

"""Module paths of round 3 (version 0.1.0) whose classes have moved, kept importable so that
pickles made then still load.

A pickle names each object's class by module path and name (``skimb._columns.TableColumns``
in a fitted classifier's ``columns_``, ``skimb.networks.columns.ColumnFront`` and
``skimb.networks.scaling.SmoothClipScaler`` in its ``module_``); ``pickle`` imports that
module and looks the name up in it. :data:`MOVED` maps each old path to the modules that
hold its names now, and :func:`register` puts one module under each old path into
``sys.modules``, holding those names (``skimb/__init__.py`` calls it, so unpickling, which
imports ``skimb`` first, finds them). New code imports from the new paths.
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["MOVED", "register"]

#: Old module path -> the modules that hold its public names now.
MOVED: dict[str, tuple[str, ...]] = {
    "skimb._columns": ("skimb.networks.front.table_columns",),
    "skimb.networks.columns": ("skimb.networks.front.layout", "skimb.networks.front.column_front",
                               "skimb.networks.front.categorical"),
    "skimb.networks.scaling": ("skimb.networks.front.scaling",),
    "skimb.networks.fitted_front": ("skimb.networks.front.fitted_front",),
    "skimb.networks.embeddings": ("skimb.networks.front.embeddings",),
}


def register() -> None:
    r"""Put a module under every old path of :data:`MOVED` into ``sys.modules``.

    Examples
    --------
    >>> import pickle, skimb
    >>> pickle.loads(b"cskimb.networks.scaling\nSmoothClipScaler\n.")  # a class, as pickled
    <class 'skimb.networks.front.scaling.SmoothClipScaler'>
    """
    for old, new in MOVED.items():
        if old in sys.modules:
            continue
        module = types.ModuleType(old, f"Moved to {', '.join(new)}; kept for old pickles.")
        module.__all__ = []
        for path in new:
            home = importlib.import_module(path)
            module.__all__ += home.__all__
            module.__dict__.update({name: getattr(home, name) for name in home.__all__})
        sys.modules[old] = module

"""Lazy package attributes: names are imported from their submodule on first use."""
from __future__ import annotations

import importlib


def lazy_attributes(package: str, where: dict[str, str], namespace: dict):
    """``(__getattr__, __dir__)`` for ``package``, whose name ``n`` lives in submodule ``where[n]``.

    A resolved name is cached in ``namespace`` (the package's globals), so each is
    imported once.
    """

    def __getattr__(name: str):
        mod = where.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{mod}"), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(where) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__

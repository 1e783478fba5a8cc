"""Keep pyarrow from importing pandas before anyone asks for pandas.

pyarrow asks a lazy "pandas shim" whether pandas is installed the first time
it builds a scalar from a Python object, and answers by importing pandas
(about 0.2 s, more than the rest of our start-up).  ``import pyarrow.dataset``
builds such a scalar while it initialises, so every ``gf.dataset(...)`` and
every CLI command would pay for pandas without using it.

Importing this module runs :func:`probe`, which makes that first question happen while pandas is hidden from the
calling thread only, so the shim records "not imported yet" instead of paying
for the import.  The shim re-checks whenever pandas is actually needed through
it (``Table.to_pandas``, ``Table.from_pandas``); and because some of its
checks (``pa.array(series)`` recognising a pandas object) do not re-check, a
one-shot import hook re-arms the shim as soon as anything imports pandas, so
pyarrow then behaves exactly as if it had imported pandas itself.

Nothing happens when pandas is already imported (the cost is paid) or is not
installed.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading

_done = False
_lock = threading.Lock()


class _HidePandas(importlib.abc.MetaPathFinder):
    """Refuses ``import pandas`` in one thread while it is on ``sys.meta_path``."""

    def __init__(self, thread: int):
        self.thread = thread

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "pandas" and threading.get_ident() == self.thread:
            raise ImportError("pandas hidden while pyarrow probes for it", name="pandas")
        return None


class _RearmOnImport(importlib.abc.MetaPathFinder):
    """Runs once, on the first ``import pandas``: re-arms pyarrow's shim after it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "pandas":
            return None
        _remove(self)
        spec = importlib.util.find_spec("pandas")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_rearm(module):
            exec_module(module)
            _rearm()

        spec.loader.exec_module = exec_then_rearm
        return spec


def _remove(finder) -> None:
    try:
        sys.meta_path.remove(finder)
    except ValueError:
        pass


def _rearm() -> None:
    try:
        import pyarrow.lib
        pyarrow.lib._pandas_api.pd  # noqa: B018 -- the property retries the import
    except Exception:  # noqa: BLE001 -- pyarrow stays as it was: pandas unusable to it
        pass


def probe() -> None:
    """Settle pyarrow's first "is pandas installed?" question without importing pandas."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        _done = True
        if "pandas" in sys.modules or importlib.util.find_spec("pandas") is None:
            return
        import pyarrow as pa

        hide = _HidePandas(threading.get_ident())
        sys.meta_path.insert(0, hide)
        try:
            pa.scalar(True)
        finally:
            _remove(hide)
        if "pandas" not in sys.modules:
            sys.meta_path.insert(0, _RearmOnImport())


probe()

"""Keep pyarrow from importing pandas before anyone asks for pandas.

pyarrow asks a lazy "pandas shim" whether pandas is installed the first time
it builds a scalar from a Python object (``pc.field("chrom") == "chr1"``,
``pa.scalar(...)``, and ``import pyarrow.dataset`` itself), and answers by
importing pandas: about 0.2 s, more than the rest of our start-up, in every
process that never uses pandas.

:func:`probe` makes that first question happen while pandas is hidden from the
calling thread only, so the shim records "not imported yet" instead of paying
for the import.  The shim re-checks whenever pandas is needed through it
(``Table.to_pandas``, ``Table.from_pandas``); and because some of its checks
(``pa.array(series)`` recognising a pandas object) do not re-check, a one-shot
import hook re-arms the shim as soon as anything imports pandas, so pyarrow
then behaves exactly as if it had imported pandas itself.

:func:`arm` (run by ``import genomicframe``, which does not import pyarrow)
probes right away when pyarrow is already imported, else right after pyarrow's
own import, whoever imports it.  Nothing happens when pandas is already
imported (the cost is paid) or is not installed.
"""
from __future__ import annotations

import sys
import threading

_done = False
_lock = threading.Lock()


class _HidePandas:
    """Meta-path finder refusing ``import pandas`` in one thread while installed."""

    def __init__(self, thread: int):
        self.thread = thread

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "pandas" and threading.get_ident() == self.thread:
            raise ImportError("pandas hidden while pyarrow probes for it", name="pandas")


class _AfterImport:
    """Meta-path finder running ``then()`` once, right after module ``name`` is imported."""

    def __init__(self, name: str, then):
        self.name = name
        self.then = then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        import importlib.util

        _remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module
        then = self.then

        def exec_then(module):
            exec_module(module)
            then()

        loader.exec_module = exec_then
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
    except Exception:  # noqa: BLE001, S110 -- pyarrow stays as it was: pandas unusable to it
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
        if "pandas" in sys.modules:
            return
        import importlib.util

        if importlib.util.find_spec("pandas") is None:
            return
        import pyarrow as pa

        hide = _HidePandas(threading.get_ident())
        sys.meta_path.insert(0, hide)
        try:
            pa.scalar(True)
        finally:
            _remove(hide)
        if "pandas" not in sys.modules:
            sys.meta_path.insert(0, _AfterImport("pandas", _rearm))


def arm() -> None:
    """Probe now if pyarrow is imported, else as soon as it is (without importing it)."""
    if _done or "pandas" in sys.modules:
        return
    if "pyarrow" in sys.modules:
        probe()
    elif not any(isinstance(f, _AfterImport) and f.name == "pyarrow" for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("pyarrow", probe))

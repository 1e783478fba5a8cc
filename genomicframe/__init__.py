"""genomicframe: genomics files (VCF, BAM, FASTA, FASTQ, BED, GFF) as Apache Arrow data.

Submodules are imported on first use, so ``import genomicframe`` is cheap::

    >>> import genomicframe as gf
    >>> gf.bgzf.decompress(gf.bgzf.compress(b"ACGT\\n"))
    b'ACGT\\n'
"""
from __future__ import annotations

import importlib

from . import _nopandas
from ._version import __version__

_nopandas.arm()  # pyarrow, once imported, must not import pandas until it is asked to

_SUBMODULES = {"bgzf", "errors", "examples", "fasta", "formats", "io", "cli"}
# public name -> (module, attribute)
_LAZY = {
    "GenomicFrameError": ("genomicframe.errors", "GenomicFrameError"),
    "FastaFile": ("genomicframe.fasta", "FastaFile"),
    "dataset": ("genomicframe.dataset", "dataset"),
    "Dataset": ("genomicframe.dataset", "Dataset"),
    "Fragment": ("genomicframe.dataset", "Fragment"),
    "Scanner": ("genomicframe.dataset", "Scanner"),
    "scan": ("genomicframe.scan", "scan"),
    "field": ("genomicframe.expressions", "field"),
    "scalar": ("genomicframe.expressions", "scalar"),
    "region": ("genomicframe.expressions", "region"),
    "write_vcf": ("genomicframe.formats.vcf_writer", "write_vcf"),
}

__all__ = ["__version__", *sorted(_SUBMODULES), *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"genomicframe.{name}")
    if name in _LAZY:
        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genomicframe' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

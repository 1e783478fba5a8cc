"""Indexed random access to FASTA files (plain or BGZF) and batch retrieval by name.

>>> import genomicframe as gf
>>> gf.FastaFile is gf.fasta.FastaFile
True

* :class:`FastaFile` — ``fetch``, ``fetch_many`` (Arrow table or FASTA stream),
  ``fetch_raw`` (``.loc`` byte ranges);
* :func:`build_index` — one block-parallel pass writing ``.fai`` (as samtools),
  ``.gzi`` (as ``bgzip -r``), ``.gfi`` (memory-mapped name lookup) and ``.loc``.

See ``docs/fasta.md`` for the index formats and the scaling estimate.
"""
from __future__ import annotations

from .._lazy import lazy_attributes

_WHERE = {
    "FastaFile": "file",
    "build_index": "index", "index_paths": "index", "IndexResult": "index",
    "FetchStats": "fetch",
    "parse_range": "regions",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, globals())

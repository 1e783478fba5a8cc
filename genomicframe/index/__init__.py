"""Indexes of position-sorted BGZF files: tabix (``.tbi``) and CSI (``.csi``).

:func:`read_index` parses either kind and :func:`write_index` builds one for a
sorted BGZF VCF or BED; :meth:`TabixIndex.query` maps a region
(0-based, half-open) to BGZF virtual-offset chunks; :func:`find_index` locates
the index beside a data file and refuses a stale one; :mod:`.plan` turns
regions into :class:`~genomicframe.formats.base.FragmentSpec` values.
"""
from __future__ import annotations

from .._lazy import lazy_attributes

_WHERE = {
    "TabixIndex": "tabix", "RefIndex": "tabix", "read_index": "tabix", "parse_index": "tabix",
    "merge_chunks": "tabix",
    "reg2bins": "binning",
    "find_index": "plan", "index_fragments": "plan",
    "write_index": "build",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, globals())

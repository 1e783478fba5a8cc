"""Fragment planning for position-sorted text files: index chunks when regions are asked for.

:func:`index_fragments` is what a text format's ``make_fragments`` calls:

* with ``regions`` and a ``.tbi``/``.csi`` beside a BGZF file, every fragment
  holds index chunks (``voffset_ranges``) for one contig, and its ``region``
  is the hull of the regions asked for on that contig; contigs with no
  candidate records get no fragment at all, so nothing of them is inflated;
* otherwise the file is cut into block-aligned byte ranges
  (:func:`genomicframe.formats.text.split_byte_ranges`), and the dataset
  layer filters rows.

Chunks are merged across all regions of a contig before they are split into
fragments, so a record never appears in two fragments.
"""
from __future__ import annotations

import os

from ..errors import StaleIndexError
from ..formats.base import FragmentSpec

__all__ = ["find_index", "index_fragments", "INDEX_SUFFIXES"]

#: index file suffixes tried beside a data file, in order of preference
INDEX_SUFFIXES = (".csi", ".tbi")


def find_index(path, suffixes=INDEX_SUFFIXES) -> str | None:
    """The index beside ``path`` (``<path>.csi`` or ``<path>.tbi``), or ``None``.

    An index that is older than its data file is stale: if every index found
    is stale, :class:`~genomicframe.errors.StaleIndexError` is raised (a stale
    index silently returns wrong records).
    """
    path = os.fspath(path)
    data_mtime = os.stat(path).st_mtime_ns
    stale = None
    for suffix in suffixes:
        candidate = path + suffix
        try:
            mtime = os.stat(candidate).st_mtime_ns
        except FileNotFoundError:
            continue
        if mtime < data_mtime:
            stale = stale or candidate
            continue
        return candidate
    if stale is not None:
        raise StaleIndexError(
            f"index {os.path.basename(stale)} is older than the data file; rebuild it "
            "(`genomicframe index FILE` or `tabix -f -p vcf FILE`) "
            "or delete it", path=stale)
    return None


def _group_chunks(chunks, target_size: int):
    """Split merged chunks into runs spanning about ``target_size`` compressed bytes."""
    group: list = []
    first = 0
    for vb, ve in chunks:
        if group and (ve >> 16) - first > target_size:
            yield group
            group = []
        if not group:
            first = vb >> 16
        group.append((vb, ve))
    if group:
        yield group


def index_fragments(path, regions=None, options: tuple = (), *, format: str = "vcf",
                    target_size: int = 64 << 20, index=None) -> list[FragmentSpec]:
    """Plan the fragments of a position-sorted text file.

    Parameters
    ----------
    path : str or os.PathLike
    regions : list of (chrom, start, end), optional
        0-based half-open; ``end=None`` means to the end of the contig.  With
        an index, only fragments that can hold overlapping records are made.
    options : tuple
        Passed through to every :class:`FragmentSpec`.
    format : str
        The format name recorded in the fragments.
    target_size : int
        Approximate compressed bytes per fragment.
    index : str, optional
        Index file to use instead of looking beside ``path``.

    Raises
    ------
    StaleIndexError
        The index beside the file is older than the file.
    """
    from ..formats.text import _file_compression, split_byte_ranges

    path = os.fspath(path)
    compression, _ = _file_compression(path)
    if regions is not None and compression == "bgzf":
        idx_path = os.fspath(index) if index is not None else find_index(path)
        if idx_path is not None:
            from .tabix import read_index

            return _region_fragments(path, read_index(idx_path), regions, options, format,
                                     target_size)
    return [FragmentSpec(path, format, compression, byte_range=r, options=options)
            for r in split_byte_ranges(path, target_size)]


def _region_fragments(path, idx, regions, options, format, target_size):
    by_chrom: dict[str, list] = {}
    for chrom, start, end in regions:
        by_chrom.setdefault(chrom, []).append((chrom, 0 if start is None else int(start),
                                               None if end is None else int(end)))
    out = []
    for chrom, rs in by_chrom.items():
        chunks = idx.query_many(rs)
        if not chunks:
            continue
        lo = min(r[1] for r in rs)
        hi = None if any(r[2] is None for r in rs) else max(r[2] for r in rs)
        for group in _group_chunks(chunks, target_size):
            out.append(FragmentSpec(path, format, "bgzf", voffset_ranges=tuple(group),
                                    region=(chrom, lo, hi), options=options))
    return out

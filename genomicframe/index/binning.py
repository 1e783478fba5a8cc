"""The hierarchical binning scheme shared by BAI, tabix (.tbi) and CSI indexes.

A reference is cut into ``depth + 1`` levels of bins: level 0 is one bin for
the whole span ``[0, 2**(min_shift + 3*depth))``, each level splits every bin
of the level above into eight, and the finest level has windows of
``2**min_shift`` bases.  Bins are numbered level by level, so level ``l``
starts at ``(8**l - 1) // 7``.  A record is filed in the smallest bin that
holds it entirely.  BAI and tabix fix ``min_shift=14, depth=5``; CSI stores
both.  All coordinates here are 0-based, half-open.

Examples
--------
>>> first_bin(5), n_bins(5)
(4681, 37449)
>>> reg2bins(0, 1, 14, 5).tolist()
[0, 1, 9, 73, 585, 4681]
>>> parent_bin(4681), bin_level(4681, 5), bottom_window(4681, 5)
(585, 5, 0)
"""
from __future__ import annotations

import numpy as np

__all__ = ["first_bin", "n_bins", "pseudo_bin", "parent_bin", "bin_level", "bottom_window",
           "reg2bins", "max_span"]


def first_bin(level: int) -> int:
    """Number of the first bin of ``level``."""
    return ((1 << (3 * level)) - 1) // 7


def n_bins(depth: int) -> int:
    """Number of real bins of a scheme with ``depth`` levels below the root."""
    return first_bin(depth + 1)


def pseudo_bin(depth: int) -> int:
    """The extra bin that holds per-reference metadata (37450 for BAI/tabix)."""
    return n_bins(depth) + 1


def max_span(min_shift: int, depth: int) -> int:
    """Largest coordinate the scheme can hold (exclusive)."""
    return 1 << (min_shift + 3 * depth)


def parent_bin(b: int) -> int:
    return (b - 1) >> 3


def bin_level(b: int, depth: int) -> int:
    """Level (0 = root) of bin ``b``."""
    level = 0
    while level < depth and b >= first_bin(level + 1):
        level += 1
    return level


def bottom_window(b: int, depth: int) -> int:
    """Index of the first finest-level window covered by bin ``b`` (a linear-index slot)."""
    level = bin_level(b, depth)
    return (b - first_bin(level)) << (3 * (depth - level))


def reg2bins(beg: int, end: int, min_shift: int, depth: int) -> np.ndarray:
    """All bins that may hold records overlapping ``[beg, end)``, as a sorted int64 array.

    At every level these are the bins from the one holding ``beg`` to the one
    holding ``end - 1``.
    """
    beg = max(0, int(beg))
    end = min(int(end), max_span(min_shift, depth))
    if end <= beg:
        return np.zeros(0, dtype=np.int64)
    parts = []
    last = end - 1
    for level in range(depth + 1):
        shift = min_shift + 3 * (depth - level)
        base = first_bin(level)
        parts.append(np.arange(base + (beg >> shift), base + (last >> shift) + 1, dtype=np.int64))
    return np.concatenate(parts)

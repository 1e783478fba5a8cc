"""BGZF virtual offsets: ``coffset << 16 | uoffset`` (vectorised over numpy arrays)."""
from __future__ import annotations

__all__ = ["make_voffset", "split_voffset"]


def make_voffset(coffset, within):
    """Pack a block's compressed offset and an offset inside its inflated data.

    Examples
    --------
    >>> make_voffset(65536, 10)
    4294967306
    """
    import numpy as np

    if isinstance(coffset, (int, np.integer)) and isinstance(within, (int, np.integer)):
        if not 0 <= within < 1 << 16:
            raise ValueError(f"offset within a block must be below 65536, got {within}")
        return (int(coffset) << 16) | int(within)
    return (np.asarray(coffset, dtype=np.int64) << 16) | np.asarray(within, dtype=np.int64)


def split_voffset(voffset):
    """Unpack a virtual offset into ``(coffset, within)``.

    Examples
    --------
    >>> split_voffset(4294967306)
    (65536, 10)
    """
    if isinstance(voffset, int):
        return voffset >> 16, voffset & 0xFFFF
    import numpy as np

    if isinstance(voffset, np.integer):
        v = int(voffset)
        return v >> 16, v & 0xFFFF
    v = np.asarray(voffset, dtype=np.int64)
    return v >> 16, v & 0xFFFF

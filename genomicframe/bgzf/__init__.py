"""BGZF: block tables, parallel ISA-L inflate, file objects, compression and ``.gzi``.

Names are imported on first use (numpy is not needed to stream a file).

>>> import genomicframe as gf
>>> data = gf.bgzf.compress(b"chr1\\t10\\n" * 3)
>>> gf.bgzf.decompress(data)
b'chr1\\t10\\nchr1\\t10\\nchr1\\t10\\n'
"""
from __future__ import annotations

from .._lazy import lazy_attributes
from .constants import EOF_MARKER, MAX_BLOCK_DATA, MAX_BLOCK_SIZE

_WHERE = {
    "BlockTable": "blocks", "scan_bytes": "blocks", "scan_file": "blocks",
    "BgzfFile": "file", "decompress": "file", "open": "file",
    "GziIndex": "gzi", "gzi_bytes": "gzi", "read_gzi": "gzi", "write_gzi": "gzi",
    "Chunk": "reader", "Reader": "reader", "BlockScanner": "reader",
    "detect_compression": "reader", "resolve_threads": "reader",
    "make_voffset": "voffset", "split_voffset": "voffset",
    "Writer": "writer", "compress": "writer", "isal_level": "writer",
}

__all__ = ["EOF_MARKER", "MAX_BLOCK_DATA", "MAX_BLOCK_SIZE", *sorted(_WHERE)]


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, globals())

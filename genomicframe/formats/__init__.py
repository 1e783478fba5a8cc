"""Format registry: name -> :class:`~genomicframe.formats.base.FileFormat`.

Formats register themselves by name; :func:`detect` chooses one for a file
from its inflated first bytes (magic and header), then from its suffix.

>>> from genomicframe import formats
>>> "vcf" in formats.names()
True
"""
from __future__ import annotations

import importlib
import os

from .base import FileFormat, FragmentSpec, Pushdown, Range

__all__ = ["FileFormat", "FragmentSpec", "Pushdown", "Range", "register", "get", "names", "detect"]

# built-in formats, imported on first use: name -> module
_BUILTIN = {
    "vcf": "genomicframe.formats.vcf",
}
_REGISTRY: dict[str, type] = {}

_COMPRESSION_SUFFIXES = (".gz", ".bgz", ".bgzf")


def register(cls: type) -> type:
    """Register a :class:`FileFormat` subclass (usable as a class decorator)."""
    if not cls.name:
        raise ValueError("a FileFormat needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """Names of the known formats."""
    return sorted(set(_BUILTIN) | set(_REGISTRY))


def get(name: str) -> FileFormat:
    """A new instance of the named format."""
    if name not in _REGISTRY and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(names())}") from None


def _head(path, n: int = 65536) -> bytes:
    from ..bgzf.reader import Reader

    # small reads and groups: only the first block or two are inflated
    with Reader(path, threads=1, check_eof=False, read_size=n + 1024, group_size=n) as r:
        for _, data in r.pieces():
            return bytes(data[:n])
    return b""


def detect(path) -> FileFormat:
    """Choose the format of ``path`` from its content (then its name).

    Raises
    ------
    ValueError
        No registered format recognises the file.
    """
    head = _head(path)
    for name in names():
        fmt = get(name)
        if fmt.sniff(head):
            return fmt
    base = os.fspath(path).lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    for name in names():
        fmt = get(name)
        if any(base.endswith(s) for s in fmt.suffixes):
            return fmt
    raise ValueError(f"{os.fspath(path)}: cannot tell the file format; pass format= "
                     f"(one of {', '.join(names())})")

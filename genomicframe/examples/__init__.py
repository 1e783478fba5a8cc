"""Small example files shipped inside the package (used by ``genomicframe demo`` and doctests).

>>> import genomicframe as gf
>>> gf.examples.path("proteins.fa.gz").endswith("proteins.fa.gz")
True
"""
from __future__ import annotations

import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def path(name: str) -> str:
    """Absolute path of an example file; see :func:`names` for what ships."""
    p = os.path.join(_HERE, name)
    if not os.path.exists(p):
        raise FileNotFoundError(f"no example named {name!r}; available: {', '.join(names())}")
    return p


def names() -> list[str]:
    """Names of the example files."""
    return sorted(n for n in os.listdir(_HERE) if not n.startswith(("_", ".")) and not n.endswith(".py"))

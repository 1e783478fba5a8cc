"""Region strings as samtools reads them: ``NAME``, ``NAME:BEG-END``, ``{NAME}:BEG-END``.

Positions in region strings are **1-based and closed** (``chr1:1-100`` is the
first 100 bases), commas are allowed (``chr1:1,000-2,000``), ``NAME:BEG`` and
``NAME:BEG-`` run to the end, ``NAME:-END`` starts at 1.  Everything returned
here is converted once to genomicframe's **0-based half-open** coordinates.

A name that itself contains ``:`` is found whole first; when both the whole
string and its part before the last ``:`` are names (and the rest reads as a
range), the request is ambiguous, as in htslib: write ``{NAME}`` or
``{NAME}:BEG-END``.
"""
from __future__ import annotations

from ..errors import InvalidRegionError

__all__ = ["parse_range", "split_region"]


def _pos(text: str, what: str, region: str) -> int:
    t = text.replace(",", "")
    if not t.isdigit():
        raise InvalidRegionError(f"region {region!r}: {what} position {text!r} is not a "
                                 "number")
    return int(t)


def parse_range(text: str, region: str = "") -> tuple[int, int] | None:
    """``"BEG-END"`` (1-based closed) -> ``(start, end)`` 0-based half-open; ``end`` -1 = to the end.

    Returns ``None`` when ``text`` does not look like a range at all.

    Examples
    --------
    >>> parse_range("1-100"), parse_range("5"), parse_range("1,001-"), parse_range("-10")
    ((0, 100), (4, -1), (1000, -1), (0, 10))
    """
    t = text.strip()
    if not t or not all(c.isdigit() or c in ",-" for c in t) or t.count("-") > 1:
        return None
    region = region or text
    if "-" in t:
        a, b = t.split("-")
        beg = _pos(a, "start", region) if a else 1
        end = _pos(b, "end", region) if b else -1
    else:
        beg = _pos(t, "start", region)
        end = -1
    if beg < 1:
        raise InvalidRegionError(f"region {region!r}: positions are 1-based, the start must "
                                 "be at least 1")
    if end != -1 and end < beg:
        raise InvalidRegionError(f"region {region!r}: the end is before the start")
    return beg - 1, end


def split_region(text: str):
    """Candidate ``(name, range text or None)`` readings of a request string.

    ``{NAME}`` and ``{NAME}:RANGE`` give one reading; otherwise the whole string
    as a name comes first, then ``(text before the last ':', text after)``.
    """
    if text.startswith("{"):
        close = text.find("}")
        if close < 0:
            raise InvalidRegionError(f"region {text!r}: '{{' without a closing '}}'")
        rest = text[close + 1:]
        if rest and not rest.startswith(":"):
            raise InvalidRegionError(f"region {text!r}: expected ':' after '}}'")
        return [(text[1:close], rest[1:] if rest else None)]
    out = [(text, None)]
    colon = text.rfind(":")
    if colon > 0:
        out.append((text[:colon], text[colon + 1:]))
    return out

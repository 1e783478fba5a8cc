"""The contract between the dataset layer and each file format.

A :class:`FileFormat` knows one format (VCF, BED, ...): how to recognise it,
its Arrow schema, how to cut a file into independently readable
:class:`FragmentSpec` pieces (using an index when one sits beside the file),
and how to turn one piece into record batches.  The dataset layer
(:mod:`genomicframe.dataset`) owns everything format-independent: expressions,
choosing what to push down, the residual filter, limits, consumers.

Pushdown is an optimisation, never part of the meaning: a format may drop rows
that fail its :class:`Pushdown` and may skip unrequested columns, and the
dataset layer always re-applies the full filter afterwards.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Range", "Pushdown", "FragmentSpec", "FileFormat"]


@dataclass(frozen=True)
class Range:
    """A numeric interval test on one column: ``lo (<|<=) value (<|<=) hi``.

    Null values fail every range (as in Arrow filtering, where a null predicate
    result drops the row).
    """

    lo: float = -math.inf
    lo_inclusive: bool = True
    hi: float = math.inf
    hi_inclusive: bool = True

    def contains(self, v) -> bool:
        if v is None:
            return False
        if v < self.lo or (v == self.lo and not self.lo_inclusive):
            return False
        if v > self.hi or (v == self.hi and not self.hi_inclusive):
            return False
        return True

    def intersect(self, other: "Range") -> "Range":
        if (other.lo, not other.lo_inclusive) > (self.lo, not self.lo_inclusive):
            lo, loi = other.lo, other.lo_inclusive
        else:
            lo, loi = self.lo, self.lo_inclusive
        if (other.hi, other.hi_inclusive) < (self.hi, self.hi_inclusive):
            hi, hii = other.hi, other.hi_inclusive
        else:
            hi, hii = self.hi, self.hi_inclusive
        return Range(lo, loi, hi, hii)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_inclusive and self.hi_inclusive))


@dataclass(frozen=True)
class Pushdown:
    """A conjunction of cheap row tests a parser may evaluate before decoding expensive fields.

    Every row a format drops because of it must fail the full filter; rows it
    keeps are filtered again by the dataset layer.

    Attributes
    ----------
    isin : dict[str, frozenset]
        Column -> allowed values (e.g. ``{"chrom": {"chr1"}}``).
    ranges : dict[str, Range]
        Column -> numeric interval (e.g. ``{"pos": Range(100, True, 200, False)}``).
    not_null : frozenset[str]
        Columns that must not be null.
    """

    isin: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    not_null: frozenset = frozenset()

    def __bool__(self) -> bool:
        return bool(self.isin or self.ranges or self.not_null)

    @property
    def columns(self) -> frozenset:
        return frozenset(self.isin) | frozenset(self.ranges) | self.not_null

    def restrict(self, supported) -> "Pushdown":
        """The part of this pushdown that only uses ``supported`` columns."""
        s = set(supported)
        return Pushdown({k: v for k, v in self.isin.items() if k in s},
                        {k: v for k, v in self.ranges.items() if k in s},
                        frozenset(c for c in self.not_null if c in s))

    def is_empty_result(self) -> bool:
        """True when no row can pass (an empty ``isin`` set or an empty range)."""
        return any(len(v) == 0 for v in self.isin.values()) or any(
            r.empty for r in self.ranges.values())


@dataclass(frozen=True)
class FragmentSpec:
    """An independently readable piece of one file: a plain, picklable value.

    Attributes
    ----------
    path : str
    format : str
        Registered format name (``"vcf"``, ...).
    compression : str
        ``"bgzf"``, ``"gzip"`` or ``"plain"``.
    byte_range : tuple[int, int] or None
        ``[start, end)`` compressed offsets of whole BGZF blocks (byte offsets for
        plain files); ``None`` for the whole file.  A text fragment that does not
        start at 0 skips through the first newline at or after its start; every
        fragment reads past its end through the first newline at or after it, so
        fragments partition the lines exactly.
    voffset_ranges : tuple[tuple[int, int], ...] or None
        ``[begin, end)`` BGZF virtual-offset chunks from an index (.tbi/.csi/.bai);
        overrides ``byte_range``.  Records in them may lie outside ``region``.
    region : tuple[str, int, int] or None
        ``(chrom, start, end)``, 0-based half-open, that the index chunks were
        chosen for; it is also the fragment's partition expression.
    options : tuple
        Format-specific hashable options (e.g. ``(("samples", ("NA1",)),)``).
    """

    path: str
    format: str
    compression: str = "plain"
    byte_range: tuple | None = None
    voffset_ranges: tuple | None = None
    region: tuple | None = None
    options: tuple = ()

    def option(self, name: str, default=None):
        for k, v in self.options:
            if k == name:
                return v
        return default


class FileFormat(abc.ABC):
    """One file format.  Subclasses are registered with :func:`genomicframe.formats.register`."""

    #: registered name, e.g. ``"vcf"``
    name: ClassVar[str] = ""
    #: file name suffixes, compression suffixes stripped (``".vcf"``)
    suffixes: ClassVar[tuple] = ()
    #: columns the parser can test with a :class:`Pushdown`
    pushdown_columns: ClassVar[frozenset] = frozenset()

    @classmethod
    @abc.abstractmethod
    def sniff(cls, head: bytes) -> bool:
        """True when the first inflated bytes of a file look like this format."""

    @abc.abstractmethod
    def inspect(self, path: str) -> "pa.Schema":
        """The Arrow schema of ``path`` (reads the header only)."""

    @abc.abstractmethod
    def make_fragments(self, path: str, *, regions=None, target_size: int = 64 << 20,
                       options: tuple = ()) -> list[FragmentSpec]:
        """Cut ``path`` into fragments.

        ``regions`` is ``None`` (the whole file) or a list of ``(chrom, start, end)``
        (0-based half-open; ``end`` may be ``None`` for "to the end of chrom"): with
        an index beside the file, return only fragments that can hold overlapping
        records.  ``target_size`` is the approximate compressed bytes per fragment
        when splitting without an index.
        """

    @abc.abstractmethod
    def read_batches(self, fragment: FragmentSpec, *, columns: list[str] | None = None,
                     pushdown: Pushdown | None = None, batch_size: int = 131_072,
                     threads: int | None = None) -> Iterator["pa.RecordBatch"]:
        """Parse a fragment into record batches.

        Batches hold exactly ``columns`` (all schema columns when ``None``), in
        that order, typed as :meth:`inspect` says; at most ``batch_size`` rows.
        Rows failing ``pushdown`` may be dropped.  Raise
        :class:`~genomicframe.errors.FormatError` subclasses naming the path and
        line for malformed input.
        """

    def count_rows(self, fragment: FragmentSpec, pushdown: Pushdown | None = None,
                   threads: int | None = None) -> int:
        """Number of rows (after ``pushdown``); formats may override with a faster count."""
        return sum(b.num_rows for b in self.read_batches(fragment, columns=[], pushdown=pushdown,
                                                         threads=threads))

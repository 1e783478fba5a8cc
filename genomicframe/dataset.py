"""Datasets over genomics files, with the names and keywords of :mod:`pyarrow.dataset`.

>>> import genomicframe as gf                                    # doctest: +SKIP
>>> ds = gf.dataset("calls.vcf.gz")                              # doctest: +SKIP
>>> ds.to_table(columns=["chrom", "pos"], filter=gf.field("qual") >= 30)  # doctest: +SKIP

:class:`Dataset` is a genuine :class:`pyarrow.dataset.Dataset` subclass, so
DuckDB (``con.register("calls", ds)``), ``polars.scan_pyarrow_dataset`` and
other Arrow consumers hand their ``columns=`` and ``filter=`` straight to
:meth:`Dataset.scanner`.  Every member pyarrow's class defines is overridden
here: the inherited ones reach into a C++ dataset that does not exist.  One
door cannot be closed from Python: ``pyarrow.dataset.Scanner.from_dataset(ds)``
goes straight to C++ and crashes; use ``ds.scanner()`` or
:meth:`Scanner.from_dataset` (this module's) instead.

How a scan runs (per fragment):

1. the filter is split (:func:`genomicframe.expressions.plan`) into index
   regions, which choose the fragments (:meth:`FileFormat.make_fragments`), and
   a :class:`~genomicframe.formats.base.Pushdown` the parser may use to drop
   rows early;
2. the format reads only the projected columns plus those the filter needs;
3. the *full* filter (and the fragment's own region, so that a record
   overlapping two regions is returned once) is applied to every batch with
   pyarrow compute, then the projection.  Pushdown never changes a result.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import pyarrow as pa  # genomicframe/__init__ made sure this import keeps pandas out
import pyarrow.compute as pc
import pyarrow.dataset as pads

from . import expressions as _ex
from . import formats as _formats
from ._schemas import conform_array, conform_batch, file_schema, unify_schemas
from .formats.base import FragmentSpec, Pushdown

__all__ = ["dataset", "Dataset", "Fragment", "Scanner", "DEFAULT_BATCH_SIZE"]

#: rows per batch unless ``batch_size=`` says otherwise (pyarrow's default)
DEFAULT_BATCH_SIZE = 131_072


# ---------------------------------------------------------------------------------------------
# sources and fragments
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    path: str
    format: str
    options: tuple


def _options_tuple(options: dict) -> tuple:
    def freeze(v):
        if isinstance(v, (list, tuple)):
            return tuple(freeze(x) for x in v)
        if isinstance(v, (set, frozenset)):
            return tuple(sorted(v))
        if isinstance(v, dict):
            return tuple(sorted((k, freeze(x)) for k, x in v.items()))
        return v

    return tuple(sorted((k, freeze(v)) for k, v in options.items()))


def _overlap(chrom: str, lo: int, hi) -> pc.Expression:
    e = pc.field("chrom") == chrom
    if hi is not None:
        e = e & (pc.field("start") < hi)
    if lo > 0:
        e = e & (pc.field("end") > lo)
    return e


def _ownership(specs: list) -> dict:
    """Region -> the expression saying which rows its fragments own.

    Index fragments may hold records outside their region, and a record can
    overlap two regions; it belongs to the first region (by start) it overlaps.
    """
    by_chrom: dict = {}
    for s in specs:
        if s.region is not None:
            by_chrom.setdefault(s.region[0], set()).add(tuple(s.region))
    out = {}
    for chrom, regions in by_chrom.items():
        ordered = sorted(regions, key=lambda r: (r[1], float("inf") if r[2] is None else r[2]))
        disjoint = all(a[2] is not None and a[2] <= b[1] for a, b in zip(ordered, ordered[1:]))
        for i, r in enumerate(ordered):
            e = _overlap(chrom, r[1], r[2])
            earlier = ordered[i - 1:i] if disjoint else ordered[:i]
            for p in earlier:
                if disjoint:
                    e = e & (pc.field("start") >= p[2])
                else:
                    e = e & ~_overlap(chrom, p[1], p[2])
            out[r] = e
    return out


class Fragment:
    """An independently readable piece of a file: a picklable value, re-opened on every read.

    Built by :meth:`Dataset.get_fragments`.  ``partition_expression`` is true
    for every row the fragment yields (``chrom == "chr1" and start < hi and end >
    lo`` for a fragment chosen through an index; ``true`` otherwise).

    Attributes
    ----------
    spec : FragmentSpec
        Path, format, compression, byte range or index chunks, region, options.
    """

    __slots__ = ("spec", "_schema", "_filter", "_owner")

    def __init__(self, spec: FragmentSpec, schema: pa.Schema, filter=None, owner=None):
        self.spec = spec
        self._schema = schema
        self._filter = filter
        self._owner = owner

    # value semantics
    def __reduce__(self):
        return (Fragment, (self.spec, self._schema, self._filter, self._owner))

    def _key(self):
        return (self.spec, self._schema.to_string(), str(self._filter), str(self._owner))

    def __eq__(self, other):
        return isinstance(other, Fragment) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __dask_tokenize__(self):
        return ("genomicframe.Fragment",) + self._key()

    def __repr__(self):
        where = []
        if self.spec.region is not None:
            c, s, e = self.spec.region
            where.append(f"region={c}:[{s}, {'end' if e is None else e})")
        if self.spec.byte_range is not None:
            where.append(f"bytes={self.spec.byte_range[0]}-{self.spec.byte_range[1]}")
        if self.spec.voffset_ranges is not None:
            where.append(f"index_chunks={len(self.spec.voffset_ranges)}")
        return (f"<genomicframe.Fragment {self.spec.format} {self.spec.path}"
                f"{' ' if where else ''}{' '.join(where)}>")

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def format(self):
        """The :class:`~genomicframe.formats.base.FileFormat` that reads this fragment."""
        return _formats.get(self.spec.format)

    @property
    def partition_expression(self) -> pc.Expression:
        return self._owner if self._owner is not None else pc.scalar(True)

    @property
    def physical_schema(self) -> pa.Schema:
        """The schema of this fragment's file as the format reports it (before unification)."""
        return file_schema(self.format, self.spec.path, self.spec.options)

    @property
    def schema(self) -> pa.Schema:
        """The dataset schema batches are conformed to."""
        return self._schema

    def scanner(self, schema=None, columns=None, filter=None, batch_size=DEFAULT_BATCH_SIZE,
                use_threads=True, **kwargs) -> "Scanner":
        return Scanner.from_fragment(self, schema=schema, columns=columns, filter=filter,
                                     batch_size=batch_size, use_threads=use_threads, **kwargs)

    def to_batches(self, schema=None, columns=None, filter=None, **kwargs):
        return self.scanner(schema, columns, filter, **kwargs).to_batches()

    def to_table(self, schema=None, columns=None, filter=None, **kwargs) -> pa.Table:
        return self.scanner(schema, columns, filter, **kwargs).to_table()

    def head(self, num_rows: int, columns=None, filter=None, **kwargs) -> pa.Table:
        return self.scanner(columns=columns, filter=filter, **kwargs).head(num_rows)

    def take(self, indices, columns=None, filter=None, **kwargs) -> pa.Table:
        return self.scanner(columns=columns, filter=filter, **kwargs).take(indices)

    def count_rows(self, filter=None, **kwargs) -> int:
        return self.scanner(filter=filter, **kwargs).count_rows()

    # the read path
    def _stream(self, columns, filter, batch_size: int, threads, plans: dict):
        """Filtered, projected batches of this fragment (the generator behind every read).

        ``plans`` is the scan's cache: format instances (which keep parsed
        headers), filter plans and physical schemas, shared by its fragments.
        """
        fkey = ("format", self.spec.format)
        fmt = plans.get(fkey)
        if fmt is None:
            fmt = plans[fkey] = self.format
        schema = self._schema
        full = _and_all([self._filter, filter, self._owner])
        key = (fmt.name, str(full))
        plan = plans.get(key)
        if plan is None or not _same(plan.filter, full):
            plan = plans[key] = _plan_for(fmt, full, schema)
        if plan.empty:
            return
        base, projection = _projection(columns, schema)
        needed = set(base) | set(_ex.referenced_columns(full, schema))
        read_cols = [n for n in schema.names if n in needed]
        pkey = ("physical", self.spec.path, self.spec.format, self.spec.options)
        physical_schema = plans.get(pkey)
        if physical_schema is None:
            physical_schema = plans[pkey] = file_schema(fmt, self.spec.path, self.spec.options)
        physical = set(physical_schema.names)
        file_cols = [n for n in read_cols if n in physical]
        pushdown = plan.pushdown.restrict(physical) if plan.pushdown else Pushdown()
        read_schema = pa.schema([schema.field(n) for n in read_cols])
        spec = _narrow_children(self.spec, fmt, columns, full, file_cols, physical_schema)
        raw = fmt.read_batches(spec, columns=file_cols, pushdown=pushdown or None,
                               batch_size=batch_size, threads=threads)
        # batch by batch, so nothing is read ahead of the consumer (head() stops early); a
        # one-batch pyarrow Scanner evaluates computed or nested projections
        for b in raw:
            b = conform_batch(b, read_schema)
            if projection is not None:
                yield from pads.Scanner.from_batches(
                    iter([b]), schema=read_schema, filter=full, columns=projection,
                    use_threads=False).to_batches()
                continue
            if full is not None:
                b = b.filter(full)
            yield b.select(base) if base != read_cols else b


def child_selection(fmt, columns, filter, schema: pa.Schema) -> dict:
    """Struct column -> the children a scan uses, for formats with ``child_projection``.

    Only columns used solely through some of their children appear; ``{}``
    when the format cannot narrow or the scan reads whole structs.
    """
    options = getattr(fmt, "child_projection", None)
    if not options or columns is None:
        return {}
    paths = _ex.referenced_paths(filter)
    if paths is None:
        return {}
    if isinstance(columns, dict):
        for e in columns.values():
            more = _ex.referenced_paths(e)
            if more is None:
                return {}
            paths |= more
    else:
        for c in columns:
            paths.add((c,) if c in schema.names or "." not in c else tuple(c.split(".")))
    out = {}
    for col in options:
        if col not in schema.names or (col,) in paths:
            continue
        typ = schema.field(col).type
        if not pa.types.is_struct(typ):
            continue
        have = {typ.field(i).name for i in range(typ.num_fields)}
        used = sorted({p[1] for p in paths if len(p) > 1 and p[0] == col} & have)
        if used or any(p[0] == col for p in paths):
            out[col] = tuple(used)
    return out


def _narrow_children(spec: FragmentSpec, fmt, columns, full, file_cols, physical_schema):
    """``spec`` with options that decode only the struct children the scan uses.

    A format lists such options in ``child_projection`` (column -> option
    name, e.g. VCF ``{"info": "info_fields"}``).  Children the scan does not
    read come back null after conforming, which no result can see.
    """
    chosen = child_selection(fmt, columns, full, physical_schema)
    present = {k for k, _ in spec.options}
    extra = tuple((fmt.child_projection[col], kids) for col, kids in chosen.items()
                  if col in file_cols and fmt.child_projection[col] not in present)
    if not extra:
        return spec
    return dataclasses.replace(spec, options=tuple(spec.options) + extra)


def _plan_for(fmt, filter, schema):
    return _ex.plan(filter, schema, fmt.pushdown_columns, getattr(fmt, "position_offsets", None))


def _same(a, b) -> bool:
    return a is b or (a is not None and b is not None and a.equals(b))


def _and_all(exprs):
    out = None
    for e in exprs:
        if e is None:
            continue
        out = e if out is None else out & e
    return out


def _projection(columns, schema: pa.Schema):
    """(top-level columns to read, projection for pyarrow or None for a plain column list)."""
    if columns is None:
        return list(schema.names), None
    if isinstance(columns, dict):
        base = set()
        for name, e in columns.items():
            if not isinstance(e, pc.Expression):
                raise TypeError(f"columns[{name!r}] must be a pyarrow.compute.Expression")
            base.update(_ex.referenced_columns(e, schema))
        return [n for n in schema.names if n in base], dict(columns)
    columns = list(columns)
    base, nested = [], False
    for c in columns:
        if not isinstance(c, str):
            raise TypeError(f"column names must be strings, not {type(c).__name__}")
        if c in schema.names:
            base.append(c)
            continue
        head = c.split(".", 1)[0]
        if "." in c and head in schema.names:
            base.append(head)
            nested = True
            continue
        raise KeyError(f"no column {c!r}; columns are: {', '.join(schema.names)}")
    read = [n for n in schema.names if n in set(base)]
    if nested or len(set(columns)) != len(columns):
        return read, columns
    return columns, None


def _projected_schema(columns, schema: pa.Schema) -> pa.Schema:
    base, projection = _projection(columns, schema)
    if projection is None:
        return pa.schema([schema.field(n) for n in base], metadata=schema.metadata)
    empty = pa.table({n: pa.array([], schema.field(n).type) for n in base},
                     schema=pa.schema([schema.field(n) for n in base]))
    out = pads.Scanner.from_batches(iter(empty.to_batches()), schema=empty.schema,
                                    columns=projection).projected_schema
    return out.with_metadata(schema.metadata) if schema.metadata else out


# ---------------------------------------------------------------------------------------------
# Scanner
# ---------------------------------------------------------------------------------------------
class Scanner:
    """A configured scan: which fragments, columns, filter, batch size.  Runs again on every call.

    Built by :meth:`Dataset.scanner`, :meth:`Scanner.from_dataset` or
    :meth:`Scanner.from_fragment`.  The filter is applied exactly, whatever
    the format pushed down.
    """

    def __init__(self, *a, **k):
        raise TypeError("use Dataset.scanner(), Scanner.from_dataset() or Scanner.from_fragment()")

    @classmethod
    def _make(cls, fragments_fn, schema, columns, filter, batch_size, use_threads):
        self = object.__new__(cls)
        self._fragments_fn = fragments_fn
        self._schema = schema
        self._columns = columns
        self._filter = _ex.to_expression(filter, schema)
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        self._batch_size = int(batch_size)
        self._threads = None if use_threads else 1
        self._projected = _projected_schema(columns, schema)  # validates columns now
        return self

    @staticmethod
    def from_dataset(dataset: "Dataset", *, columns=None, filter=None,
                     batch_size=DEFAULT_BATCH_SIZE, use_threads=True, **kwargs) -> "Scanner":
        """A scanner over ``dataset``; other pyarrow keywords (readahead, ...) are ignored."""
        if not isinstance(dataset, Dataset):
            raise TypeError("Scanner.from_dataset takes a genomicframe Dataset")
        flt = _ex.to_expression(filter, dataset.schema)
        return Scanner._make(lambda: dataset._fragments_for(flt), dataset.schema, columns, flt,
                             batch_size, use_threads)

    @staticmethod
    def from_fragment(fragment: Fragment, *, schema=None, columns=None, filter=None,
                      batch_size=DEFAULT_BATCH_SIZE, use_threads=True, **kwargs) -> "Scanner":
        """A scanner over one fragment (``schema`` defaults to the fragment's dataset schema)."""
        if not isinstance(fragment, Fragment):
            raise TypeError("Scanner.from_fragment takes a genomicframe Fragment")
        if schema is not None and not schema.equals(fragment.schema):
            fragment = Fragment(fragment.spec, schema, fragment._filter, fragment._owner)
        return Scanner._make(lambda: [fragment], fragment.schema, columns, filter, batch_size,
                             use_threads)

    @staticmethod
    def from_batches(source, **kwargs) -> pads.Scanner:
        """pyarrow's one-shot scanner over batches (``pyarrow.dataset.Scanner.from_batches``)."""
        return pads.Scanner.from_batches(source, **kwargs)

    @property
    def dataset_schema(self) -> pa.Schema:
        return self._schema

    @property
    def projected_schema(self) -> pa.Schema:
        return self._projected

    def fragments(self) -> list:
        """The fragments this scan reads (after index pruning)."""
        return list(self._fragments_fn())

    def _iter(self, fragments=None):
        plans: dict = {}
        for frag in (self._fragments_fn() if fragments is None else fragments):
            for b in frag._stream(self._columns, self._filter, self._batch_size, self._threads,
                                  plans):
                yield frag, b

    def scan_batches(self):
        """Iterator of ``TaggedRecordBatch(record_batch, fragment)``."""
        it = self._iter(self._fragments_fn())
        return (pads.TaggedRecordBatch(b, f) for f, b in it)

    def to_batches(self):
        """Iterator of record batches.

        Fragments are planned now, so a bad filter, a stale index or a missing
        file raises here rather than at the first ``next()``.
        """
        it = self._iter(self._fragments_fn())
        schema = self._projected
        return (b if b.schema.equals(schema) else conform_batch(b, schema) for _, b in it)

    def to_reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self._projected, self.to_batches())

    def to_table(self) -> pa.Table:
        return pa.Table.from_batches(list(self.to_batches()), schema=self._projected)

    def head(self, num_rows: int) -> pa.Table:
        if num_rows < 0:
            raise ValueError("num_rows must be non-negative")
        out, n = [], 0
        if num_rows:
            for b in self.to_batches():
                out.append(b.slice(0, num_rows - n))
                n += out[-1].num_rows
                if n >= num_rows:
                    break
        return pa.Table.from_batches(out, schema=self._projected)

    def count_rows(self) -> int:
        frags = self._fragments_fn()
        if self._filter is None and all(f._filter is None and f._owner is None for f in frags):
            formats: dict = {}
            for f in frags:
                if f.spec.format not in formats:
                    formats[f.spec.format] = f.format
            return sum(formats[f.spec.format].count_rows(f.spec, threads=self._threads)
                       for f in frags)
        plans: dict = {}
        return sum(b.num_rows for f in frags
                   for b in f._stream([], self._filter, self._batch_size, self._threads, plans))

    def take(self, indices) -> pa.Table:
        """Rows at ``indices`` (positions in scan order), read in one streaming pass."""
        import numpy as np

        idx = np.asarray(pa.array(indices).to_numpy(zero_copy_only=False), dtype=np.int64)
        if idx.size == 0:
            return self.head(0)
        if idx.min() < 0:
            raise IndexError("take: indices must be non-negative")
        order = np.argsort(idx, kind="stable")
        wanted = idx[order]
        pieces, off, k, top = [], 0, 0, int(wanted[-1])
        for b in self.to_batches():
            end = off + b.num_rows
            j = int(np.searchsorted(wanted, end, side="left"))
            if j > k:
                pieces.append(b.take(pa.array(wanted[k:j] - off)))
                k = j
            off = end
            if off > top:
                break
        if k < len(wanted):
            raise IndexError(f"take: index {int(wanted[k])} is out of bounds for {off} rows")
        table = pa.Table.from_batches(pieces, schema=self._projected)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return table.take(pa.array(inverse))

    def __arrow_c_stream__(self, requested_schema=None):
        return self.to_reader().__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self):
        return self._projected.__arrow_c_schema__()


# ---------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------
class Dataset(pads.Dataset):
    """Genomics files as one dataset; a :class:`pyarrow.dataset.Dataset` built by :func:`dataset`.

    Methods take pyarrow's keywords (``columns=``, ``filter=``, ``batch_size=``,
    ``use_threads=``); pyarrow's tuning keywords (``batch_readahead``,
    ``fragment_readahead``, ``fragment_scan_options``, ``cache_metadata``,
    ``memory_pool``) are accepted and ignored.  Filters may be Expressions or
    strings (``"qual >= 30 and chrom == 'chr1'"``).
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("use genomicframe.dataset(path) to open a Dataset")

    @classmethod
    def _make(cls, sources: tuple, schema: pa.Schema, filter=None) -> "Dataset":
        self = cls.__new__(cls)
        self.__setstate__({"sources": tuple(sources), "schema": schema, "filter": filter})
        return self

    def __setstate__(self, state):
        self._sources = state["sources"]
        self._schema = state["schema"]
        self._filter = state["filter"]
        self._frag_cache = {}

    def __reduce__(self):
        return (_restore_dataset, ({"sources": self._sources, "schema": self._schema,
                                    "filter": self._filter},))

    def __repr__(self):
        files = ", ".join(s.path for s in self._sources[:3])
        more = f" and {len(self._sources) - 3} more" if len(self._sources) > 3 else ""
        flt = f" filter={self._filter}" if self._filter is not None else ""
        return f"<genomicframe.Dataset {files}{more}{flt}>\n{self._schema.to_string()}"

    # what the dataset is
    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def files(self) -> list:
        return [s.path for s in self._sources]

    @property
    def format(self):
        """The FileFormat of the first file."""
        return _formats.get(self._sources[0].format)

    @property
    def partition_expression(self) -> pc.Expression:
        return pc.scalar(True)

    @property
    def filter_expression(self):
        """The filter set by :meth:`filter` (``None`` when unfiltered)."""
        return self._filter

    def _fragments_for(self, filter=None) -> list:
        full = _and_all([self._filter, filter])
        frags = []
        for src in self._sources:
            fmt = _formats.get(src.format)
            plan = _plan_for(fmt, full, self._schema)
            if plan.empty:
                continue
            regions = plan.regions
            key = (src, None if regions is None else tuple(regions))
            specs = self._frag_cache.get(key)
            if specs is None:
                if regions is None:
                    specs = fmt.make_fragments(src.path, options=src.options)
                elif regions:
                    specs = fmt.make_fragments(src.path, regions=list(regions),
                                               options=src.options)
                else:
                    specs = []
                specs = self._frag_cache[key] = list(specs)
            owners = _ownership(specs)
            for s in specs:
                owner = owners.get(tuple(s.region)) if s.region is not None else None
                frags.append(Fragment(s, self._schema, self._filter, owner))
        return frags

    def get_fragments(self, filter=None):
        """Fragments that may hold rows passing ``filter`` (pruned through the index)."""
        return iter(self._fragments_for(_ex.to_expression(filter, self._schema)))

    def _get_fragments(self, filter=None):
        return self.get_fragments(filter)

    @property
    def _scan_options(self) -> dict:
        """Default scan keywords of this dataset: the filter set by :meth:`filter`, if any."""
        return {} if self._filter is None else {"filter": self._filter}

    def _scanner_options(self, options) -> dict:
        """Scanner keywords: ``options`` with this dataset's defaults (filters combine with and)."""
        out = dict(options)
        if self._filter is not None:
            given = _ex.to_expression(out.get("filter"), self._schema)
            out["filter"] = self._filter if given is None else self._filter & given
        return out

    # scanning
    def scanner(self, columns=None, filter=None, batch_size=DEFAULT_BATCH_SIZE,
                batch_readahead=None, fragment_readahead=None, fragment_scan_options=None,
                use_threads=True, cache_metadata=None, memory_pool=None) -> Scanner:
        return Scanner.from_dataset(self, columns=columns, filter=filter, batch_size=batch_size,
                                    use_threads=use_threads)

    def to_batches(self, columns=None, filter=None, batch_size=DEFAULT_BATCH_SIZE, **kwargs):
        return self.scanner(columns, filter, batch_size, **kwargs).to_batches()

    def to_table(self, columns=None, filter=None, batch_size=DEFAULT_BATCH_SIZE,
                 **kwargs) -> pa.Table:
        return self.scanner(columns, filter, batch_size, **kwargs).to_table()

    def head(self, num_rows: int, columns=None, filter=None, batch_size=DEFAULT_BATCH_SIZE,
             **kwargs) -> pa.Table:
        return self.scanner(columns, filter, batch_size, **kwargs).head(num_rows)

    def take(self, indices, columns=None, filter=None, batch_size=DEFAULT_BATCH_SIZE,
             **kwargs) -> pa.Table:
        return self.scanner(columns, filter, batch_size, **kwargs).take(indices)

    def count_rows(self, filter=None, batch_size=DEFAULT_BATCH_SIZE, **kwargs) -> int:
        return self.scanner(None, filter, batch_size, **kwargs).count_rows()

    def __arrow_c_stream__(self, requested_schema=None):
        """A fresh Arrow C stream over the whole (filtered) dataset on every call."""
        return self.scanner().to_reader().__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self):
        return self._schema.__arrow_c_schema__()

    # derived datasets
    def filter(self, expression) -> "Dataset":
        """A view holding only the rows passing ``expression`` (an Expression or a string)."""
        e = _ex.to_expression(expression, self._schema)
        if e is None:
            return self
        return Dataset._make(self._sources, self._schema, _and_all([self._filter, e]))

    def replace_schema(self, schema: pa.Schema) -> "Dataset":
        """The same files read as ``schema``: columns cast to its types, new columns null."""
        for f in schema:
            if f.name in self._schema.names:
                old = self._schema.field(f.name).type
                try:
                    conform_array(pa.array([], old), f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                    raise TypeError(f"column {f.name!r} cannot change from {old} to {f.type}: "
                                    f"{exc}") from None
        return Dataset._make(self._sources, schema, self._filter)

    def sort_by(self, sorting, **kwargs) -> pads.Dataset:
        """Read everything, sort it (``pyarrow.Table.sort_by``) and return an in-memory dataset."""
        return pads.dataset(self.to_table().sort_by(sorting, **kwargs))

    def join(self, right_dataset, keys, right_keys=None, join_type="left outer", left_suffix=None,
             right_suffix=None, coalesce_keys=True, use_threads=True) -> pads.Dataset:
        """Read both sides and join them in memory (``pyarrow.Table.join``)."""
        return pads.dataset(self.to_table().join(
            _as_table(right_dataset), keys, right_keys=right_keys, join_type=join_type,
            left_suffix=left_suffix, right_suffix=right_suffix, coalesce_keys=coalesce_keys,
            use_threads=use_threads))

    def join_asof(self, right_dataset, on, by, tolerance, right_on=None,
                  right_by=None) -> pads.Dataset:
        """Read both sides and as-of join them in memory (``pyarrow.Table.join_asof``)."""
        return pads.dataset(self.to_table().join_asof(
            _as_table(right_dataset), on, by, tolerance, right_on=right_on, right_by=right_by))


def _as_table(obj) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, Dataset):
        return obj.to_table()
    if isinstance(obj, pads.Dataset):
        return obj.to_table()
    return pa.table(obj)


def _restore_dataset(state) -> Dataset:
    self = Dataset.__new__(Dataset)
    self.__setstate__(state)
    return self


def _expand(p) -> list:
    path = os.fspath(p)
    if os.path.exists(path) or not any(c in path for c in "*?["):
        return [path]
    import glob

    found = sorted(f for f in glob.glob(path) if os.path.isfile(f))
    if not found:
        raise FileNotFoundError(2, "No file matches the pattern", path)
    return found


def dataset(source, format=None, **options) -> Dataset:
    """Open one file or a list of files as a :class:`Dataset`.

    Parameters
    ----------
    source : str, os.PathLike or list of them
        Files; a name with ``*``, ``?`` or ``[`` that is not itself a file is
        a glob pattern (``"calls/chr*.vcf.gz"``), expanded in sorted order.
    format : str, optional
        A registered format name (``"vcf"``); by default chosen per file from
        its first bytes, then its name.
    **options
        Format options (for example ``samples=[...]`` for VCF), passed to the
        format as a sorted tuple of ``(name, value)`` pairs.

    Raises
    ------
    FileNotFoundError
        A file does not exist (checked now, not at scan time).
    ValueError
        The format cannot be told, or is unknown.
    """
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not paths:
        raise ValueError("dataset() needs at least one file")
    paths = [q for p in paths for q in _expand(p)]
    opts = _options_tuple(options)
    sources, schemas = [], []
    for p in paths:
        path = os.fspath(p)
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory", path)
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory", path)
        fmt = _formats.get(format) if format is not None else _formats.detect(path)
        sources.append(_Source(path, fmt.name, opts))
        schemas.append(file_schema(fmt, path, opts))
    return Dataset._make(tuple(sources), unify_schemas(schemas))


class _CallableModule(type(os)):
    """``genomicframe.dataset`` is both this module and the :func:`dataset` function.

    Importing a submodule binds it as an attribute of the package, which would
    shadow the function ``gf.dataset``; calling the module calls the function.
    """

    def __call__(self, *args, **kwargs):
        return dataset(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule

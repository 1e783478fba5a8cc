"""``gf.scan(path)``: a lazy query plan over a :class:`~genomicframe.dataset.Dataset`.

Nothing is read until a ``to_*`` method runs; each step returns a new plan::

    >>> import genomicframe as gf                                   # doctest: +SKIP
    >>> q = gf.scan("calls.vcf.gz").filter("qual >= 30 and chrom == 'chr22'").select("pos", "ref")
    >>> print(q.explain())                                          # doctest: +SKIP
    >>> q.to_polars()                                               # doctest: +SKIP

:meth:`LazyScan.explain` says which filter terms choose index regions, which
the parser tests, and which are only applied afterwards (residual).  The
whole filter is always applied to every batch, so results never depend on
what was pushed down.
"""
from __future__ import annotations

import os
import re
import sys

__all__ = ["scan", "LazyScan"]


class LazyScan:
    """A lazy plan: dataset + filter + projection + row limit.  Build it with :func:`scan`."""

    def __init__(self, dataset, filter=None, columns=None, limit=None):
        self._ds = dataset
        self._filter = filter
        self._columns = columns
        self._limit = limit

    def _replace(self, **kw) -> "LazyScan":
        state = {"filter": self._filter, "columns": self._columns, "limit": self._limit}
        state.update(kw)
        return LazyScan(self._ds, **state)

    # building the plan
    @property
    def dataset(self):
        """The underlying :class:`~genomicframe.dataset.Dataset` (unfiltered)."""
        return self._ds

    @property
    def schema(self):
        """The schema of the result (after :meth:`select`)."""
        from .dataset import _projected_schema

        return _projected_schema(self._columns, self._ds.schema)

    def filter(self, expression) -> "LazyScan":
        """Keep rows where ``expression`` (a pyarrow Expression or a filter string) is true.

        Several ``filter`` calls combine with ``and``.  A filter after
        :meth:`limit` is applied to the limited rows, as in polars.
        """
        from .expressions import to_expression

        e = to_expression(expression, self._ds.schema)
        if self._limit is not None:
            return LazyScan(_Materialised(self), filter=e)
        return self._replace(filter=e if self._filter is None else self._filter & e)

    def select(self, *columns, **named) -> "LazyScan":
        """Keep these columns, in this order; ``info.AF`` picks a struct child.

        Keyword arguments name computed columns: ``select("pos", af=gf.field("info", "AF"))``.
        """
        cols = [c for group in columns for c in ([group] if isinstance(group, str) else group)]
        if named:
            import pyarrow.compute as pc

            spec = {c: pc.field(*c.split(".")) for c in cols}
            spec.update(named)
        else:
            spec = cols
        if self._columns is not None:
            known = self.schema.names
            missing = [c for c in cols if c not in known]
            if missing:
                raise KeyError(f"select: no column {missing[0]!r} after the previous select; "
                               f"columns are: {', '.join(known)}")
            if isinstance(self._columns, dict):
                prev = self._columns
                spec = {c: prev[c] for c in cols} if not named else {
                    **{c: prev[c] for c in cols}, **named}
        from .dataset import _projection

        _projection(spec, self._ds.schema)  # check names now, not at collect time
        return self._replace(columns=spec)

    def limit(self, n: int) -> "LazyScan":
        """At most ``n`` rows (the first ones in file order)."""
        if n < 0:
            raise ValueError("limit must be non-negative")
        return self._replace(limit=n if self._limit is None else min(n, self._limit))

    def head(self, n: int = 5):
        """The first ``n`` rows as a pyarrow Table."""
        return self.limit(n).to_arrow()

    # running it
    def _scanner(self, batch_size=None):
        from .dataset import DEFAULT_BATCH_SIZE

        return self._ds.scanner(columns=self._columns, filter=self._filter,
                                batch_size=batch_size or DEFAULT_BATCH_SIZE)

    def to_batches(self, batch_size: int | None = None):
        """Iterator of record batches."""
        it = self._scanner(batch_size).to_batches()
        if self._limit is None:
            return it
        return _limited(it, self._limit)

    def to_reader(self, batch_size: int | None = None):
        """A ``pyarrow.RecordBatchReader`` over the result."""
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(self.schema, self.to_batches(batch_size))

    def __arrow_c_stream__(self, requested_schema=None):
        return self.to_reader().__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self):
        return self.schema.__arrow_c_schema__()

    def to_arrow(self):
        """The result as a ``pyarrow.Table``."""
        import pyarrow as pa

        return pa.Table.from_batches(list(self.to_batches()), schema=self.schema)

    def to_pandas(self, **kwargs):
        """The result as a pandas DataFrame (``pyarrow.Table.to_pandas`` keywords)."""
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self, lazy: bool = False):
        """The result as a polars DataFrame, or with ``lazy=True`` a LazyFrame.

        The LazyFrame reads nothing until collected; polars' projection,
        predicate and row limit reach this plan (see :func:`genomicframe.io.polars.scan`).
        """
        if lazy:
            from .io.polars import scan as polars_scan

            return polars_scan(self)
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def count(self) -> int:
        """Number of result rows."""
        if self._limit is None:
            return self._ds.count_rows(filter=self._filter)
        return sum(b.num_rows for b in self._replace(columns=[]).to_batches())

    def stats(self):
        """One-pass summary statistics of the rows this plan selects.

        VCF gives a :class:`~genomicframe.formats.vcf_stats.VcfStats` (equal to
        ``bcftools stats`` SN/TSTV on the same rows).  Only the columns the
        statistics need are read; the plan's filter and limit apply, its
        ``select`` does not.

        Raises
        ------
        ValueError
            The format has no statistics.
        """
        import importlib

        ds = _root_dataset(self)
        names = sorted({s.format for s in ds._sources})
        if len(names) != 1 or names[0] not in STATS:
            raise ValueError(f"no statistics for {'/'.join(names)} files; available for: "
                             f"{', '.join(sorted(STATS))}")
        module, cls_name = STATS[names[0]]
        mod = importlib.import_module(module)
        cols = [c for c in mod.COLUMNS if c in ds.schema.names]
        if isinstance(self._ds, _Materialised):
            rows = LazyScan(self._ds, filter=self._filter)
            return getattr(mod, cls_name).from_batches(
                b.select([c for c in cols if c in b.schema.names]) for b in rows.to_batches())
        return getattr(mod, cls_name).from_batches(self._replace(columns=cols).to_batches())

    def to_parquet(self, path, partition_by=None, **kwargs) -> None:
        """Write the result as Parquet: one file, or a hive-partitioned directory.

        Parameters
        ----------
        path : str or os.PathLike
            A file, or (with ``partition_by``) a directory created as needed.
        partition_by : str or list of str, optional
            Columns that split the output into ``col=value/`` directories.
        **kwargs
            Passed to ``pyarrow.parquet.ParquetWriter`` (``compression=`` ...).
        """
        write_parquet(self.to_reader(), path, partition_by=partition_by, **kwargs)

    # explaining it
    def explain(self) -> str:
        """What a run reads: index regions, parser pushdown, residual terms, columns."""
        return _explain(self)

    def __repr__(self):
        return f"<genomicframe.LazyScan>\n{self.explain()}"


#: format name -> (module, class) of its one-pass statistics (the module has ``COLUMNS``)
STATS = {"vcf": ("genomicframe.formats.vcf_stats", "VcfStats")}


def _root_dataset(plan: LazyScan):
    ds = plan._ds
    while isinstance(ds, _Materialised):
        ds = ds._plan._ds
    return ds


class _Materialised:
    """A LazyScan with a limit, as a source for a further filter (filter after limit)."""

    def __init__(self, plan: LazyScan):
        self._plan = plan
        self.schema = plan.schema

    def scanner(self, columns=None, filter=None, batch_size=None):
        import pyarrow.dataset as pads

        table = self._plan.to_arrow()
        return pads.dataset(table).scanner(columns=columns, filter=filter,
                                           **({"batch_size": batch_size} if batch_size else {}))

    def count_rows(self, filter=None):
        return self.scanner(filter=filter).count_rows()

    @property
    def files(self):
        return self._plan._ds.files if hasattr(self._plan._ds, "files") else []


def _limited(batches, n: int):
    left = n
    if left == 0:
        return
    for b in batches:
        if b.num_rows >= left:
            yield b.slice(0, left)
            return
        left -= b.num_rows
        yield b


def write_parquet(reader, path, partition_by=None, progress=None, **kwargs) -> None:
    """Stream a RecordBatchReader to Parquet (hive partitions when ``partition_by`` is given)."""
    import pyarrow.parquet as pq

    path = os.fspath(path)
    if partition_by:
        import pyarrow.dataset as pads

        cols = [partition_by] if isinstance(partition_by, str) else list(partition_by)
        missing = [c for c in cols if c not in reader.schema.names]
        if missing:
            raise KeyError(f"partition_by: no column {missing[0]!r} in the result")
        pads.write_dataset(reader, path, format="parquet", partitioning=cols,
                           partitioning_flavor="hive", existing_data_behavior="overwrite_or_ignore",
                           file_options=pads.ParquetFileFormat().make_write_options(**kwargs))
        return
    with pq.ParquetWriter(path, reader.schema, **kwargs) as w:
        for b in reader:
            w.write_batch(b)
            if progress is not None:
                progress(b.num_rows)


# -- explain ----------------------------------------------------------------------------------
_NESTED = re.compile(r"FieldRef\.Nested\(((?:FieldRef\.Name\([^()]*\)\s*)+)\)")
_NAME = re.compile(r"FieldRef\.Name\(([^()]*)\)")


_ISIN = re.compile(r"is_in\(([^(),]+), \{value_set=[^:\[]+:\[ ?(.*?) ?\], "
                   r"null_matching_behavior=\w+\}\)")


def _show(expr) -> str:
    """An Expression's text for people: ``info.AF`` for struct paths, ``x in (...)`` for is_in."""
    text = str(expr)
    text = _NESTED.sub(lambda m: ".".join(_NAME.findall(m.group(1))), text)
    text = re.sub(r"\s*\n\s*", " ", text)
    return _ISIN.sub(lambda m: f"({m.group(1)} in ({m.group(2)}))", text)


def _fmt_num(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _show_pushdown(pd) -> list[str]:
    out = []
    for col, values in sorted(pd.isin.items()):
        out.append(f"{col} in {{{', '.join(sorted(map(str, values)))}}}")
    for col, r in sorted(pd.ranges.items()):
        lo = "" if r.lo == float("-inf") else f"{_fmt_num(r.lo)} {'<=' if r.lo_inclusive else '<'} "
        hi = "" if r.hi == float("inf") else f" {'<=' if r.hi_inclusive else '<'} {_fmt_num(r.hi)}"
        out.append(f"{lo}{col}{hi}")
    nn = sorted(pd.not_null - set(pd.isin) - set(pd.ranges))
    if nn:
        out.append("not null: " + ", ".join(nn))
    return out


def _region(r) -> str:
    c, s, e = r
    return f"{c}:[{s}, {'end' if e is None else e})"


def _explain(plan: LazyScan) -> str:
    from . import expressions as ex
    from . import formats
    from .dataset import Dataset, _projection, child_selection

    ds = plan._ds
    lines = []
    if not isinstance(ds, Dataset):
        lines.append("source: the result of a limited plan (in memory)")
        inner = _explain(ds._plan).splitlines()
        lines += ["  " + x for x in inner]
        if plan._filter is not None:
            lines.append(f"filter: {_show(plan._filter)} (applied in memory)")
        return "\n".join(lines)
    schema = ds.schema
    fmt_names = sorted({s.format for s in ds._sources})
    files = ds.files
    shown = ", ".join(os.path.basename(f) for f in files[:3]) + (
        f" and {len(files) - 3} more" if len(files) > 3 else "")
    lines.append(f"scan {'/'.join(fmt_names)}: {shown}")
    full = ds._filter if plan._filter is None else (
        plan._filter if ds._filter is None else ds._filter & plan._filter)
    base, _ = _projection(plan._columns, schema)
    read = set(base) | set(ex.referenced_columns(full, schema))
    out_names = plan.schema.names
    lines.append(f"columns:  {', '.join(out_names) if out_names else '(none)'}")
    fmt = formats.get(fmt_names[0])
    kids = child_selection(fmt, plan._columns, full, schema)
    read_names = ", ".join(f"{n}({', '.join(kids[n]) or '-'})" if n in kids else n
                           for n in schema.names if n in read) or "(none: row count)"
    lines.append(f"read:     {read_names}")
    p = ex.plan(full, schema, fmt.pushdown_columns, getattr(fmt, "position_offsets", None))
    frags = ds._fragments_for(plan._filter)
    indexed = any(f.spec.region is not None for f in frags)
    if full is None:
        lines.append("filter:   (none)")
    elif p.empty:
        lines.append("filter:   can never be true: nothing is read")
    if full is not None and not p.empty:
        if p.regions is None:
            lines.append("index:    not used (the filter does not pin chrom)")
        else:
            shown = ", ".join(_region(r) for r in p.regions[:5])
            if len(p.regions) > 5:
                shown += f" and {len(p.regions) - 5} more regions"
            if indexed:
                lines.append(f"index:    {shown}")
            else:
                lines.append(f"index:    none beside the file; {shown} read by a full scan")
        pd = _show_pushdown(p.pushdown)
        lines.append(f"parser:   {'; '.join(pd) if pd else '(nothing)'}")
        for t in p.terms:
            where = [w for w, on in (("index", t.index and indexed), ("parser", t.parser)) if on]
            lines.append(f"  term {_show(t.expression)} -> {' + '.join(where) or 'residual'}")
        if not p.understood:
            lines.append("  (the filter could not be analysed: it is all residual)")
        lines.append("exact:    the whole filter is applied again to every batch")
    lines.append(f"fragments: {len(frags)}")
    if plan._limit is not None:
        lines.append(f"limit:    {plan._limit}")
    return "\n".join(lines)


def scan(source, format=None, **options) -> LazyScan:
    """A lazy plan over a file, a list of files, or an existing Dataset.

    Parameters are those of :func:`genomicframe.dataset`.
    """
    from .dataset import Dataset, dataset

    ds = source if isinstance(source, Dataset) else dataset(source, format=format, **options)
    return LazyScan(ds)


class _CallableModule(type(sys)):
    """``genomicframe.scan`` is both this module and the :func:`scan` function."""

    def __call__(self, *args, **kwargs):
        return scan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

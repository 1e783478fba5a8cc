"""DuckDB: query a :class:`~genomicframe.dataset.Dataset` with SQL, pushdown included.

``con.register("calls", ds)`` works on its own, since a Dataset is a
``pyarrow.dataset.Dataset``: DuckDB passes the columns a query needs and the
predicates it can translate to :meth:`Dataset.scanner`.  For a pyarrow
Dataset DuckDB 2.0 keeps back any predicate a NaN could satisfy (``qual >=
30`` on a float column), because Parquet statistics pruning would get NaN
wrong; genomicframe never prunes by statistics and applies every filter
exactly, so :func:`register` registers the dataset through DuckDB's source
protocol (``duckdb._sources``) and accepts every predicate DuckDB can
translate to a pyarrow expression.  DuckDB then does not filter those rows
again: our scanner must be exact, and it is (STYLE principle 6).

The source protocol is private DuckDB API (checked with duckdb 2.0); when it
is missing, :func:`register` falls back to ``con.register``.

>>> import duckdb, genomicframe as gf                      # doctest: +SKIP
>>> con = duckdb.connect()                                 # doctest: +SKIP
>>> gf.io.duckdb.register(con, "calls", gf.dataset("calls.vcf.gz"))  # doctest: +SKIP
>>> con.sql("SELECT chrom, count(*) FROM calls WHERE qual >= 30 GROUP BY chrom")  # doctest: +SKIP
"""
from __future__ import annotations

__all__ = ["register", "source"]


def source(dataset):
    """A DuckDB scan source over ``dataset`` taking every predicate DuckDB translates exactly.

    Returns ``None`` when this DuckDB has no source protocol.
    """
    try:
        from duckdb._sources.nodes import Untranslatable
        from duckdb._sources.pyarrow import DatasetSource
        from duckdb._sources.to_arrow import to_arrow
    except ImportError:
        return None

    class GenomicFrameSource(DatasetSource):
        """Scans afresh per stream; applies each accepted predicate with pyarrow compute."""

        schema_is_stable = True

        def accepts(self, predicate) -> bool:
            try:
                to_arrow(predicate, self.declared_schema())
            except Untranslatable:
                return False
            return True

    return GenomicFrameSource(dataset)


def register(con, name: str, dataset):
    """Make ``dataset`` queryable as view ``name`` on DuckDB connection ``con``; returns ``con``.

    ``dataset`` is a :class:`~genomicframe.dataset.Dataset` or a path (opened
    with :func:`genomicframe.dataset`).
    """
    import os

    if isinstance(dataset, (str, os.PathLike)):
        from ..dataset import dataset as open_dataset

        dataset = open_dataset(dataset)
    src = source(dataset)
    hook = getattr(con, "_register_arrow_source", None)
    if src is None or hook is None:
        return con.register(name, dataset)
    return hook(name, src)

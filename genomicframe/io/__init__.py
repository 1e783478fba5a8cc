"""Thin adapters to other libraries; each imports its library only when called.

* :mod:`genomicframe.io.duckdb` — ``register(con, name, dataset)``: a DuckDB view
  whose column choice and WHERE clause reach the parser.
* :mod:`genomicframe.io.polars` — ``scan(dataset)``: a polars LazyFrame with
  projection, predicate and row-limit pushdown.
"""

"""Thin adapters to other libraries; each imports its library only when called.

* :mod:`genomicframe.io.duckdb` — ``register(con, name, dataset)``: a DuckDB view
  whose column choice and WHERE clause reach the parser.
* :mod:`genomicframe.io.polars` — ``scan(dataset)``: a polars LazyFrame with
  projection, predicate and row-limit pushdown.
"""
from __future__ import annotations

import importlib

_ADAPTERS = {"duckdb", "polars"}


def __getattr__(name: str):
    if name in _ADAPTERS:
        return importlib.import_module(f"genomicframe.io.{name}")
    raise AttributeError(f"module 'genomicframe.io' has no attribute {name!r}")

"""polars: a :class:`~genomicframe.dataset.Dataset` (or ``gf.scan`` plan) as a LazyFrame.

:func:`scan` registers the data with ``polars.io.plugins.register_io_source``.
When the LazyFrame is collected polars hands the source the columns it needs,
its predicate and a row limit:

* the columns go to the parser (plus those the predicate reads);
* the predicate is translated, where it can be, to a pyarrow Expression
  (comparisons of a column or struct field with a literal, ``is_in``,
  ``&``, ``|``, ``~``, ``is_null``/``is_not_null``) that is implied by it, so the scan can
  use the index and the parser's pushdown; then every batch is filtered with
  the polars predicate itself.  Polars does not filter again after a source
  that accepted its predicate, so the source is exact by construction, with
  polars' own semantics (NaN sorts above every number);
* the row limit stops the scan early.

``polars.scan_pyarrow_dataset(ds)`` works too, because a Dataset is a
``pyarrow.dataset.Dataset``; polars then builds the pyarrow filter itself.
"""
from __future__ import annotations

import json

__all__ = ["scan", "to_arrow_filter"]


def _schema(arrow_schema):
    import polars as pl

    return pl.from_arrow(arrow_schema.empty_table()).schema


def scan(source):
    """A polars LazyFrame over a Dataset, a ``gf.scan`` plan, or a path."""
    import os

    import polars as pl
    from polars.io.plugins import register_io_source

    from ..dataset import DEFAULT_BATCH_SIZE, Dataset
    from ..scan import LazyScan, scan as gf_scan

    if isinstance(source, (str, os.PathLike)):
        source = gf_scan(source)
    elif isinstance(source, Dataset):
        source = LazyScan(source)
    if not isinstance(source, LazyScan):
        raise TypeError("scan() takes a genomicframe Dataset, a gf.scan() plan or a path")
    plan = source
    out_schema = plan.schema
    names = out_schema.names

    def io_source(with_columns, predicate, n_rows, batch_size):
        wanted = list(names) if with_columns is None else list(with_columns)
        need = list(wanted)
        if predicate is not None:
            for c in predicate.meta.root_names():
                if c not in need:
                    need.append(c)
        keep_rows = not need  # no column asked (e.g. a row count): read one to keep row counts
        if keep_rows and names:
            need = [names[0]]
        q = plan.select(*need) if need != list(names) else plan
        flt = to_arrow_filter(predicate, plan.schema) if predicate is not None else None
        if flt is not None:
            q = q.filter(flt)
        if n_rows is not None and predicate is None:
            q = q.limit(n_rows)
        left = n_rows
        for b in q.to_batches(batch_size or DEFAULT_BATCH_SIZE):
            df = pl.from_arrow(b)
            if predicate is not None:
                df = df.filter(predicate)
            df = df.select(wanted)
            if left is not None:
                df = df.head(left)
                left -= df.height
            if df.height:
                yield df
            if left == 0:
                return

    files = plan.dataset.files if hasattr(plan.dataset, "files") else []
    extra = {}
    try:  # plan labels arrived in later polars versions
        import inspect

        accepted = inspect.signature(register_io_source).parameters
    except (TypeError, ValueError):
        accepted = {}
    if "explain_name" in accepted:
        extra["explain_name"] = "genomicframe"
    if "explain_detail" in accepted:
        extra["explain_detail"] = ", ".join(os.path.basename(f) for f in files[:3])
    return register_io_source(io_source, schema=_schema(out_schema), **extra)


# -- polars predicate -> pyarrow Expression ---------------------------------------------------
_OPS = {"Eq": "__eq__", "NotEq": "__ne__", "Lt": "__lt__", "LtEq": "__le__", "Gt": "__gt__",
        "GtEq": "__ge__"}
_SWAP = {"Eq": "Eq", "NotEq": "NotEq", "Lt": "Gt", "LtEq": "GtEq", "Gt": "Lt", "GtEq": "LtEq"}
_SCALARS = {"String", "Boolean", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
            "UInt64", "Float32", "Float64", "Int", "Float"}


class _Unknown(Exception):
    pass


def to_arrow_filter(predicate, schema):
    """A pyarrow Expression true wherever the polars ``predicate`` is true, or ``None``.

    Built from the predicate's JSON serialisation; parts it does not know are
    dropped from ``and`` (which only widens the result), and make ``or`` and
    ``not`` give up.  The caller still filters with the polars predicate.
    """
    try:
        tree = json.loads(predicate.meta.serialize(format="json"))
    except Exception:
        return None
    try:
        expr, _ = _convert(tree, schema)
    except (_Unknown, KeyError, TypeError, ValueError):
        return None
    return expr


def _convert(node, schema):
    """(expression or None, exact): ``node`` implies ``expression``; exact: they are equivalent."""
    if not isinstance(node, dict) or len(node) != 1:
        raise _Unknown
    (kind, body), = node.items()
    if kind == "BinaryExpr":
        op = body["op"]
        if op in ("And", "LogicalAnd"):
            a, ea = _safe(body["left"], schema)
            b, eb = _safe(body["right"], schema)
            parts = [x for x in (a, b) if x is not None]
            if not parts:
                return None, False
            return (parts[0] if len(parts) == 1 else parts[0] & parts[1]), (ea and eb)
        if op in ("Or", "LogicalOr"):
            a, ea = _convert(body["left"], schema)
            b, eb = _convert(body["right"], schema)
            if a is None or b is None:
                raise _Unknown
            return a | b, ea and eb
        if op in _OPS:
            return _comparison(body["left"], op, body["right"], schema), True
        raise _Unknown
    if kind == "Function":
        fn = body["function"]
        args = body["input"]
        if fn == {"Boolean": "Not"} and len(args) == 1:
            inner, exact = _convert(args[0], schema)
            if inner is None or not exact:
                raise _Unknown
            return ~inner, True
        if fn == {"Boolean": "IsNull"} and len(args) == 1:
            return _field(args[0], schema)[0].is_null(), True
        if fn == {"Boolean": "IsNotNull"} and len(args) == 1:
            return _field(args[0], schema)[0].is_valid(), True
        if isinstance(fn, dict) and isinstance(fn.get("Boolean"), dict) and \
                "IsIn" in fn["Boolean"] and len(args) == 2:
            return _isin(args[0], args[1], schema), True
    raise _Unknown


def _isin(column, values, schema):
    """``col.is_in([...])``: polars sends the values as an Arrow IPC stream inside the literal."""
    import pyarrow as pa

    col, typ = _field(column, schema)
    try:
        raw = bytes(values["Literal"]["Scalar"]["List"])
        items = pa.ipc.open_stream(raw).read_all().column(0).to_pylist()
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        raise _Unknown from None
    if any(v is None for v in items):
        raise _Unknown  # whether null matches null depends on nulls_equal
    is_str = pa.types.is_string(typ) or pa.types.is_large_string(typ)
    if is_str and all(isinstance(v, str) for v in items):
        return col.isin(items)
    if (pa.types.is_integer(typ) and items
            and all(isinstance(v, int) and not isinstance(v, bool) for v in items)):
        return col.isin(pa.array(items, typ))
    raise _Unknown


def _safe(node, schema):
    try:
        return _convert(node, schema)
    except (_Unknown, KeyError, TypeError, ValueError):
        return None, False


def _field(node, schema):
    """(pc.field, arrow type) for a column or a chain of struct fields."""
    import pyarrow as pa
    import pyarrow.compute as pc

    path = []
    while True:
        if not isinstance(node, dict) or len(node) != 1:
            raise _Unknown
        (kind, body), = node.items()
        if kind == "Column" and isinstance(body, str):
            path.insert(0, body)
            break
        if kind == "Function" and isinstance(body.get("function"), dict) and \
                body["function"].get("StructExpr", {}) and len(body["input"]) == 1:
            sub = body["function"]["StructExpr"]
            if not isinstance(sub, dict) or "FieldByName" not in sub:
                raise _Unknown
            path.insert(0, sub["FieldByName"])
            node = body["input"][0]
            continue
        raise _Unknown
    if path[0] not in schema.names:
        raise _Unknown
    typ = schema.field(path[0]).type
    for name in path[1:]:
        if not pa.types.is_struct(typ) or typ.get_field_index(name) < 0:
            raise _Unknown
        typ = typ.field(name).type
    return pc.field(*path), typ


def _literal(node):
    if not isinstance(node, dict) or set(node) != {"Literal"}:
        raise _Unknown
    lit = node["Literal"]
    if not isinstance(lit, dict) or len(lit) != 1:
        raise _Unknown
    (_, inner), = lit.items()  # "Dyn" or "Scalar"
    if not isinstance(inner, dict) or len(inner) != 1:
        raise _Unknown
    (kind, value), = inner.items()
    if kind not in _SCALARS or isinstance(value, (dict, list)) or value is None:
        raise _Unknown
    if isinstance(value, float) and value != value:
        raise _Unknown
    return value


def _comparison(left, op, right, schema):
    import pyarrow as pa

    try:
        col, typ = _field(left, schema)
        value = _literal(right)
    except _Unknown:
        col, typ = _field(right, schema)
        value = _literal(left)
        op = _SWAP[op]
    if isinstance(value, str) != (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        raise _Unknown
    if isinstance(value, bool) != pa.types.is_boolean(typ):
        raise _Unknown
    e = getattr(col, _OPS[op])(value)
    if pa.types.is_floating(typ) and op in ("Gt", "GtEq"):
        e = e | (col != col)  # polars sorts NaN above every number
    return e

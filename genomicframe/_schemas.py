"""Schemas of multi-file datasets: unify them, and conform each file's batches to the result."""
from __future__ import annotations

import pyarrow as pa

from .formats.base import FragmentSpec

__all__ = ["conform_array", "conform_batch", "file_schema", "unify_schemas"]


def unify_schemas(schemas: list) -> pa.Schema:
    """One schema for several files: columns in first-seen order, struct fields merged.

    Types must agree or be promotable (``int32`` and ``int64`` give ``int64``);
    struct columns (VCF ``info``) get the union of their fields.
    """
    if len(schemas) == 1:
        return schemas[0]
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise TypeError(f"the files' schemas cannot be combined: {exc}") from None
    # a column or struct field some file lacks is filled with nulls there, so it is nullable
    fields = [_nullable_where_missing(f, [s.field(f.name) if f.name in s.names else None
                                          for s in schemas]) for f in unified]
    return pa.schema(fields, metadata=unified.metadata)


def _nullable_where_missing(f: pa.Field, found: list) -> pa.Field:
    typ = f.type
    if pa.types.is_struct(typ):
        children = []
        for i in range(typ.num_fields):
            child = typ.field(i)
            sub = [o.type.field(child.name) if o is not None and pa.types.is_struct(o.type)
                   and o.type.get_field_index(child.name) >= 0 else None for o in found]
            children.append(_nullable_where_missing(child, sub))
        typ = pa.struct(children)
    nullable = f.nullable or any(o is None for o in found)
    return pa.field(f.name, typ, nullable, f.metadata)


def conform_array(arr, typ):
    """``arr`` cast to ``typ``; struct fields it lacks are filled with nulls."""
    if arr.type.equals(typ):
        return arr
    if pa.types.is_struct(typ) and pa.types.is_struct(arr.type):
        if isinstance(arr, pa.ChunkedArray):
            return pa.chunked_array([conform_array(c, typ) for c in arr.chunks], typ)
        have = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
        children = []
        for i in range(typ.num_fields):
            f = typ.field(i)
            if f.name in have:
                children.append(conform_array(arr.field(have[f.name]), f.type))
            else:
                children.append(pa.nulls(len(arr), f.type))
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(children, fields=list(typ), mask=mask)
    return arr.cast(typ)


def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns: cast, struct fields filled, absent ones null."""
    if batch.schema.equals(schema):
        return batch
    names = batch.schema.names
    cols = []
    for f in schema:
        if f.name in names:
            cols.append(conform_array(batch.column(names.index(f.name)), f.type))
        else:
            cols.append(pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def file_schema(fmt, path: str, options: tuple = ()) -> pa.Schema:
    """The schema ``fmt`` reads ``path`` with under ``options``.

    ``FileFormat.inspect(path)`` knows no options; a format whose schema
    depends on them (VCF ``samples=``) offers ``schema_for(fragment)``.
    """
    schema_for = getattr(fmt, "schema_for", None)
    if options and schema_for is not None:
        return schema_for(FragmentSpec(path, fmt.name, options=options))
    return fmt.inspect(path)

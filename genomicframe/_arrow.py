"""Column buffers -> Arrow arrays without copies.

Parsers fill numpy arrays and byte buffers; these helpers wrap them with
``pa.Array.from_buffers``.  Every Arrow buffer made here is backed by the
Python object that owns the memory (``pa.py_buffer`` keeps it alive), so the
arrays stay valid after the parser moves on (STYLE principle 4).

String and list offsets are int32 while the data fits in 2 GiB and switch to
int64 (``large_string`` / ``large_list``) past that; :func:`offsets_dtype`
tells a parser which to allocate.

>>> import numpy as np
>>> arr = strings(np.array([0, 3, 3, 7], dtype=np.int32), b"chrchr22", valid=np.array([1, 0, 1], bool))
>>> arr.to_pylist()
['chr', None, 'chr2']
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = [
    "INT32_LIMIT", "offsets_dtype", "buffer", "validity_bitmap", "primitive", "booleans",
    "strings", "binaries", "lists", "structs", "record_batch",
]

#: largest byte count addressable with int32 offsets
INT32_LIMIT = 2**31 - 1


def offsets_dtype(nbytes: int) -> np.dtype:
    """int32 offsets for up to 2 GiB of data, int64 beyond."""
    return np.dtype(np.int32) if nbytes <= INT32_LIMIT else np.dtype(np.int64)


def buffer(obj) -> pa.Buffer | None:
    """Zero-copy Arrow buffer over a numpy array, bytes, bytearray or memoryview."""
    if obj is None:
        return None
    if isinstance(obj, pa.Buffer):
        return obj
    if isinstance(obj, np.ndarray) and not obj.flags.c_contiguous:
        raise ValueError("Arrow buffers need C-contiguous arrays")
    return pa.py_buffer(obj)


def validity_bitmap(valid) -> tuple[pa.Buffer | None, int]:
    """LSB-first validity bitmap from a boolean mask; ``(None, 0)`` when all valid.

    Returns ``(buffer, null_count)``.  A ``pa.Buffer`` passed in is taken as an
    existing bitmap (null count then computed by Arrow).
    """
    if valid is None:
        return None, 0
    if isinstance(valid, pa.Buffer):
        return valid, -1
    valid = np.asarray(valid, dtype=bool)
    nulls = int(valid.size - np.count_nonzero(valid))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def primitive(values: np.ndarray, valid=None, type: pa.DataType | None = None) -> pa.Array:
    """Fixed-width array over ``values`` (no copy); ``valid`` is a boolean mask or bitmap.

    >>> primitive(np.array([1.5, 0.0], np.float32), valid=np.array([True, False])).to_pylist()
    [1.5, None]
    """
    values = np.ascontiguousarray(values)
    if type is None:
        type = pa.from_numpy_dtype(values.dtype)
    bitmap, nulls = validity_bitmap(valid)
    return pa.Array.from_buffers(type, len(values), [bitmap, buffer(values)], null_count=nulls)


def booleans(values, valid=None) -> pa.Array:
    """Boolean array from a numpy bool mask (bit-packed: Arrow booleans are bits).

    >>> booleans(np.array([True, False, True])).to_pylist()
    [True, False, True]
    """
    values = np.asarray(values, dtype=bool)
    bitmap, nulls = validity_bitmap(valid)
    data = pa.py_buffer(np.packbits(values, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), len(values), [bitmap, data], null_count=nulls)


def _var(type32, type64, offsets, data, valid) -> pa.Array:
    offsets = np.ascontiguousarray(offsets)
    if offsets.dtype == np.int32:
        type_ = type32
    elif offsets.dtype == np.int64:
        type_ = type64
    else:
        raise TypeError(f"offsets must be int32 or int64, not {offsets.dtype}")
    n = len(offsets) - 1
    if n < 0:
        raise ValueError("offsets need at least one entry")
    bitmap, nulls = validity_bitmap(valid)
    return pa.Array.from_buffers(type_, n, [bitmap, buffer(offsets), buffer(data)], null_count=nulls)


def strings(offsets: np.ndarray, data, valid=None) -> pa.Array:
    """UTF-8 strings: ``data[offsets[i]:offsets[i+1]]`` (int32 -> string, int64 -> large_string)."""
    return _var(pa.string(), pa.large_string(), offsets, data, valid)


def binaries(offsets: np.ndarray, data, valid=None) -> pa.Array:
    """Binary values, like :func:`strings` but without UTF-8 meaning."""
    return _var(pa.binary(), pa.large_binary(), offsets, data, valid)


def lists(offsets: np.ndarray, values: pa.Array, valid=None) -> pa.Array:
    """List array: row ``i`` is ``values[offsets[i]:offsets[i+1]]`` (int64 offsets -> large_list).

    >>> lists(np.array([0, 2, 2, 3], np.int32), pa.array([1, 2, 3])).to_pylist()
    [[1, 2], [], [3]]
    """
    offsets = np.ascontiguousarray(offsets)
    if offsets.dtype == np.int32:
        type_ = pa.list_(values.type)
    elif offsets.dtype == np.int64:
        type_ = pa.large_list(values.type)
    else:
        raise TypeError(f"offsets must be int32 or int64, not {offsets.dtype}")
    bitmap, nulls = validity_bitmap(valid)
    return pa.Array.from_buffers(type_, len(offsets) - 1, [bitmap, buffer(offsets)],
                                 null_count=nulls, children=[values])


def structs(fields: dict[str, pa.Array], length: int | None = None, valid=None,
            type: pa.DataType | None = None) -> pa.Array:
    """Struct array from child arrays (no copy).

    ``type`` gives the struct type to use (child nullability and metadata as in a
    schema, so that building a record batch needs no cast); by default the children's
    types, nullable.

    >>> structs({"AF": pa.array([0.5]), "DB": pa.array([True])}).to_pylist()
    [{'AF': 0.5, 'DB': True}]
    """
    names = list(fields)
    children = [fields[n] for n in names]
    if length is None:
        if not children:
            raise ValueError("an empty struct needs an explicit length")
        length = len(children[0])
    type_ = type if type is not None else pa.struct(
        [pa.field(n, c.type) for n, c in zip(names, children)])
    bitmap, nulls = validity_bitmap(valid)
    return pa.Array.from_buffers(type_, length, [bitmap], null_count=nulls, children=children)


def record_batch(columns: dict[str, pa.Array], schema: pa.Schema | None = None) -> pa.RecordBatch:
    """Record batch from named arrays, cast-free: ``schema`` must match the arrays' types."""
    if schema is None:
        return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)

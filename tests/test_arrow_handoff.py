"""The buffers -> Arrow handoff is zero-copy (proved by buffer addresses) and correct."""
import numpy as np
import pyarrow as pa
import pytest

from genomicframe import _arrow


def test_primitive_zero_copy_and_nulls():
    values = np.arange(10, dtype=np.int64)
    valid = np.ones(10, bool)
    valid[3] = False
    arr = _arrow.primitive(values, valid)
    assert arr.buffers()[1].address == values.ctypes.data
    assert arr.null_count == 1
    assert arr.to_pylist()[:4] == [0, 1, 2, None]
    arr.validate(full=True)


def test_all_valid_has_no_bitmap():
    arr = _arrow.primitive(np.zeros(3, np.float32), np.ones(3, bool))
    assert arr.buffers()[0] is None and arr.null_count == 0


def test_strings_zero_copy_int32_and_int64():
    data = bytearray(b"chr1chr22chrX")
    off32 = np.array([0, 4, 9, 13], dtype=np.int32)
    a = _arrow.strings(off32, data)
    assert a.type == pa.string()
    assert a.buffers()[1].address == off32.ctypes.data
    assert a.buffers()[2].address == pa.py_buffer(data).address
    assert a.to_pylist() == ["chr1", "chr22", "chrX"]
    b = _arrow.strings(off32.astype(np.int64), data)
    assert b.type == pa.large_string()
    assert b.to_pylist() == a.to_pylist()


def test_offsets_switch_past_2gib():
    assert _arrow.offsets_dtype(2**31 - 1) == np.int32
    assert _arrow.offsets_dtype(2**31) == np.int64


def test_lists_and_structs_keep_children():
    values = np.array([1.0, 2.0, 3.0])
    child = _arrow.primitive(values)
    offs = np.array([0, 2, 2, 3], dtype=np.int32)
    lst = _arrow.lists(offs, child, valid=np.array([True, False, True]))
    assert lst.to_pylist() == [[1.0, 2.0], None, [3.0]]
    assert lst.values.buffers()[1].address == values.ctypes.data
    st = _arrow.structs({"x": lst, "flag": _arrow.booleans(np.array([1, 0, 1], bool))})
    assert st.to_pylist()[1] == {"x": None, "flag": False}
    st.validate(full=True)


def test_owner_outlives_local_reference():
    def make():
        vals = np.arange(1000, dtype=np.int32)
        return _arrow.primitive(vals)

    arr = make()
    import gc

    gc.collect()
    assert arr.to_pylist()[999] == 999


def test_bad_offsets_dtype():
    with pytest.raises(TypeError):
        _arrow.strings(np.array([0, 1], dtype=np.uint16), b"a")

# Parser output memory handed to Python: see _owned.pyx.
from genomicframe._parsers._buffers cimport Buf


cdef class Owned:
    cdef char* data
    cdef Py_ssize_t size
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]


cdef Owned take(Buf* b)

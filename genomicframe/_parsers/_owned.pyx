"""Ownership of parser output: a C buffer becomes a Python object that frees it.

A kernel fills :c:type:`Buf` memory; :func:`take` moves the pointer into an
:class:`Owned`, which exposes it through the buffer protocol (so ``numpy.frombuffer``
and ``pyarrow.py_buffer`` wrap it without copying and keep it alive) and frees it
in ``__dealloc__`` (STYLE principle 4).
"""
from libc.stdlib cimport free, realloc

from genomicframe._parsers._buffers cimport Buf


cdef class Owned:
    """Memory taken from a parser buffer; exposes it with the buffer protocol and frees it."""

    def __len__(self):
        return self.size

    def __getbuffer__(self, Py_buffer* view, int flags):
        self.shape[0] = self.size
        self.strides[0] = 1
        view.buf = self.data if self.data != NULL else <char*>&self.shape[0]
        view.obj = self
        view.len = self.size
        view.readonly = 0
        view.itemsize = 1
        view.format = "B"
        view.ndim = 1
        view.shape = self.shape
        view.strides = self.strides
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass

    def __dealloc__(self):
        free(self.data)


cdef Owned take(Buf* b):
    """Move ``b``'s memory into a new :class:`Owned`; spare capacity beyond a page is
    given back first (shrinking in place: no copy)."""
    cdef Owned o = Owned.__new__(Owned)
    cdef char* p
    if b.cap - b.len > 4096 and b.len > 0:
        p = <char*>realloc(b.data, b.len)
        if p != NULL:
            b.data = p
            b.cap = b.len
    o.data = b.data
    o.size = b.len
    b.data = NULL
    b.len = 0
    b.cap = 0
    return o

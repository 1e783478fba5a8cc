# Growable byte buffers for the text parsers.
#
# A Buf is plain C memory (malloc/realloc) that a nogil kernel appends to.  When
# a kernel is done, the Python-facing module hands the pointer to an owner
# object (see vcf.pyx `Owned`) that frees it in __dealloc__, so Arrow buffers
# made over it stay valid (STYLE principle 4).  Every append reserves first and
# reports allocation failure with -1; kernels turn that into a status code.
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from libc.stdint cimport uint8_t, int16_t, int32_t, int64_t


cdef struct Buf:
    char* data
    Py_ssize_t len   # bytes used
    Py_ssize_t cap   # bytes allocated


cdef inline int buf_reserve(Buf* b, Py_ssize_t extra) noexcept nogil:
    """Make room for ``extra`` more bytes; 0 on success, -1 when out of memory."""
    cdef Py_ssize_t need = b.len + extra
    cdef Py_ssize_t cap
    cdef char* p
    if need <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 256
    while cap < need:
        cap *= 2
    p = <char*>realloc(b.data, cap)
    if p == NULL:
        return -1
    b.data = p
    b.cap = cap
    return 0


cdef inline void buf_free(Buf* b) noexcept nogil:
    free(b.data)
    b.data = NULL
    b.len = 0
    b.cap = 0


cdef inline int buf_bytes(Buf* b, const char* src, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef char* d
    if b.len + n > b.cap and buf_reserve(b, n):
        return -1
    d = b.data + b.len
    if n <= 16:   # short strings: a loop beats a memcpy call
        for i in range(n):
            d[i] = src[i]
    else:
        memcpy(d, src, n)
    b.len += n
    return 0


cdef inline int buf_u8(Buf* b, uint8_t v) noexcept nogil:
    if b.len >= b.cap and buf_reserve(b, 1):
        return -1
    b.data[b.len] = <char>v
    b.len += 1
    return 0


cdef inline int buf_i16(Buf* b, int16_t v) noexcept nogil:
    if b.len + 2 > b.cap and buf_reserve(b, 2):
        return -1
    (<int16_t*>(b.data + b.len))[0] = v
    b.len += 2
    return 0


cdef inline int buf_i32(Buf* b, int32_t v) noexcept nogil:
    if b.len + 4 > b.cap and buf_reserve(b, 4):
        return -1
    (<int32_t*>(b.data + b.len))[0] = v
    b.len += 4
    return 0


cdef inline int buf_i64(Buf* b, int64_t v) noexcept nogil:
    if b.len + 8 > b.cap and buf_reserve(b, 8):
        return -1
    (<int64_t*>(b.data + b.len))[0] = v
    b.len += 8
    return 0


cdef inline int buf_f32(Buf* b, float v) noexcept nogil:
    if b.len + 4 > b.cap and buf_reserve(b, 4):
        return -1
    (<float*>(b.data + b.len))[0] = v
    b.len += 4
    return 0

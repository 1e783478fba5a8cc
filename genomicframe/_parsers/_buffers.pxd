# Growable byte buffers for the text parsers.
#
# A Buf is plain C memory (malloc/realloc) that a nogil kernel appends to.  When
# a kernel is done, the Python-facing module hands the pointer to an owner
# object (see vcf.pyx `Owned`) that frees it in __dealloc__, so Arrow buffers
# made over it stay valid (STYLE principle 4).  Every append reserves first and
# reports allocation failure with -1; kernels turn that into a status code.
# Validity bytes are written lazily (buf_valid): an empty validity buffer means all valid.
#
# The appends are written in C and forced inline: they run once per value in
# the hot loops, where a function call costs more than the append itself.  Only
# the growth path (realloc) is an out-of-line call.
from libc.stdint cimport uint8_t, int16_t, int32_t, int64_t

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #include <stdint.h>
    #ifndef GF_BUFFERS_H
    #define GF_BUFFERS_H
    #if defined(__GNUC__)
    #define GF_INLINE static inline __attribute__((always_inline))
    #define GF_NOINLINE static __attribute__((noinline))
    #else
    #define GF_INLINE static inline
    #define GF_NOINLINE static
    #endif
    typedef struct { char *data; Py_ssize_t len; Py_ssize_t cap; } gf_buf;

    GF_NOINLINE int gf_buf_grow(gf_buf *b, Py_ssize_t extra) {
        Py_ssize_t need = b->len + extra, cap = b->cap ? b->cap * 2 : 256;
        char *p;
        while (cap < need) cap *= 2;
        p = (char *)realloc(b->data, (size_t)cap);
        if (p == NULL) return -1;
        b->data = p;
        b->cap = cap;
        return 0;
    }
    #if defined(__GNUC__)
    #define GF_UNLIKELY(x) __builtin_expect(!!(x), 0)
    #else
    #define GF_UNLIKELY(x) (x)
    #endif
    GF_INLINE int gf_buf_reserve(gf_buf *b, Py_ssize_t extra) {
        return GF_UNLIKELY(b->len + extra > b->cap) ? gf_buf_grow(b, extra) : 0;
    }
    GF_INLINE void gf_buf_free(gf_buf *b) {
        free(b->data);
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
    }
    GF_INLINE int gf_buf_bytes(gf_buf *b, const char *src, Py_ssize_t n) {
        char *d;
        Py_ssize_t i;
        if (GF_UNLIKELY(b->len + n > b->cap) && gf_buf_grow(b, n)) return -1;
        d = b->data + b->len;
        if (n <= 16) { for (i = 0; i < n; i++) d[i] = src[i]; }
        else memcpy(d, src, (size_t)n);
        b->len += n;
        return 0;
    }
    /* Append n bytes from src when up to 16 bytes from src may be read (src + 16 <= limit
       or n > 16): short text is copied with one fixed-size (branch-free) 16-byte copy. */
    GF_INLINE int gf_buf_text(gf_buf *b, const char *src, Py_ssize_t n, const char *limit) {
        if (GF_UNLIKELY(b->len + n + 16 > b->cap) && gf_buf_grow(b, n + 16)) return -1;
        if (n <= 16 && limit - src >= 16) memcpy(b->data + b->len, src, 16);
        else memcpy(b->data + b->len, src, (size_t)n);
        b->len += n;
        return 0;
    }
    #define GF_BUF_PUT(name, type)                                              \\
        GF_INLINE int name(gf_buf *b, type v) {                                 \\
            if (b->len + (Py_ssize_t)sizeof(type) > b->cap                      \\
                    && gf_buf_grow(b, (Py_ssize_t)sizeof(type))) return -1;     \\
            memcpy(b->data + b->len, &v, sizeof(type));                         \\
            b->len += (Py_ssize_t)sizeof(type);                                 \\
            return 0;                                                           \\
        }
    GF_BUF_PUT(gf_buf_u8, uint8_t)
    /* A validity byte, written lazily: the buffer stays empty while every value is
       valid (the reader then needs no bitmap); the first null writes ``n`` ones for
       the ``n`` values before it.  So the buffer is empty or holds one byte per value. */
    GF_INLINE int gf_buf_valid(gf_buf *b, Py_ssize_t n, uint8_t ok) {
        if (b->len == 0) {
            if (ok) return 0;
            if (n + 1 > b->cap && gf_buf_grow(b, n + 1)) return -1;
            memset(b->data, 1, (size_t)n);
            b->len = n;
        }
        return gf_buf_u8(b, ok);
    }
    GF_BUF_PUT(gf_buf_i16, int16_t)
    GF_BUF_PUT(gf_buf_i32, int32_t)
    GF_BUF_PUT(gf_buf_i64, int64_t)
    GF_BUF_PUT(gf_buf_f32, float)
    #endif
    """
    ctypedef struct Buf "gf_buf":
        char* data
        Py_ssize_t len     # bytes used
        Py_ssize_t cap     # bytes allocated

    int buf_reserve "gf_buf_reserve"(Buf* b, Py_ssize_t extra) noexcept nogil
    void buf_free "gf_buf_free"(Buf* b) noexcept nogil
    int buf_bytes "gf_buf_bytes"(Buf* b, const char* src, Py_ssize_t n) noexcept nogil
    int buf_text "gf_buf_text"(Buf* b, const char* src, Py_ssize_t n,
                               const char* limit) noexcept nogil
    int buf_u8 "gf_buf_u8"(Buf* b, uint8_t v) noexcept nogil
    int buf_valid "gf_buf_valid"(Buf* b, Py_ssize_t n, uint8_t ok) noexcept nogil
    int buf_i16 "gf_buf_i16"(Buf* b, int16_t v) noexcept nogil
    int buf_i32 "gf_buf_i32"(Buf* b, int32_t v) noexcept nogil
    int buf_i64 "gf_buf_i64"(Buf* b, int64_t v) noexcept nogil
    int buf_f32 "gf_buf_f32"(Buf* b, float v) noexcept nogil

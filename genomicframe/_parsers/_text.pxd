# Checked number parsing over (start, end) byte ranges, shared by the text parsers.
#
# Integers: optional sign, then digits only; overflow is detected, not wrapped.
# Floats: a fast exact path (Clinger: at most 19 significant digits and a
# power of ten up to 1e22 give a correctly rounded double), else strtod on a
# NUL-terminated copy.  The double is then rounded to float32, which is what
# htslib does (strtod, then a cast), so values round-trip the same way.
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport strtod
from libc.string cimport memchr, memcpy

cdef extern from *:
    """
    static const double GF_POW10[23] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    """
    const double GF_POW10[23]

# Byte search in short fields: eight bytes at a time (SWAR), which beats both a
# byte loop and a memchr call for the 2-100 byte fields of text formats.
cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    #ifndef GF_TEXT_FIND_H
    #define GF_TEXT_FIND_H
    #define GF_ONES 0x0101010101010101ULL
    #define GF_HIGHS 0x8080808080808080ULL
    static inline __attribute__((always_inline))
    const char *gf_find(const char *p, const char *e, char ch) {
        uint64_t pat = GF_ONES * (unsigned char)ch, v, t;
        while (e - p >= 8) {
            memcpy(&v, p, 8);
            v ^= pat;
            t = (v - GF_ONES) & ~v & GF_HIGHS;
            if (t) return p + (__builtin_ctzll(t) >> 3);
            p += 8;
        }
        while (p < e && *p != ch) p++;
        return p;
    }
    static inline __attribute__((always_inline))
    const char *gf_find2(const char *p, const char *e, char a, char b) {
        uint64_t pa = GF_ONES * (unsigned char)a, pb = GF_ONES * (unsigned char)b, v, x, y, t;
        while (e - p >= 8) {
            memcpy(&v, p, 8);
            x = v ^ pa;
            y = v ^ pb;
            t = ((x - GF_ONES) & ~x & GF_HIGHS) | ((y - GF_ONES) & ~y & GF_HIGHS);
            if (t) return p + (__builtin_ctzll(t) >> 3);
            p += 8;
        }
        while (p < e && *p != a && *p != b) p++;
        return p;
    }
    #endif
    """
    const char* swar_find "gf_find"(const char* p, const char* e, char ch) noexcept nogil
    const char* find2 "gf_find2"(const char* p, const char* e, char a, char b) noexcept nogil

# parse results
cdef enum:
    NUM_OK = 0
    NUM_BAD = 1        # not a number
    NUM_OVERFLOW = 2   # a valid integer outside int64


cdef inline int parse_i64(const char* p, const char* e, int64_t* out) noexcept nogil:
    """Parse ``[p, e)`` as a decimal integer (optional sign)."""
    cdef bint neg = False
    cdef uint64_t v = 0
    cdef unsigned int d
    if p < e and (p[0] == 45 or p[0] == 43):  # '-' '+'
        neg = p[0] == 45
        p += 1
    if p >= e:
        return NUM_BAD
    while p < e:
        d = <unsigned char>p[0] - 48
        if d > 9:
            return NUM_BAD
        if v > 922337203685477580ULL or (v == 922337203685477580ULL and d > <unsigned int>(7 + neg)):
            # keep scanning so "12x" past the limit is still reported as bad
            p += 1
            while p < e:
                if <unsigned int>(<unsigned char>p[0] - 48) > 9:
                    return NUM_BAD
                p += 1
            return NUM_OVERFLOW
        v = v * 10 + d
        p += 1
    out[0] = -<int64_t>v if neg else <int64_t>v
    return NUM_OK


cdef inline const char* fast_f64(const char* p, const char* e, double* out) noexcept nogil:
    """Scan a plain decimal number at ``p`` (up to the first byte that cannot continue it).

    Returns where it stopped, with the correctly rounded value in ``out``; NULL
    when the exact fast path does not apply (no digit, too many digits, a large
    exponent, nan/inf): then :func:`parse_f64` must read the whole token."""
    cdef const char* q = p
    cdef bint neg = False
    cdef uint64_t mant = 0
    cdef int ndig = 0
    cdef int exp10 = 0
    cdef int eexp = 0
    cdef bint eneg = False
    cdef bint any_digit = False
    cdef unsigned int d
    cdef double v
    if q < e and (q[0] == 45 or q[0] == 43):
        neg = q[0] == 45
        q += 1
    while q < e:
        d = <unsigned char>q[0] - 48
        if d > 9:
            break
        any_digit = True
        if ndig < 19:
            if mant or d:
                mant = mant * 10 + d
                ndig += 1
        else:
            exp10 += 1
        q += 1
    if q < e and q[0] == 46:  # '.'
        q += 1
        while q < e:
            d = <unsigned char>q[0] - 48
            if d > 9:
                break
            any_digit = True
            if ndig < 19:
                if mant or d:
                    mant = mant * 10 + d
                    ndig += 1
                exp10 -= 1
            q += 1
    if not any_digit or ndig >= 19 or mant >= (1ULL << 53):
        return NULL
    if q < e and (q[0] == 101 or q[0] == 69):  # 'e' 'E'
        q += 1
        if q < e and (q[0] == 45 or q[0] == 43):
            eneg = q[0] == 45
            q += 1
        if q >= e or <unsigned int>(<unsigned char>q[0] - 48) > 9:
            return NULL
        while q < e:
            d = <unsigned char>q[0] - 48
            if d > 9:
                break
            if eexp < 100000:
                eexp = eexp * 10 + d
            q += 1
        exp10 += -eexp if eneg else eexp
    if mant == 0:
        out[0] = -0.0 if neg else 0.0
        return q
    if exp10 < -22 or exp10 > 22:
        return NULL
    v = <double>mant
    if exp10 >= 0:
        v = v * GF_POW10[exp10]
    else:
        v = v / GF_POW10[-exp10]
    out[0] = -v if neg else v
    return q


cdef inline int parse_f64(const char* p, const char* e, double* out) noexcept nogil:
    """Parse all of ``[p, e)`` as a decimal floating-point number (strtod syntax)."""
    cdef char tmp[64]
    cdef char* endp
    cdef Py_ssize_t n
    cdef double v
    if fast_f64(p, e, out) == e:
        return NUM_OK
    # slow path: nan, inf, long mantissas, big exponents
    n = e - p
    if n <= 0 or n >= 64:
        return NUM_BAD
    memcpy(tmp, p, n)
    tmp[n] = 0
    v = strtod(tmp, &endp)
    if endp != tmp + n or tmp[0] == 32 or tmp[0] == 9:
        return NUM_BAD
    out[0] = v
    return NUM_OK


cdef inline int parse_f32(const char* p, const char* e, float* out) noexcept nogil:
    cdef double v
    cdef int st = parse_f64(p, e, &v)
    if st == NUM_OK:
        out[0] = <float>v
    return st


cdef inline const char* find(const char* p, const char* e, char ch) noexcept nogil:
    """First ``ch`` in [p, e), or e: a loop over the first bytes (most values are short and
    a memchr call costs more), then memchr."""
    cdef const char* stop = p + 16 if e - p > 16 else e
    cdef const char* q
    while p < stop:
        if p[0] == ch:
            return p
        p += 1
    if p >= e:
        return e
    q = <const char*>memchr(p, ch, e - p)
    return q if q != NULL else e


cdef inline bint same(const char* a, const char* b, Py_ssize_t n) noexcept nogil:
    """``a[:n] == b[:n]`` for short keys."""
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef inline bint is_dot(const char* s, const char* e) noexcept nogil:
    return e - s == 1 and s[0] == 46

# Checked number parsing over (start, end) byte ranges, shared by the text parsers.
#
# Integers: optional sign, then digits only; overflow is detected, not wrapped.
# Floats: a fast exact path (Clinger: at most 19 digits and a power of ten up
# to 1e22 give a correctly rounded double), else strtod on a NUL-terminated copy.
# The double is then rounded to float32, which is what htslib does (strtod, then
# a cast), so values round-trip the same way.
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport strtod
from libc.string cimport memchr, memcpy

# Digits eight at a time (SWAR): find how many of the next eight bytes are digits and
# combine them with three multiplies; the fast float path is Clinger's (at most 19
# digits and a power of ten up to 1e22 give a correctly rounded double).
cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    #ifndef GF_TEXT_NUM_H
    #define GF_TEXT_NUM_H
    static const double GF_POW10[23] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    static const uint64_t GF_IPOW10[9] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

    /* How many of the 8 bytes at p are leading digits (0-8), their value in *val. */
    static inline __attribute__((always_inline))
    int gf_digits8(const char *p, uint64_t *val) {
        uint64_t x, t, m;
        int n;
        memcpy(&x, p, 8);
        /* t: each byte minus '0'; a digit byte gives 0-9, anything else sets the high bit
           of (t + 0x76) or of t.  Borrows and carries only run towards later bytes, so the
           bytes before the first non-digit are exact. */
        t = x - 0x3030303030303030ULL;
        m = ((t + 0x7676767676767676ULL) | t) & 0x8080808080808080ULL;
        n = m ? (__builtin_ctzll(m) >> 3) : 8;
        if (n == 0) { *val = 0; return 0; }
        x = t << ((8 - n) * 8);   /* the n digit values, in the top bytes */
        x = (x * 2561) >> 8;
        x = ((x & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
        *val = ((x & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
        return n;
    }

    /* The decimal digits at s (before e): returns their end; *val is exact while
       *nd <= 19 (*nd counts every digit, leading zeros included). */
    static inline __attribute__((always_inline))
    const char *gf_digits(const char *s, const char *e, uint64_t *val, int *nd) {
        uint64_t v = 0, w;
        unsigned d;
        int n, total = 0;
        while (e - s >= 8) {
            n = gf_digits8(s, &w);
            v = v * GF_IPOW10[n] + w;
            s += n;
            total += n;
            if (n < 8) { *val = v; *nd = total; return s; }
        }
        while (s < e && (d = (unsigned char)*s - 48u) <= 9) { v = v * 10 + d; s++; total++; }
        *val = v;
        *nd = total;
        return s;
    }

    /* A plain decimal at s: [sign] digits [. digits] [e [sign] digits], correctly rounded
       to double.  Returns its end, or NULL when strtod must decide (no digit, more than 19
       digits, a large exponent, nan/inf, '.'). */
    static inline const char *gf_fast_f64(const char *s, const char *e, double *out) {
        uint64_t m, f;
        int nd, nf = 0, neg = 0, ex = 0, eneg = 0;
        unsigned d;
        double v;
        if (s < e && (*s == '-' || *s == '+')) { neg = *s == '-'; s++; }
        s = gf_digits(s, e, &m, &nd);
        if (s < e && *s == '.') {
            s = gf_digits(s + 1, e, &f, &nf);
            if (nd + nf > 19) return NULL;
            m = m * (nf <= 8 ? GF_IPOW10[nf] : (uint64_t)GF_POW10[nf]) + f;
        }
        if (nd + nf == 0 || nd > 19) return NULL;
        if (s < e && (*s | 32) == 'e') {
            s++;
            if (s < e && (*s == '-' || *s == '+')) { eneg = *s == '-'; s++; }
            if (s >= e || (unsigned)((unsigned char)*s - 48u) > 9) return NULL;
            while (s < e && (d = (unsigned char)*s - 48u) <= 9) {
                if (ex < 10000) ex = ex * 10 + (int)d;
                s++;
            }
            if (eneg) ex = -ex;
        }
        ex -= nf;
        if (m == 0) v = 0.0;
        else if (m > 9007199254740992ULL || ex < -22 || ex > 22) return NULL;
        else if (ex >= 0) v = (double)m * GF_POW10[ex];
        else v = (double)m / GF_POW10[-ex];
        *out = neg ? -v : v;
        return s;
    }
    /* The most common number forms, in one or two eight-byte steps: 1-7 digits
       (gf_num_uint), or 1-7 digits, optionally '.' and 0-7 digits (gf_num_float).  Bytes
       up to ``lim`` may be read.  Returns where the number ends (the caller checks the
       delimiter), or NULL: then the general parser decides (also when fewer than eight
       bytes may be read). */
    static inline __attribute__((always_inline))
    const char *gf_num_uint(const char *s, const char *lim, uint64_t *val) {
        int n;
        if (lim - s < 8) return NULL;
        n = gf_digits8(s, val);
        return (n == 0 || n == 8) ? NULL : s + n;
    }
    /* 1-15 digits (positions), in one or two eight-byte steps; as gf_num_uint. */
    static inline __attribute__((always_inline))
    const char *gf_num_uint15(const char *s, const char *lim, uint64_t *val) {
        uint64_t w;
        int n, m;
        if (lim - s < 8) return NULL;
        n = gf_digits8(s, val);
        if (n == 0) return NULL;
        if (n < 8) return s + n;
        if (lim - s < 16) return NULL;
        m = gf_digits8(s + 8, &w);
        if (m == 8) return NULL;
        *val = *val * GF_IPOW10[m] + w;
        return s + 8 + m;
    }
    static inline __attribute__((always_inline))
    const char *gf_num_float(const char *s, const char *lim, double *out) {
        uint64_t ip, fp;
        int n, m;
        if (lim - s < 8) return NULL;
        n = gf_digits8(s, &ip);
        if (n == 0 || n == 8) return NULL;
        s += n;
        if (*s == '.') {
            s++;
            if (lim - s < 8) return NULL;
            m = gf_digits8(s, &fp);
            if (m == 8) return NULL;
            /* below 1e15 < 2**53 and an exact power of ten: one correctly rounded division */
            *out = (double)(ip * GF_IPOW10[m] + fp) / GF_POW10[m];
            return s + m;
        }
        *out = (double)ip;
        return s;
    }
    #endif
    """
    const double GF_POW10[23]
    const char* num_uint "gf_num_uint"(const char* s, const char* lim, uint64_t* val) noexcept nogil
    const char* num_uint15 "gf_num_uint15"(const char* s, const char* lim,
                                           uint64_t* val) noexcept nogil
    const char* num_float "gf_num_float"(const char* s, const char* lim,
                                         double* out) noexcept nogil
    const char* digits "gf_digits"(const char* s, const char* e, uint64_t* val,
                                   int* nd) noexcept nogil
    const char* fast_f64 "gf_fast_f64"(const char* s, const char* e, double* out) noexcept nogil

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

# The first separators (tabs of a line, ';' of INFO) in one pass, 32 bytes per step: a
# bit mask of them
# (SSE2 compares, or a SWAR fallback), then one position per set bit.  This
# replaces one search per field, whose loop exits mispredict on fields of varying
# length.  Loads may read up to ``lim`` (the end of the chunk), past the line end.
cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    #ifndef GF_TEXT_TABS_H
    #define GF_TEXT_TABS_H
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    static inline __attribute__((always_inline))
    uint32_t gf_mask32(const char *b, char ch) {
    #if defined(__SSE2__)
        const __m128i t = _mm_set1_epi8(ch);
        __m128i v0 = _mm_loadu_si128((const __m128i *)b);
        __m128i v1 = _mm_loadu_si128((const __m128i *)(b + 16));
        return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, t))
            | ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, t)) << 16);
    #else
        uint32_t m = 0;
        int i;
        for (i = 0; i < 32; i++) m |= (uint32_t)(b[i] == ch) << i;
        return m;
    #endif
    }
    /* Positions of up to ``max`` bytes ``ch`` in [p, le) into ``pos``; returns how many. */
    static inline __attribute__((always_inline))
    int gf_split(const char *p, const char *le, const char *lim, char ch, const char **pos,
                 int max) {
        int n = 0, i;
        uint32_t m;
        while (p < le) {
            if (lim - p >= 32) m = gf_mask32(p, ch);
            else {
                m = 0;
                for (i = 0; i < lim - p && i < 32; i++) m |= (uint32_t)(p[i] == ch) << i;
            }
            if (le - p < 32) m &= (1u << (le - p)) - 1u;
            while (m) {
                pos[n++] = p + __builtin_ctz(m);
                if (n == max) return n;
                m &= m - 1u;
            }
            p += 32;
        }
        return n;
    }
    /* One line from p (before lim): up to ``max`` tab positions into ``pos`` (their count
       in *ntab) and the end of the line (its '\\n', or lim) as the result.  Tabs and the
       newline come from the same masks; once ``max`` tabs are found, memchr finds the end. */
    static inline __attribute__((always_inline))
    const char *gf_line(const char *p, const char *lim, const char **pos, int max, int *ntab) {
        int n = 0, i;
        uint32_t m, nl;
        const char *q;
        while (p < lim) {
            if (lim - p >= 32) {
                m = gf_mask32(p, '\\t');
                nl = gf_mask32(p, '\\n');
            } else {
                m = nl = 0;
                for (i = 0; i < lim - p; i++) {
                    m |= (uint32_t)(p[i] == '\\t') << i;
                    nl |= (uint32_t)(p[i] == '\\n') << i;
                }
            }
            if (nl) m &= (nl & (0u - nl)) - 1u;   /* tabs before the first newline */
            while (m && n < max) {
                pos[n++] = p + __builtin_ctz(m);
                m &= m - 1u;
            }
            if (nl) {
                *ntab = n;
                return p + __builtin_ctz(nl);
            }
            p += 32;
            if (n == max) {
                *ntab = n;
                if (p >= lim) return lim;
                q = (const char *)memchr(p, '\\n', (size_t)(lim - p));
                return q ? q : lim;
            }
        }
        *ntab = n;
        return lim;
    }
    #endif
    """
    const char* line "gf_line"(const char* p, const char* lim, const char** pos, int max,
                               int* ntab) noexcept nogil
    int split "gf_split"(const char* p, const char* le, const char* lim, char ch,
                         const char** pos, int max) noexcept nogil

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


cdef inline const char* gt_allele(const char* s, const char* e, int64_t nallele,
                                  int64_t* out) noexcept nogil:
    """Read one GT allele at ``s``: '.' gives -1, digits the index; an index at or
    beyond ``nallele`` reads as missing (-1), as in htslib.  Returns the position
    after it, or NULL when no allele starts at ``s``."""
    cdef int64_t a
    cdef unsigned int d
    if s < e and s[0] == 46:
        out[0] = -1
        return s + 1
    if s >= e or <unsigned int>(<unsigned char>s[0] - 48) > 9:
        return NULL
    a = 0
    while s < e:
        d = <unsigned char>s[0] - 48
        if d > 9:
            break
        if a < 1000000:
            a = a * 10 + d
        s += 1
    out[0] = -1 if a >= nallele else a
    return s

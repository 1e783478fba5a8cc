# VCF value kernels shared by vcf.pyx (table path) and vcf_gt.pyx (genotype path).
#
# A Col is one INFO or FORMAT output column: leaf values, their string
# offsets and validity, the offsets/validity of the innermost lists, and for
# FORMAT the per-row offsets into samples.  Missing integers and floats are
# stored as htslib's own sentinels (INT32_MIN, the float NaN 0x7F800001) and
# turned into validity bitmaps in Python.
from libc.stdint cimport uint8_t, int16_t, int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memchr, memset

from genomicframe._parsers._buffers cimport (
    Buf, buf_reserve, buf_bytes, buf_u8, buf_valid, buf_i16, buf_i32, buf_f32)
from genomicframe._parsers._text cimport (
    find, same, is_dot, digits, gt_allele, parse_i64, parse_f32, fast_f64, NUM_OK, NUM_OVERFLOW)

cdef extern from *:
    """
    #define GF_MISSING_F32 0x7F800001u
    """
    uint32_t MISSING_F32 "GF_MISSING_F32"

# status codes (genomicframe._parsers.vcf exposes them as the Python enum Status)
cdef enum:
    ST_OK = 0
    ST_NOMEM = 1
    ST_FEW_COLUMNS = 2      # value: number of columns found
    ST_BAD_POS = 3
    ST_BAD_QUAL = 4
    ST_BAD_INFO = 5         # value: INFO column index
    ST_BAD_FORMAT = 6       # value: FORMAT column index
    ST_BAD_GT = 7
    ST_BLANK_LINE = 8
    ST_SAMPLE_FIELDS = 9    # a sample has more ':' fields than FORMAT
    ST_TOO_MANY_SAMPLES = 10
    ST_BAD_CHROM = 11
    ST_DUP_FORMAT = 12
    ST_GT_NOT_FIRST = 13
    ST_PLOIDY = 14          # genotype path: value = ploidy needed
    ST_ALLELE_RANGE = 15    # genotype path: allele index > 127

cdef enum:
    _K_FLAG = 0
    _K_INT = 1
    _K_FLOAT = 2
    _K_STR = 3
    _K_GT = 4
    # int32 values htslib reserves (missing, end-of-vector, ...): read as missing
    INT32_MIN_VALID = -2147483640
    MISSING_I32 = -2147483648


cdef struct Col:
    int kind
    int is_list
    int fmt
    int64_t stamp
    int64_t nleaf       # leaf values so far (string offsets index)
    int64_t nlist       # innermost lists so far
    int64_t nsamp       # sample entries so far (FORMAT only)
    Buf vals            # leaf values (int32 / float32 / uint8 / int16 / string bytes)
    Buf voff            # int32 string offsets (strings only)
    Buf vvalid          # uint8 per leaf (written lazily: empty when all valid)
    Buf loff            # int32 offsets of innermost lists
    Buf lvalid          # uint8 per innermost list (lazy)
    Buf soff            # int32 per-row offsets into samples (FORMAT only)
    Buf svalid          # uint8 per row (FORMAT only; lazy)
    Buf phased          # uint8 per sample (GT only)


cdef inline int leaf_null(Col* c) noexcept nogil:
    """A missing value.  Integers and floats store a sentinel (htslib's own: INT32_MIN and
    the float NaN 0x7F800001) instead of a validity byte; Python builds the bitmap."""
    cdef uint32_t bits = MISSING_F32
    c.nleaf += 1
    if c.kind == _K_INT:
        return buf_i32(&c.vals, MISSING_I32)
    if c.kind == _K_FLOAT:
        return buf_f32(&c.vals, (<float*>&bits)[0])
    if buf_valid(&c.vvalid, c.nleaf - 1, 0):
        return -1
    if c.kind == _K_STR:
        return buf_i32(&c.voff, <int32_t>c.vals.len)
    return buf_u8(&c.vals, 0)


cdef inline int leaf(Col* c, const char* s, const char* e) noexcept nogil:
    """Append one value; returns 0, -1 (out of memory) or 1 (not of the column's type)."""
    cdef int64_t iv
    cdef float fv
    cdef int st
    if c.kind == _K_FLAG:   # never null: no validity bytes
        c.nleaf += 1
        return buf_u8(&c.vals, 1)
    if s == e or is_dot(s, e):
        return leaf_null(c)
    if c.kind == _K_INT:
        st = parse_i64(s, e, &iv)
        if st == NUM_OVERFLOW or (st == NUM_OK and (iv > 2147483647 or iv < INT32_MIN_VALID)):
            return leaf_null(c)   # htslib: extreme values are read as missing
        if st != NUM_OK:
            return 1
        c.nleaf += 1
        return buf_i32(&c.vals, <int32_t>iv)
    if c.kind == _K_FLOAT:
        if parse_f32(s, e, &fv) != NUM_OK:
            return 1
        c.nleaf += 1
        return buf_f32(&c.vals, fv)
    if buf_valid(&c.vvalid, c.nleaf, 1) or buf_bytes(&c.vals, s, e - s):
        return -1
    c.nleaf += 1
    return buf_i32(&c.voff, <int32_t>c.vals.len)


cdef inline int close_list(Col* c, uint8_t valid) noexcept nogil:
    if buf_valid(&c.lvalid, c.nlist, valid):
        return -1
    c.nlist += 1
    return buf_i32(&c.loff, <int32_t>c.nleaf)


cdef inline const char* delim(const char* s, const char* e, char stop) noexcept nogil:
    """First ',' or ``stop`` in [s, e), or e (values are short: a byte loop)."""
    while s < e and s[0] != 44 and s[0] != stop:
        s += 1
    return s


# The numeric value kernels reserve once per value (a text of n bytes holds at most
# n // 2 + 1 comma-separated items), then store without per-item growth checks.

cdef inline int int_values(Col* c, const char* s, const char* e, char stop,
                           const char** endp) noexcept nogil:
    """Integers (or '.') separated by ',' from ``s`` up to ``stop`` or ``e``.

    Returns 0, -1 (out of memory) or 1 (not integers, or several for a scalar)."""
    cdef Py_ssize_t n = e - s
    cdef const char* q
    cdef int32_t* out
    cdef uint64_t v
    cdef int nd, first = 1
    cdef bint neg
    if buf_reserve(&c.vals, n * 2 + 4):
        return -1
    out = <int32_t*>(c.vals.data + c.vals.len)
    while True:
        if not first:
            if not c.is_list:
                endp[0] = s
                return 1   # several values where the header says Number=1
            s += 1
        first = 0
        neg = False
        if s < e and (s[0] == 45 or s[0] == 43):
            neg = s[0] == 45
            s += 1
            if s >= e or <unsigned int>(<unsigned char>s[0] - 48) > 9:
                endp[0] = s
                return 1
        q = s
        s = digits(s, e, &v, &nd)
        if nd > 18:   # maybe past uint64: leading zeros or a huge number
            while q < s and q[0] == 48:
                q += 1
            v = 1ULL << 40   # out of range: read as missing below
            if s - q <= 10:
                v = 0
                while q < s:
                    v = v * 10 + <unsigned char>q[0] - 48
                    q += 1
        elif nd == 0 and s < e and s[0] == 46:   # '.'
            s += 1
        if s < e and s[0] != 44 and s[0] != stop:
            endp[0] = s
            return 1
        if nd == 0 or v > (2147483640ULL if neg else 2147483647ULL):
            out[0] = MISSING_I32   # '.', empty, or an extreme value (htslib: missing)
        else:
            out[0] = -<int32_t>v if neg else <int32_t>v
        out += 1
        c.nleaf += 1
        if s >= e or s[0] != 44:
            break
    c.vals.len = (<char*>out) - c.vals.data
    endp[0] = s
    return 0


cdef inline int float_values(Col* c, const char* s, const char* e, char stop,
                             const char** endp) noexcept nogil:
    """Floats (or '.') separated by ',' from ``s`` up to ``stop`` or ``e``; rounded to
    float32 from the correctly rounded double, as htslib does (strtod, then a cast)."""
    cdef Py_ssize_t n = e - s
    cdef const char* q
    cdef double v
    cdef int first = 1, st
    if buf_reserve(&c.vals, n * 2 + 4):
        return -1
    while True:
        if not first:
            if not c.is_list:
                endp[0] = s
                return 1   # several values where the header says Number=1
            s += 1
        first = 0
        q = fast_f64(s, e, &v)
        if q != NULL and (q >= e or q[0] == 44 or q[0] == stop):
            (<float*>(c.vals.data + c.vals.len))[0] = <float>v
            c.vals.len += 4
            c.nleaf += 1
            s = q
        else:   # '.', nan, inf, long or extreme numbers, or not a number
            q = delim(s, e, stop)
            st = leaf(c, s, q)
            s = q
            if st:
                endp[0] = s
                return st
        if s >= e or s[0] != 44:
            break
    endp[0] = s
    return 0


cdef inline int value_to(Col* c, const char* s, const char* e, char stop, const char** endp) noexcept nogil:
    """One INFO value or FORMAT sample value starting at ``s``, ending at ``stop`` or ``e``.

    A scalar, or a ','-separated list; ``*endp`` is set to where it ended.
    Returns 0, -1 (out of memory) or 1 (does not match the header)."""
    cdef const char* t
    cdef int st
    if c.is_list and (s >= e or s[0] == stop):
        endp[0] = s
        return close_list(c, 1)   # "KEY=" : an empty list (htslib)
    if c.kind == _K_INT:
        st = int_values(c, s, e, stop, endp)
    elif c.kind == _K_FLOAT:
        st = float_values(c, s, e, stop, endp)
    elif not c.is_list:
        t = find(s, e, stop)
        endp[0] = t
        return leaf(c, s, t)
    else:
        while True:
            t = delim(s, e, stop)
            st = leaf(c, s, t)
            s = t
            if st:
                endp[0] = s
                return st
            if s >= e or s[0] != 44:
                break
            s += 1
        endp[0] = s
    if st or not c.is_list:
        return st
    return close_list(c, 1)


cdef inline int value(Col* c, const char* s, const char* e) noexcept nogil:
    """A value that is all of [s, e)."""
    cdef const char* t
    cdef int st = value_to(c, s, e, 0, &t)
    if st == 0 and t != e:
        return 1
    return st


cdef inline int missing(Col* c) noexcept nogil:
    """A row (INFO) or sample (FORMAT) without this key."""
    if c.kind == _K_FLAG:   # never null: no validity bytes
        c.nleaf += 1
        return buf_u8(&c.vals, 0)
    if c.is_list or c.kind == _K_GT:
        if c.kind == _K_GT and buf_u8(&c.phased, 0):
            return -1
        return close_list(c, 0)
    return leaf_null(c)


cdef inline int valid_run(Buf* b, int64_t before, int64_t n) noexcept nogil:
    """``n`` null bytes after ``before`` values, written lazily as :func:`buf_valid` does."""
    if b.len == 0:
        if buf_reserve(b, before + n):
            return -1
        memset(b.data, 1, before)
        b.len = before
    elif buf_reserve(b, n):
        return -1
    memset(b.data + b.len, 0, n)
    b.len += n
    return 0


cdef inline int fill_i32(Buf* b, int32_t v, int64_t n) noexcept nogil:
    """Append ``n`` copies of ``v``."""
    cdef int32_t* out
    cdef int64_t i
    if buf_reserve(b, n * 4):
        return -1
    out = <int32_t*>(b.data + b.len)
    for i in range(n):
        out[i] = v
    b.len += n * 4
    return 0


cdef inline int missing_run(Col* c, int64_t n) noexcept nogil:
    """``n`` INFO rows without this key: what ``n`` calls of :func:`missing` append, in bulk."""
    cdef int st
    if c.kind == _K_FLAG:
        if buf_reserve(&c.vals, n):
            return -1
        memset(c.vals.data + c.vals.len, 0, n)
        c.vals.len += n
        c.nleaf += n
        return 0
    if c.is_list:
        if valid_run(&c.lvalid, c.nlist, n) or fill_i32(&c.loff, <int32_t>c.nleaf, n):
            return -1
        c.nlist += n
        return 0
    if c.kind == _K_INT:
        st = fill_i32(&c.vals, MISSING_I32, n)
    elif c.kind == _K_FLOAT:
        st = fill_i32(&c.vals, <int32_t>MISSING_F32, n)
    else:
        st = valid_run(&c.vvalid, c.nleaf, n) or fill_i32(&c.voff, <int32_t>c.vals.len, n)
    c.nleaf += n
    return -1 if st else 0


cdef inline int gt_value(Col* c, const char* s, const char* e, int64_t nallele) noexcept nogil:
    """GT: allele indices (-1 for '.') and one phase flag (every separator is '|').

    An index beyond the record's alleles reads as missing, as in htslib."""
    cdef int64_t a
    cdef bint phased = True
    cdef int nsep = 0
    if s < e and (s[0] == 124 or s[0] == 47):   # VCF 4.4 explicit phase of the first allele
        phased = s[0] == 124
        nsep += 1
        s += 1
    if s >= e:
        return 1
    while True:
        s = gt_allele(s, e, nallele, &a)
        if s == NULL or a > 32767:
            return 1
        c.nleaf += 1
        if buf_i16(&c.vals, <int16_t>a):
            return -1
        if s >= e:
            break
        if s[0] == 124:
            nsep += 1
        elif s[0] == 47:
            nsep += 1
            phased = False
        else:
            return 1
        s += 1
    if buf_u8(&c.phased, phased and nsep > 0):
        return -1
    return close_list(c, 1)


cdef inline int close_samples(Col* c, uint8_t valid) noexcept nogil:
    if buf_valid(&c.svalid, c.soff.len // 4 - 1, valid):   # soff: one more than rows
        return -1
    return buf_i32(&c.soff, <int32_t>c.nsamp)

"""VCF genotype-only kernel: GT of the selected samples -> an int8/int16 array.

Only the columns needed to reach GT are split; other FORMAT keys and INFO are
never looked at.  The output grows in a C buffer handed to Python as an
:class:`~genomicframe._parsers._owned.Owned` (rows x samples x ploidy).
"""
from libc.stdint cimport uint8_t, int16_t, int32_t, int64_t
from libc.string cimport memchr, memset

from genomicframe._parsers._buffers cimport Buf, buf_reserve
from genomicframe._parsers._owned cimport Owned, take
from genomicframe._parsers._text cimport find, gt_allele, is_dot
from genomicframe._parsers._vcfcols cimport (
    ST_BAD_GT, ST_BLANK_LINE, ST_FEW_COLUMNS, ST_NOMEM, ST_PLOIDY, ST_ALLELE_RANGE)


cdef struct GtState:
    Buf out            # int8 (or int16 when wide): rows x nsel x ploidy
    int ploidy
    int wide
    int nsamples
    int nsel
    const int32_t* slot
    int64_t nrows
    int64_t lines
    int64_t err_line
    Py_ssize_t err_start
    Py_ssize_t err_end
    int64_t err_value


cdef int gt_sample(GtState* g, char* o, const char* s, const char* e, int64_t nallele) noexcept nogil:
    """Write one GT into ``o`` (ploidy bytes: alleles, -1 missing, -2 padding)."""
    cdef int k = 0
    cdef int64_t a
    if s < e and (s[0] == 124 or s[0] == 47):
        s += 1
    if s >= e:
        return ST_BAD_GT
    while True:
        s = gt_allele(s, e, nallele, &a)
        if s == NULL:
            return ST_BAD_GT
        if a > 127 and not g.wide:
            g.err_value = a
            return ST_ALLELE_RANGE
        if a > 32767:
            return ST_BAD_GT
        if k >= g.ploidy:
            g.err_value = k + 1
            return ST_PLOIDY
        if g.wide:
            (<int16_t*>o)[k] = <int16_t>a
        else:
            o[k] = <char>a
        k += 1
        if s >= e:
            break
        if s[0] != 124 and s[0] != 47:
            return ST_BAD_GT
        s += 1
        # count what is left so the ploidy error names the size needed
    return 0


cdef int gt_line(GtState* g, const char* p, const char* le) noexcept nogil:
    cdef const char* q = p
    cdef const char* t
    cdef const char* u
    cdef char* row
    cdef int nf = 0, i, st
    cdef int64_t nallele = 1
    cdef int item = 2 if g.wide else 1
    cdef Py_ssize_t width = <Py_ssize_t>g.nsel * g.ploidy * item
    cdef Py_ssize_t j
    while True:
        t = find(q, le, 9)
        nf += 1
        if nf == 5 and not is_dot(q, t):
            u = q
            while u < t:
                nallele += 1
                u = find(u, t, 44) + 1
        if nf == 9 or t >= le:
            break
        q = t + 1
    if nf < 8:
        g.err_value = nf
        return ST_FEW_COLUMNS
    if buf_reserve(&g.out, width):
        return ST_NOMEM
    row = g.out.data + g.out.len
    memset(row, -1, width)
    g.out.len += width
    g.nrows += 1
    if nf < 9:
        return 0
    # q is the FORMAT column; GT, when present, must be its first key
    t = find(q, le, 9)
    u = find(q, t, 58)
    if not (u - q == 2 and q[0] == 71 and q[1] == 84):
        return 0
    q = t + 1
    for i in range(g.nsamples):
        if q > le:
            break
        t = find(q, le, 9)
        if g.slot[i] >= 0:
            u = find(q, t, 58)
            if g.wide:
                for j in range(g.ploidy):
                    (<int16_t*>row)[g.slot[i] * g.ploidy + j] = -2
            else:
                memset(row + g.slot[i] * g.ploidy, -2, g.ploidy)
            st = gt_sample(g, row + g.slot[i] * g.ploidy * item, q, u, nallele)
            if st:
                g.err_start, g.err_end = q - p, u - p
                return st
        q = t + 1
    return 0


def gt_chunk(const uint8_t[::1] data, const int32_t[::1] slots, int nsel, int ploidy,
             bint wide=False):
    """Genotypes of whole lines: ``(status, nrows, lines, err_line, err_start, err_end,
    err_value, Owned buffer rows x nsel x ploidy)`` of int8, or int16 when ``wide``."""
    cdef GtState g
    cdef Py_ssize_t n = data.shape[0]
    cdef const char* base
    cdef const char* p
    cdef const char* end
    cdef const char* eol
    cdef const char* le
    cdef int st = 0
    memset(&g, 0, sizeof(GtState))
    g.ploidy = ploidy
    g.wide = wide
    g.nsamples = slots.shape[0]
    g.nsel = nsel
    g.slot = &slots[0] if slots.shape[0] else NULL
    if n:
        base = <const char*>&data[0]
        with nogil:
            p = base
            end = base + n
            while p < end:
                eol = <const char*>memchr(p, 10, end - p)
                if eol == NULL:
                    eol = end
                le = eol
                if le > p and (le - 1)[0] == 13:
                    le -= 1
                if le == p:
                    st = ST_BLANK_LINE
                    g.err_start = g.err_end = p - base
                    g.err_line = g.lines
                    break
                if p[0] != 35:
                    st = gt_line(&g, p, le)
                    if st:
                        g.err_line = g.lines
                        g.err_start += p - base
                        g.err_end += p - base
                        if g.err_end <= g.err_start:
                            g.err_start, g.err_end = p - base, le - base
                        break
                g.lines += 1
                p = eol + 1
    return (st, g.nrows, g.lines, g.err_line, g.err_start, g.err_end, g.err_value, take(&g.out))

"""FASTA index kernels: scan inflated text for records, hash names, format .fai/.loc lines.

:class:`FaiScanner` follows htslib's ``fai_build_core`` rules for FASTA (so the
``.fai`` it feeds is byte-identical to ``samtools faidx``): a record starts at a
``>`` at the beginning of a line; its name is the first run of non-space bytes
after it; every sequence line but the last has the same length; a blank line or
a shorter line ends the sequence, and only a header or blank lines may follow.
Sequence bases are the printable non-space bytes (``isgraph``), so ``\\r`` of a
CRLF file counts in the line width but not in the bases.

The scanner is fed consecutive buffers; its state lives in a C struct, so
records, names and lines may straddle buffer (and BGZF block) boundaries.  It
returns status codes; genomicframe.fasta.index turns them into exceptions.
Finished records are kept in file order as 40-byte rows: the record's ``.gfi``
slot (name hash, offsets and line lengths packed as the index stores them) and
its header's line number.  Names are kept only until the builder has used them
(:meth:`FaiScanner.release`), so the scan's memory is 40 bytes per record.
"""
from libc.stdint cimport uint8_t, int32_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memchr, memcpy, memcmp, memmove, memset

from genomicframe._parsers._gfi cimport (GfiKey, gfi_hash, gfi_home, gfi_seq_off, gfi_flags,
                                         gfi_length, gfi_line_width, GFI_OFF_BITS,
                                         GFI_LEN_BITS)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize

# status codes (mirrored in genomicframe/fasta/_status.py)
cdef enum:
    ST_OK = 0
    ST_UNEXPECTED = 1    # a byte that cannot start a line outside a sequence
    ST_DIFF_LEN = 2      # a sequence line longer than the record's first line
    ST_CR = 3            # '\r' not followed by '\n' on an otherwise blank line
    ST_NO_SEQ_LAST = 4   # the file ends in a header or after a header-only record
    ST_EMPTY = 5         # no record at all
    ST_FASTQ = 6         # '@' where a header is expected: FASTQ, not FASTA
    ST_NOMEM = 7

# why the scanner is between records (for error wording)
cdef enum:
    WHY_START = 0        # before the first record
    WHY_SHORT = 1        # after a line shorter than the record's first line
    WHY_BLANK = 2        # after a blank line inside a record

cdef enum:
    S_OUT = 0
    S_OUT_CR = 1
    S_NAME_LEAD = 2
    S_NAME = 3
    S_HDR_REST = 4
    S_SEQ = 5
    S_SEQ_LINE = 6

# A finished record: its .gfi slot (name hash; first-base offset with the FLAG_* bits in
# the top byte; bases with LINEWIDTH - LINEBASES in the top 16 bits; LINEBASES; header
# line length) and the 1-based line number of its header.  A record ends where the next
# one's '>' is (the last one at the end of the data).
cdef struct GfRow:
    GfiKey key
    int64_t line_no

#: u64 words per row (as :meth:`FaiScanner.views` shows them)
ROW_WORDS = sizeof(GfRow) // 8

cdef GfRow _no_row


cdef object _empty_rows():
    """Zero rows (a 0 x ROW_WORDS view)."""
    cdef uint64_t[:, ::1] v = <uint64_t[:1, :sizeof(GfRow) // 8]> (<uint64_t*>&_no_row)
    return v[:0]
cdef enum:
    # the record has no sequence line: htslib leaves it out of the .fai
    FLAG_NO_SEQ_ = 1
    # a sequence line holds bytes that are not bases (spaces, tabs, control bytes)
    FLAG_ODD_BYTES_ = 2
    # the sequence lines end in CRLF
    FLAG_CRLF_ = 4

FLAG_NO_SEQ = FLAG_NO_SEQ_
FLAG_ODD_BYTES = FLAG_ODD_BYTES_
FLAG_CRLF = FLAG_CRLF_


cdef inline bint _isspace(uint8_t c) noexcept nogil:
    return c == 32 or (9 <= c <= 13)


cdef struct ScanState:
    int state
    int why
    int64_t line_no
    int64_t why_line
    bint has_rec
    bint read_done
    int64_t hdr_off
    int64_t hdr_line
    int64_t seq_off
    int64_t seq_len
    int64_t line_len
    int64_t line_blen
    int64_t ll
    int64_t cl
    int64_t flags
    # the buffer ended on a '\r' inside a sequence line: CRLF or an odd byte, by what follows
    bint pending_cr
    # current name: built in place at the end of the blob (blob[blob_len:blob_len + name_len])
    Py_ssize_t name_len
    # finished records (rows, blob and name_end are _vgrow buffers)
    GfRow* rows
    Py_ssize_t n_rows
    Py_ssize_t rows_cap
    # the names of records [names_from, n_rows), back to back; name_end[k] is where the
    # name of record names_from + k ends in the blob
    uint8_t* blob
    Py_ssize_t blob_len
    Py_ssize_t blob_cap
    int64_t* name_end
    Py_ssize_t name_end_cap
    Py_ssize_t names_from
    # where the last finished record ends
    int64_t last_end
    # header line of the first record whose fields do not fit a .gfi slot (0: none)
    int64_t misfit_line
    # error
    int err
    int64_t err_line
    int64_t err_off
    int err_char


cdef int _grow(void** buf, Py_ssize_t* cap, Py_ssize_t need, Py_ssize_t item) noexcept nogil:
    cdef Py_ssize_t c = cap[0]
    cdef void* p
    if need <= c:
        return 0
    if c < 64:
        c = 64
    while c < need:
        c *= 2
    p = realloc(buf[0], c * item)
    if p == NULL:
        return -1
    buf[0] = p
    cap[0] = c
    return 0


cdef extern from *:
    """
    #include <string.h>
    #include <sys/mman.h>
    /* a larger anonymous mapping holding the old one's bytes: moved by the kernel
       where mremap exists (Linux), else mapped afresh and copied */
    static void *gf_remap(void *old, size_t old_size, size_t new_size) {
    #ifdef MREMAP_MAYMOVE
        return mremap(old, old_size, new_size, MREMAP_MAYMOVE);
    #else
        void *p = mmap(NULL, new_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
        if (p != MAP_FAILED) {
            memcpy(p, old, old_size);
            munmap(old, old_size);
        }
        return p;
    #endif
    }
    static void *gf_map(size_t size) {
        return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
    }
    """
    void* gf_remap(void* old, size_t old_size, size_t new_size) noexcept nogil
    void* gf_map(size_t size) noexcept nogil
    int munmap(void* addr, size_t length) noexcept nogil
    void* MAP_FAILED


#: _vgrow buffers grow by whole steps of this many bytes
cdef Py_ssize_t VGROW_STEP = 1 << 21


cdef int _vgrow(void** buf, Py_ssize_t* cap, Py_ssize_t need, Py_ssize_t item) noexcept nogil:
    """Grow an anonymous mapping to at least ``need`` items (capacity in items).

    The scanner's large buffers (rows, names, name ends) grow to hundreds of
    megabytes: ``mremap`` moves their pages instead of copying them, as
    ``realloc`` does for blocks that live in the heap.
    """
    cdef Py_ssize_t c = cap[0], nb
    cdef void* p
    if need <= c:
        return 0
    nb = c * item
    if nb < VGROW_STEP:
        nb = VGROW_STEP
    while nb < need * item:
        nb *= 2
    if buf[0] == NULL:
        p = gf_map(nb)
    else:
        p = gf_remap(buf[0], c * item, nb)
    if p == MAP_FAILED:
        return -1
    buf[0] = p
    cap[0] = nb // item
    return 0


cdef void _vfree(void* buf, Py_ssize_t cap, Py_ssize_t item) noexcept nogil:
    if buf != NULL:
        munmap(buf, cap * item)


cdef int _name_append(ScanState* s, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if _vgrow(<void**>&s.blob, &s.blob_cap, s.blob_len + s.name_len + n, 1) < 0:
        return -1
    memcpy(s.blob + s.blob_len + s.name_len, p, n)
    s.name_len += n
    return 0


cdef int _emit(ScanState* s, int64_t rec_end) noexcept nogil:
    """Append the current record (complete or header-only) to the row store."""
    cdef GfRow* r
    cdef Py_ssize_t k = s.n_rows - s.names_from
    cdef int64_t flags = s.flags | (0 if s.read_done else FLAG_NO_SEQ_)
    cdef int64_t hdr_len = s.seq_off - s.hdr_off
    if _vgrow(<void**>&s.rows, &s.rows_cap, s.n_rows + 1, sizeof(GfRow)) < 0:
        return -1
    if _vgrow(<void**>&s.name_end, &s.name_end_cap, k + 1, sizeof(int64_t)) < 0:
        return -1
    r = s.rows + s.n_rows
    # the name is already in place at the end of the blob
    r.key.hash = gfi_hash(s.blob + s.blob_len, s.name_len)
    r.key.seq_off = <uint64_t>s.seq_off | (<uint64_t>flags << GFI_OFF_BITS)
    r.key.length = <uint64_t>s.seq_len \
        | (<uint64_t>(s.line_len - s.line_blen) << GFI_LEN_BITS)
    r.key.line_bases = <uint32_t>s.line_blen
    r.key.hdr_len = <uint32_t>hdr_len
    r.line_no = s.hdr_line
    if s.misfit_line == 0 and (hdr_len > <int64_t>0xFFFFFFFF or (s.read_done and (
            s.seq_off >= (<int64_t>1 << GFI_OFF_BITS)
            or s.seq_len >= (<int64_t>1 << GFI_LEN_BITS)
            or s.line_blen > <int64_t>0xFFFFFFFF
            or s.line_len < s.line_blen
            or s.line_len - s.line_blen > 0xFFFF
            or flags > 0xFF))):
        s.misfit_line = s.hdr_line
    s.blob_len += s.name_len
    s.name_len = 0
    s.name_end[k] = s.blob_len
    s.last_end = rec_end
    s.n_rows += 1
    return 0


cdef extern from *:
    void __builtin_prefetch(const void* addr) noexcept nogil


cdef extern from *:
    """
    /* 1 when every byte of p[0:n] is printable and not a space (isgraph in the C
       locale); written as a branch-free OR reduction so the compiler vectorises it */
    static inline int gf_all_graph(const unsigned char *p, Py_ssize_t n) {
        unsigned char bad = 0;
        for (Py_ssize_t i = 0; i < n; i++)
            bad |= (unsigned char)(p[i] - 33) > 93;
        return !bad;
    }
    """
    bint gf_all_graph(const uint8_t* p, Py_ssize_t n) noexcept nogil


cdef inline int64_t _count_graph(const uint8_t* p, Py_ssize_t n, int64_t* flags) noexcept nogil:
    """Number of isgraph bytes in p[0:n] (fast path: all of them)."""
    cdef uint8_t c
    cdef Py_ssize_t i
    cdef int64_t k = 0
    if gf_all_graph(p, n):
        return n
    for i in range(n):
        c = p[i]
        k += 33 <= c <= 126
    flags[0] |= FLAG_ODD_BYTES_
    return k


cdef inline int _end_line(ScanState* s) noexcept nogil:
    """A sequence line is complete (s.ll counts its newline): apply the wrapping rules."""
    s.seq_len += s.cl
    if s.line_len == 0:
        s.line_len = s.ll
        s.line_blen = s.cl
        s.state = S_SEQ
    elif s.line_len > s.ll:
        s.state = S_OUT
        s.why = WHY_SHORT
        s.why_line = s.line_no
    elif s.line_len < s.ll:
        s.err = ST_DIFF_LEN
        s.err_line = s.line_no
        return -1
    else:
        s.state = S_SEQ
    s.line_no += 1
    return 0


cdef int _start_header(ScanState* s, int64_t off) noexcept nogil:
    if s.has_rec:
        if _emit(s, off) < 0:
            s.err = ST_NOMEM
            return -1
    s.has_rec = True
    s.read_done = False
    s.hdr_off = off
    s.hdr_line = s.line_no
    s.name_len = 0
    s.flags = 0
    s.state = S_NAME_LEAD
    return 0


cdef int _feed(ScanState* s, const uint8_t* p, Py_ssize_t n, int64_t base) noexcept nogil:
    cdef Py_ssize_t i = 0, j, end
    cdef const uint8_t* q
    cdef uint8_t c
    cdef int64_t seg
    cdef int st
    while i < n:
        st = s.state
        if st == S_SEQ_LINE:
            if s.pending_cr:
                s.pending_cr = False
                s.flags |= FLAG_CRLF_ if p[i] == 10 else FLAG_ODD_BYTES_
            if s.ll == 0 and s.line_len > 1 and i + s.line_len <= n \
                    and p[i + s.line_len - 1] == 10 and gf_all_graph(p + i, s.line_len - 1):
                # a full-width line of bases (the common case of wrapped files): one
                # vectorised check finds no newline and no odd byte before its end
                s.cl = s.line_len - 1
                s.ll = s.line_len
                i += s.line_len
                if _end_line(s) < 0:
                    s.err_off = base + i - 1
                    return -1
                continue
            q = <const uint8_t*>memchr(p + i, 10, n - i)
            end = n if q == NULL else q - p
            seg = end - i
            if seg > 0 and p[end - 1] == 13:
                # a CRLF line end, or (at the end of the buffer) perhaps one
                if q != NULL:
                    s.flags |= FLAG_CRLF_
                else:
                    s.pending_cr = True
                s.cl += _count_graph(p + i, seg - 1, &s.flags)
            else:
                s.cl += _count_graph(p + i, seg, &s.flags)
            s.ll += seg
            if q == NULL:
                return 0
            s.ll += 1
            i = end + 1
            if _end_line(s) < 0:
                s.err_off = base + end
                return -1
        elif st == S_SEQ:
            c = p[i]
            if c == 10:
                s.state = S_OUT
                s.why = WHY_BLANK
                s.why_line = s.line_no
                s.line_no += 1
                i += 1
            elif c == 62:
                if _start_header(s, base + i) < 0:
                    return -1
                i += 1
            else:
                s.read_done = True
                s.ll = 0
                s.cl = 0
                s.state = S_SEQ_LINE
        elif st == S_OUT:
            c = p[i]
            if c == 62:
                if _start_header(s, base + i) < 0:
                    return -1
            elif c == 10:
                s.line_no += 1
            elif c == 13:
                s.state = S_OUT_CR
            else:
                s.err = ST_FASTQ if (c == 64 and s.why == WHY_START and not s.has_rec) \
                    else ST_UNEXPECTED
                s.err_line = s.line_no
                s.err_char = c
                s.err_off = base + i
                return -1
            i += 1
        elif st == S_OUT_CR:
            if p[i] != 10:
                s.err = ST_CR
                s.err_line = s.line_no
                s.err_off = base + i
                return -1
            s.line_no += 1
            s.state = S_OUT
            i += 1
        elif st == S_NAME_LEAD:
            c = p[i]
            if c == 10:
                s.state = S_HDR_REST
            elif _isspace(c):
                i += 1
            else:
                s.state = S_NAME
        elif st == S_NAME:
            j = i
            while j < n and not _isspace(p[j]):
                j += 1
            if _name_append(s, p + i, j - i) < 0:
                s.err = ST_NOMEM
                return -1
            i = j
            if j < n:
                s.state = S_HDR_REST
        else:  # S_HDR_REST
            q = <const uint8_t*>memchr(p + i, 10, n - i)
            if q == NULL:
                return 0
            i = (q - p) + 1
            s.seq_off = base + i
            s.seq_len = 0
            s.line_len = 0
            s.line_blen = 0
            s.line_no += 1
            s.state = S_SEQ
    return 0


# -- block-parallel scanning ----------------------------------------------------------------
# A block is pre-scanned on its own (in the thread that inflated it, without the GIL) into
# one summary entry per line segment: where the segment ends (its '\n', or the end of the
# block) and what the S_SEQ_LINE state would add for it (isgraph count and flags).  The
# scanner then only walks the summaries in order; any segment that is not plainly sequence
# (headers, blank lines, text between records, odd lines) goes through _feed byte by byte,
# so the results (and errors) are those of feeding the bytes.
cdef extern from *:
    """
    typedef struct { int32_t end; uint32_t count; } gf_seg;
    #define GF_SEG_CRLF 0x80000000u
    #define GF_SEG_ODD  0x40000000u
    #define GF_SEG_COUNT 0x3fffffffu
    /* a header line (not the block's first segment): lead and name length, no count */
    #define GF_SEG_HDR  0x20000000u
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #define GF_FAST_RUN 1
    #else
    #define GF_FAST_RUN 0  /* the scalar loop is slower than memchr + gf_all_graph */
    #endif
    /* length of the run of printable non-space bytes at the start of p[0:n] */
    static inline Py_ssize_t gf_graph_run(const unsigned char *p, Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__SSE2__)
        const __m128i off = _mm_set1_epi8(33), lim = _mm_set1_epi8(93);
        for (; i + 32 <= n; i += 32) {
            __m128i a = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(p + i)), off);
            __m128i b = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(p + i + 16)), off);
            unsigned ma = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(a, lim), lim));
            unsigned mb = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(b, lim), lim));
            unsigned bad = ~(ma | (mb << 16));
            if (bad)
                return i + __builtin_ctz(bad);
        }
    #endif
        for (; i < n; i++)
            if ((unsigned char)(p[i] - 33) > 93)
                return i;
        return n;
    }
    #if defined(__SSE2__)
    /* 64-bit masks of p[0:64]: bytes that are '\n', bytes that are not bases (isgraph) */
    static inline void gf_masks64(const unsigned char *p, uint64_t *nl, uint64_t *bad) {
        const __m128i off = _mm_set1_epi8(33), lim = _mm_set1_epi8(93), lf = _mm_set1_epi8(10);
        uint64_t n = 0, g = 0;
        for (int h = 0; h < 4; h++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * h));
            __m128i a = _mm_sub_epi8(v, off);
            n |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)) << (16 * h);
            g |= (uint64_t)(unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_max_epu8(a, lim), lim)) << (16 * h);
        }
        *nl = n;
        *bad = ~g;
    }
    #endif
    /* Summaries of the plain lines (bases only, up to a '\n') that start at *pi, 64
       bytes at a time: one entry per line from the newline bits, no per-byte work.
       Stops before a line that is not plain, or starts with '>' (unless it is the
       block's first segment, k == 0), or ends in the block's last 64 bytes, or when
       out is full (k == cap); *pi is then the start of that line.  Returns k. */
    static Py_ssize_t gf_plain_lines(const unsigned char *p, Py_ssize_t n, Py_ssize_t *pi,
                                     gf_seg *out, Py_ssize_t k, Py_ssize_t cap) {
        Py_ssize_t pos = *pi;
    #if defined(__SSE2__)
        Py_ssize_t c = pos;
        if (pos < n && k > 0 && p[pos] == '>')
            goto stop;
        while (c + 64 <= n && k < cap) {
            uint64_t nl, bad, other, from;
            gf_masks64(p + c, &nl, &bad);
            other = bad & ~nl;
            while (nl) {
                int b = __builtin_ctzll(nl);
                /* bits of this chunk from pos (which may lie before the chunk) to b */
                from = pos > c ? ~(((uint64_t)1 << (pos - c)) - 1) : ~(uint64_t)0;
                if (other & from & (((uint64_t)1 << b) - 1))
                    goto stop;  /* an odd byte in the line */
                out[k].end = (int32_t)(c + b);
                out[k].count = (uint32_t)(c + b - pos);
                k++;
                pos = c + b + 1;
                nl &= nl - 1;
                if (k >= cap || (pos < n && p[pos] == '>'))
                    goto stop;
            }
            if (pos < c + 64 && (other & (pos > c ? ~(((uint64_t)1 << (pos - c)) - 1)
                                                  : ~(uint64_t)0)))
                goto stop;  /* the current line holds an odd byte */
            c += 64;
        }
    stop:
    #endif
        *pi = pos;
        return k;
    }
    static inline uint32_t gf_count_graph_slow(const unsigned char *p, Py_ssize_t n) {
        uint32_t k = 0;
        for (Py_ssize_t i = 0; i < n; i++)
            k += (unsigned char)(p[i] - 33) <= 93;
        return k;
    }
    """
    ctypedef struct gf_seg:
        int32_t end
        uint32_t count
    uint32_t GF_SEG_CRLF
    uint32_t GF_SEG_ODD
    uint32_t GF_SEG_COUNT
    uint32_t GF_SEG_HDR
    uint32_t gf_count_graph_slow(const uint8_t* p, Py_ssize_t n) noexcept nogil
    Py_ssize_t gf_graph_run(const uint8_t* p, Py_ssize_t n) noexcept nogil
    Py_ssize_t gf_plain_lines(const uint8_t* p, Py_ssize_t n, Py_ssize_t* pi, gf_seg* out,
                              Py_ssize_t k, Py_ssize_t cap) noexcept nogil
    bint GF_FAST_RUN


cdef Py_ssize_t _prescan(const uint8_t* p, Py_ssize_t n, gf_seg** out,
                         Py_ssize_t* cap) noexcept nogil:
    """Line segments of p[0:n] into out[0] (grown as needed); -1 when out of memory."""
    cdef Py_ssize_t i = 0, e, seg, k = 0, j, lead
    cdef const uint8_t* q
    cdef uint32_t c
    cdef gf_seg* o
    while i < n:
        if k >= cap[0] and _grow(<void**>out, cap, k + 1, sizeof(gf_seg)) < 0:
            return -1
        if GF_FAST_RUN and (k == 0 or p[i] != 62):
            # fast path: a line of bases only, up to its newline or the end of the block
            # (one SSE2 pass finds the first byte that is not a base)
            j = i + gf_graph_run(p + i, n - i)
            if j == n or p[j] == 10:
                o = out[0] + k
                o.end = <int32_t>j
                o.count = <uint32_t>(j - i)
                k += 1
                if j - i < 128 and j + 1 < n and k < cap[0]:
                    # a short line: likely wrapped sequence, whose following lines are
                    # summarised from newline bitmasks, 64 bytes at a time
                    i = j + 1
                    k = gf_plain_lines(p, n, &i, out[0], k, cap[0])
                else:
                    i = j + 1
                continue
        q = <const uint8_t*>memchr(p + i, 10, n - i)
        e = n if q == NULL else q - p
        seg = e - i
        if k > 0 and q != NULL and p[i] == 62:
            # a line that starts with '>' after a newline of this block: only a header
            # can start there (a sequence line never does), so keep where its name is
            j = i + 1
            while j < e and _isspace(p[j]):
                j += 1
            lead = j - i - 1
            while j < e and not _isspace(p[j]):
                j += 1
            if lead < 256 and j - i - 1 - lead < (1 << 20):
                o = out[0] + k
                o.end = <int32_t>e
                o.count = GF_SEG_HDR | <uint32_t>(lead << 20) | <uint32_t>(j - i - 1 - lead)
                k += 1
                i = e + 1
                continue
        if gf_all_graph(p + i, seg):
            c = <uint32_t>seg
        elif p[e - 1] == 13:  # seg > 0 (not all graph); at the block end: maybe CRLF
            c = GF_SEG_CRLF
            if gf_all_graph(p + i, seg - 1):
                c |= <uint32_t>(seg - 1)
            else:
                c |= GF_SEG_ODD | gf_count_graph_slow(p + i, seg - 1)
        else:
            c = GF_SEG_ODD | gf_count_graph_slow(p + i, seg)
        o = out[0] + k
        o.end = <int32_t>e
        o.count = c
        k += 1
        i = e + 1
    return k


def prescan(const uint8_t[::1] data):
    """Summary of one inflated block for :meth:`FaiScanner.feed_summary` (bytes).

    Runs without the GIL, so inflate threads can call it on the block they inflated.
    """
    cdef Py_ssize_t n = data.shape[0], k = 0, cap = 0
    cdef gf_seg* segs = NULL
    if n > GF_SEG_COUNT:
        raise ValueError("buffer too large for a block summary")
    if n:
        with nogil:
            cap = n // 48 + 16
            segs = <gf_seg*>malloc(cap * sizeof(gf_seg))
            k = -1 if segs == NULL else _prescan(&data[0], n, &segs, &cap)
    try:
        if k < 0:
            raise MemoryError()
        return PyBytes_FromStringAndSize(<char*>segs, k * sizeof(gf_seg))
    finally:
        free(segs)


cdef int _feed_summary(ScanState* s, const uint8_t* p, Py_ssize_t n, const gf_seg* segs,
                       Py_ssize_t nseg, int64_t base) noexcept nogil:
    cdef Py_ssize_t k, a = 0, e
    cdef bint term
    cdef uint32_t c
    cdef int st
    for k in range(nseg):
        e = segs[k].end
        c = segs[k].count
        st = s.state
        if st == S_SEQ and c == s.line_blen and e - a + 1 == s.line_len and e < n \
                and c != 0 and p[a] != 62:
            # one more full-width line of bases (no flag bits: plain, not a header)
            s.seq_len += c
            s.line_no += 1
            a = e + 1
            continue
        term = e < n
        if st == S_SEQ and p[a] != 10 and p[a] != 62:
            # a sequence line starts (what _feed's S_SEQ branch does)
            s.read_done = True
            s.ll = 0
            s.cl = 0
            s.state = S_SEQ_LINE
            st = S_SEQ_LINE
        if c & GF_SEG_HDR and (st == S_SEQ or st == S_OUT):
            # what _feed does for a whole header line (a '>' at a line start)
            if _start_header(s, base + a) < 0:
                return -1
            if _name_append(s, p + a + 1 + ((c >> 20) & 255), c & 0xfffff) < 0:
                s.err = ST_NOMEM
                return -1
            s.seq_off = base + e + 1
            s.seq_len = 0
            s.line_len = 0
            s.line_blen = 0
            s.line_no += 1
            s.state = S_SEQ
        elif st == S_SEQ_LINE and not (c & GF_SEG_HDR):
            if s.pending_cr:
                s.pending_cr = False
                s.flags |= FLAG_CRLF_ if term and e == a else FLAG_ODD_BYTES_
            s.cl += c & GF_SEG_COUNT
            if c & GF_SEG_CRLF:
                if term:
                    s.flags |= FLAG_CRLF_
                else:
                    s.pending_cr = True
            if c & GF_SEG_ODD:
                s.flags |= FLAG_ODD_BYTES_
            s.ll += e - a
            if term:
                s.ll += 1
                if _end_line(s) < 0:
                    s.err_off = base + e
                    return -1
        elif _feed(s, p + a, e + term - a, base + a) < 0:
            return -1
        a = e + 1
    return 0


cdef int _finish(ScanState* s, int64_t total) noexcept nogil:
    cdef int st = s.state
    if st == S_OUT_CR:
        s.err = ST_CR
        s.err_line = s.line_no
        s.err_off = total
        return -1
    if st == S_SEQ_LINE:
        if s.pending_cr:
            s.pending_cr = False
            s.flags |= FLAG_ODD_BYTES_
        s.ll += 1  # htslib counts a missing final newline
        if _end_line(s) < 0:
            s.err_off = total
            return -1
    if s.has_rec and s.read_done and st != S_NAME_LEAD and st != S_NAME and st != S_HDR_REST:
        if _emit(s, total) < 0:
            s.err = ST_NOMEM
            return -1
        s.has_rec = False
        return 0
    s.err = ST_NO_SEQ_LAST if s.has_rec else ST_EMPTY
    s.err_line = s.hdr_line if s.has_rec else s.line_no
    s.err_off = s.hdr_off if s.has_rec else total
    return -1


cdef class FaiScanner:
    """Incremental FASTA record scanner (htslib ``fai_build_core`` rules).

    Feed consecutive buffers with :meth:`feed`, then call :meth:`finish` with
    the total size; :meth:`views` shows the finished records (kept until the
    scanner is freed) and the names not yet dropped by :meth:`release`.
    Methods return a status code (0 = ok); on error the ``err_*`` properties
    and :meth:`current_name` describe it.
    """
    cdef ScanState s

    def __cinit__(self):
        self.s.state = S_OUT
        self.s.why = WHY_START
        self.s.line_no = 1

    def __dealloc__(self):
        _vfree(self.s.rows, self.s.rows_cap, sizeof(GfRow))
        _vfree(self.s.blob, self.s.blob_cap, 1)
        _vfree(self.s.name_end, self.s.name_end_cap, sizeof(int64_t))

    def feed(self, const uint8_t[::1] buf, int64_t base):
        """Scan ``buf`` whose first byte is at uncompressed offset ``base``."""
        cdef Py_ssize_t n = buf.shape[0]
        cdef int rc
        if self.s.err:
            return self.s.err
        if n == 0:
            return ST_OK
        with nogil:
            rc = _feed(&self.s, &buf[0], n, base)
        return self.s.err if rc < 0 else ST_OK

    def feed_summary(self, const uint8_t[::1] buf, const uint8_t[::1] summary, int64_t base):
        """Scan ``buf`` (at uncompressed offset ``base``) through its :func:`prescan`
        summary: the same result as :meth:`feed`, at a cost per line, not per byte."""
        cdef Py_ssize_t n = buf.shape[0], nseg = summary.shape[0] // sizeof(gf_seg)
        cdef int rc
        if self.s.err:
            return self.s.err
        if n == 0:
            return ST_OK
        if nseg == 0 or summary.shape[0] % sizeof(gf_seg) \
                or (<const gf_seg*>&summary[0])[nseg - 1].end + 1 < n:
            raise ValueError("summary does not match the buffer")
        with nogil:
            rc = _feed_summary(&self.s, &buf[0], n, <const gf_seg*>&summary[0], nseg, base)
        return self.s.err if rc < 0 else ST_OK

    def finish(self, int64_t total):
        """End of data at uncompressed offset ``total``: emit the last record."""
        cdef int rc
        if self.s.err:
            return self.s.err
        rc = _finish(&self.s, total)
        return self.s.err if rc < 0 else ST_OK

    @property
    def n_records(self):
        """Records finished so far (header-only ones included)."""
        return self.s.n_rows

    @property
    def err_line(self):
        return self.s.err_line

    @property
    def err_offset(self):
        return self.s.err_off

    @property
    def err_char(self):
        return self.s.err_char

    @property
    def why(self):
        return self.s.why

    @property
    def why_line(self):
        return self.s.why_line

    @property
    def line_len(self):
        return self.s.line_len

    def current_name(self):
        """Name of the record being scanned (bytes)."""
        if self.s.name_len == 0:
            return b""
        return PyBytes_FromStringAndSize(<char*>self.s.blob + self.s.blob_len, self.s.name_len)

    @property
    def names_from(self):
        """First record whose name is still held (see :meth:`release`)."""
        return self.s.names_from

    @property
    def last_end(self):
        """Uncompressed offset where the last finished record ends."""
        return self.s.last_end

    @property
    def misfit_line(self):
        """Header line of the first record whose offsets or line lengths do not fit a
        ``.gfi`` slot (0: none)."""
        return self.s.misfit_line

    def release(self):
        """Drop the names of the finished records (the rows stay): the name being
        scanned moves to the front of the name buffer, whose memory is reused."""
        if self.s.name_len and self.s.blob_len:
            memmove(self.s.blob, self.s.blob + self.s.blob_len, self.s.name_len)
        self.s.blob_len = 0
        self.s.names_from = self.s.n_rows

    def rows(self):
        """Zero-copy view (uint64, records x :data:`ROW_WORDS`) of every finished
        record's row; valid while the scanner is alive and until the next
        :meth:`feed` (which may move the rows)."""
        if self.s.n_rows == 0:
            return _empty_rows()
        return memoryview(<uint64_t[:self.s.n_rows, :sizeof(GfRow) // 8]> (<uint64_t*>self.s.rows))

    def views(self, Py_ssize_t lo=-1, Py_ssize_t hi=-1):
        """Zero-copy views of finished records ``lo:hi``: ``(rows, names, name_ends)``.

        ``rows`` is uint64, records x :data:`ROW_WORDS` (see :func:`row_fields`);
        ``names`` the names of those records back to back and ``name_ends`` (int64)
        where each ends in ``names``.  ``lo`` defaults to the first record whose name
        is held (:attr:`names_from`) and may not be below it.  The views point into
        the scanner's buffers: use them before the next :meth:`feed` or
        :meth:`release` (which may move or reuse the buffers) and while the
        scanner is alive.
        """
        cdef Py_ssize_t n = self.s.n_rows, base = self.s.names_from
        cdef int64_t b0, b1, k
        if lo < 0:
            lo = base
        if hi < 0 or hi > n:
            hi = n
        if lo < base or lo > hi:
            raise IndexError("bad record range (names before names_from are released)")
        if hi == lo:
            return _empty_rows(), memoryview(b""), memoryview(b"").cast("q")
        b0 = self.s.name_end[lo - base - 1] if lo > base else 0
        b1 = self.s.name_end[hi - base - 1]
        rows = <uint64_t[:hi - lo, :sizeof(GfRow) // 8]> (<uint64_t*>(self.s.rows + lo))
        if lo == base:
            ends = memoryview(<int64_t[:hi - lo]> (self.s.name_end + lo - base))
        else:
            from array import array
            ends = array("q", bytes(8 * (hi - lo)))
            for k in range(hi - lo):
                ends[k] = self.s.name_end[lo - base + k] - b0
        if b1 > b0:
            names = memoryview(<uint8_t[:b1 - b0]> (self.s.blob + b0))
        else:
            names = memoryview(b"")
        return memoryview(rows), names, ends


def row_fields(const uint64_t[:, ::1] rows, Py_ssize_t r):
    """Record ``r`` of scanner rows as a dict: ``hash``, ``seq_off``, ``hdr_off``,
    ``length``, ``line_width``, ``line_bases``, ``line_no`` and ``flags``."""
    cdef const GfRow* row
    if not 0 <= r < rows.shape[0] or rows.shape[1] != sizeof(GfRow) // 8:
        raise IndexError("bad row")
    row = <const GfRow*>&rows[r, 0]
    return {"hash": row.key.hash, "seq_off": gfi_seq_off(&row.key),
            "hdr_off": gfi_seq_off(&row.key) - row.key.hdr_len,
            "length": gfi_length(&row.key), "line_width": gfi_line_width(&row.key),
            "line_bases": row.key.line_bases, "line_no": row.line_no,
            "flags": gfi_flags(&row.key)}


# -- text output ---------------------------------------------------------------------------
cdef const char* DIGIT_PAIRS = (b"00010203040506070809101112131415161718192021222324252627282930"
                                b"31323334353637383940414243444546474849505152535455565758596061"
                                b"62636465666768697071727374757677787980818283848586878889909192"
                                b"93949596979899")


cdef inline Py_ssize_t _put_u64(char* out, uint64_t v) noexcept nogil:
    """Write ``v`` in decimal at ``out``; returns the number of digits."""
    cdef Py_ssize_t n = 1, k
    cdef uint64_t t = v
    cdef uint32_t d
    while t >= 10:
        t //= 10
        n += 1
    k = n
    while v >= 100:
        d = <uint32_t>(v % 100) * 2
        v //= 100
        k -= 2
        out[k] = DIGIT_PAIRS[d]
        out[k + 1] = DIGIT_PAIRS[d + 1]
    if v >= 10:
        out[0] = DIGIT_PAIRS[v * 2]
        out[1] = DIGIT_PAIRS[v * 2 + 1]
    else:
        out[0] = <char>(48 + v)
    return n


cdef inline int64_t _row_hdr_off(const GfRow* r) noexcept nogil:
    return <int64_t>gfi_seq_off(&r.key) - r.key.hdr_len


def format_index(const uint64_t[:, ::1] rows, const uint8_t[::1] names,
                 const int64_t[::1] name_ends, int64_t last_end, int kind, bytearray out):
    """Write the index lines of a batch of scanner rows into ``out`` (grown as
    needed); returns the number of bytes written.

    One line per record that has a sequence line (header-only records are left
    out, as samtools does).  ``names``/``name_ends`` are the batch's names as
    :meth:`FaiScanner.views` gives them; ``last_end`` is where the batch's last
    record ends.  ``kind`` 0: ``.fai`` (NAME LENGTH OFFSET LINEBASES LINEWIDTH, as
    samtools); ``kind`` 1: ``.loc`` (NAME OFFSET-OF-'>' RECORD-SIZE).
    """
    cdef Py_ssize_t m = rows.shape[0], i, k, pos = 0, need
    cdef const uint8_t* bp = &names[0] if names.shape[0] else NULL
    cdef const GfRow* rp
    cdef const GfRow* r
    cdef int64_t a = 0, hdr, end
    cdef char* o
    if name_ends.shape[0] != m or (m and rows.shape[1] != sizeof(GfRow) // 8):
        raise ValueError("rows and names differ")
    if m and name_ends[m - 1] != names.shape[0]:
        raise ValueError("names and name ends disagree")
    if m == 0:
        return 0
    need = names.shape[0] + m * (4 * 21)
    if PyByteArray_GET_SIZE(out) < need:
        PyByteArray_Resize(out, need)  # no zero fill: only the bytes written are used
    o = PyByteArray_AS_STRING(out)
    rp = <const GfRow*>&rows[0, 0]
    with nogil:
        for i in range(m):
            r = rp + i
            k = name_ends[i] - a
            if not (gfi_flags(&r.key) & FLAG_NO_SEQ_):
                memcpy(o + pos, bp + a, k)
                pos += k
                if kind == 0:
                    o[pos] = 9
                    pos += 1 + _put_u64(o + pos + 1, gfi_length(&r.key))
                    o[pos] = 9
                    pos += 1 + _put_u64(o + pos + 1, gfi_seq_off(&r.key))
                    o[pos] = 9
                    pos += 1 + _put_u64(o + pos + 1, r.key.line_bases)
                    o[pos] = 9
                    pos += 1 + _put_u64(o + pos + 1, gfi_line_width(&r.key))
                else:
                    hdr = _row_hdr_off(r)
                    end = _row_hdr_off(r + 1) if i + 1 < m else last_end
                    o[pos] = 9
                    pos += 1 + _put_u64(o + pos + 1, <uint64_t>hdr)
                    o[pos] = 9
                    pos += 1 + _put_u64(o + pos + 1, <uint64_t>(end - hdr))
                o[pos] = 10
                pos += 1
            a = name_ends[i]
    return pos


def name_hash(name) -> int:
    """The ``.gfi`` hash of a record name (bytes)."""
    cdef const uint8_t[::1] v = name
    return gfi_hash(&v[0] if v.shape[0] else NULL, v.shape[0])


# -- the .gfi hash table -------------------------------------------------------------------
cdef struct HashRec:
    uint64_t h
    int64_t r


cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    int pthread_create(pthread_t* th, const void* attr, void* (*fn)(void*) noexcept nogil,
                       void* arg)
    int pthread_join(pthread_t th, void** ret)


cdef void _run2(void* (*fn)(void*) noexcept nogil, void* a, void* b) noexcept nogil:
    """``fn(a)`` on this thread and ``fn(b)`` on a helper thread (or here, if none starts)."""
    cdef pthread_t th
    cdef bint started = pthread_create(&th, NULL, fn, b) == 0
    fn(a)
    if started:
        pthread_join(th, NULL)
    else:
        fn(b)


cdef struct TablePart:
    # one half of the table build: records [r0, r1) and buckets [b0, b1)
    const GfRow* rows
    const uint8_t* valid
    Py_ssize_t r0
    Py_ssize_t r1
    Py_ssize_t b0
    Py_ssize_t b1
    int shift
    uint64_t* count      # per bucket: records of [r0, r1), then the next slot to fill
    const uint64_t* ends # end of each bucket in pairs (bucket b starts at ends[b - 1])
    HashRec* pairs
    Py_ssize_t n_valid


cdef Py_ssize_t _split_buckets(const uint64_t* ends, Py_ssize_t nb) noexcept nogil:
    """First bucket of the second half: the buckets before it hold about half the pairs."""
    cdef Py_ssize_t lo = 0, hi = nb, mid
    cdef uint64_t half = ends[nb - 1] // 2
    while lo < hi:
        mid = (lo + hi) // 2
        if ends[mid] < half:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _bucket(uint64_t h, int shift) noexcept nogil:
    return <Py_ssize_t>(h >> shift) if shift < 64 else 0


cdef void* _count_part(void* arg) noexcept nogil:
    cdef TablePart* t = <TablePart*>arg
    cdef Py_ssize_t i, m = 0
    for i in range(t.r0, t.r1):
        if t.valid[i]:
            t.count[_bucket(t.rows[i].key.hash, t.shift)] += 1
            m += 1
    t.n_valid = m
    return NULL


cdef void* _scatter_part(void* arg) noexcept nogil:
    """(hash, record) pairs of records [r0, r1) to their buckets, in record order."""
    cdef TablePart* t = <TablePart*>arg
    cdef Py_ssize_t i, b
    cdef uint64_t h
    for i in range(t.r0, t.r1):
        if t.valid[i]:
            h = t.rows[i].key.hash
            b = _bucket(h, t.shift)
            t.pairs[t.count[b]].h = h
            t.pairs[t.count[b]].r = i
            t.count[b] += 1
    return NULL


cdef void* _sort_part(void* arg) noexcept nogil:
    """Insertion-sort buckets [b0, b1) by hash (stable: equal hashes keep record order)."""
    cdef TablePart* t = <TablePart*>arg
    cdef Py_ssize_t b, i, j, k, pos
    cdef HashRec tmp
    cdef HashRec* pairs = t.pairs
    for b in range(t.b0, t.b1):
        j = t.ends[b - 1] if b else 0
        k = t.ends[b]
        for i in range(j + 1, k):
            tmp = pairs[i]
            pos = i
            while pos > j and pairs[pos - 1].h > tmp.h:
                pairs[pos] = pairs[pos - 1]
                pos -= 1
            pairs[pos] = tmp
    return NULL


cdef int _bucket_bits(Py_ssize_t n) noexcept nogil:
    """Buckets of the build's sort: about 8 records per bucket, at most 2**26 buckets."""
    cdef int bits = 0
    while (<Py_ssize_t>8 << bits) < n and bits < 26:
        bits += 1
    return bits


def home_slots(Py_ssize_t n_keys):
    """Home slots of a table of ``n_keys`` keys: a load of at most 0.8."""
    return n_keys + (n_keys + 3) // 4


cdef const GfRow* _rows_of(const uint64_t[:, ::1] rows) except? NULL:
    """The GfRow array behind scanner rows (NULL when there are none)."""
    if rows.shape[0] == 0:
        return NULL
    if rows.shape[1] != sizeof(GfRow) // 8:
        raise ValueError("not scanner rows")
    return <const GfRow*>&rows[0, 0]


def build_table(uint64_t[:, ::1] rows, const uint8_t[::1] valid, int64_t data_size):
    """Sort the valid records of scanner ``rows`` by name hash, for the ``.gfi``
    hash table (see genomicframe/fasta/gfi.py); returns a :class:`GfiTable`.

    Keys are ordered by (hash, record number).  Records whose names hash alike
    are listed by :meth:`GfiTable.equal_hash_runs`, for the caller to compare
    their names; :meth:`GfiTable.place` then drops the repeats (cleared in
    ``valid``) and gives every key its slot.  The table keeps ``rows`` (not
    copied) and writes the slots over their line numbers.  ``data_size`` is
    where the last record ends.
    """
    cdef GfRow* rp = <GfRow*>_rows_of(rows)
    cdef Py_ssize_t n = rows.shape[0], b, nb
    cdef uint64_t* count
    cdef uint64_t* count2
    cdef uint64_t a, c0, c1
    cdef TablePart half[2]
    cdef HashRec* pairs
    cdef GfiTable table
    cdef int bits = _bucket_bits(n)
    cdef int shift = 64 - bits
    if valid.shape[0] != n:
        raise ValueError("rows and valid differ in length")
    nb = (<Py_ssize_t>1) << bits
    count = <uint64_t*>calloc(nb + 1, sizeof(uint64_t))
    count2 = <uint64_t*>calloc(nb + 1, sizeof(uint64_t))
    pairs = <HashRec*>malloc((n + 1) * sizeof(HashRec))
    if count == NULL or count2 == NULL or pairs == NULL:
        free(count)
        free(count2)
        free(pairs)
        raise MemoryError()
    table = GfiTable.__new__(GfiTable)
    table.rows_obj = rows
    table.rows = rp
    table.n_rows = n
    table.data_size = data_size
    table.pairs = pairs  # the table owns them
    try:
        with nogil:
            # two halves on two threads: each counts its half of the records per bucket,
            # then scatters its (hash, record) pairs in record order (the first half's
            # before the second's in every bucket); each then insertion-sorts half of the
            # (small) buckets by hash, so equal hashes keep record order
            half[0].rows = half[1].rows = rp
            half[0].valid = half[1].valid = &valid[0] if n else NULL
            half[0].shift = half[1].shift = shift if bits else 64
            half[0].pairs = half[1].pairs = pairs
            half[0].ends = half[1].ends = count
            half[0].r0 = 0
            half[0].r1 = half[1].r0 = n // 2
            half[1].r1 = n
            half[0].count = count
            half[1].count = count2
            _run2(_count_part, &half[0], &half[1])
            table.n_valid = half[0].n_valid + half[1].n_valid
            # count[b] -> start of bucket b for the first half, count2[b] for the second,
            # and finally the end of bucket b (for the sort)
            a = 0
            for b in range(nb):
                c0 = count[b]
                c1 = count2[b]
                count[b] = a
                count2[b] = a + c0
                a += c0 + c1
            _run2(_scatter_part, &half[0], &half[1])
            # the first half's slots end where the second half's begin: count2[b] is
            # now the end of bucket b
            half[0].ends = half[1].ends = count2
            half[0].b0 = 0
            half[0].b1 = half[1].b0 = _split_buckets(count2, nb)
            half[1].b1 = nb
            _run2(_sort_part, &half[0], &half[1])
    finally:
        free(count)
        free(count2)
    return table


cdef Py_ssize_t _place(const uint8_t* valid, HashRec* pairs, GfRow* rows,
                       Py_ssize_t n_valid, Py_ssize_t n_dups, uint64_t n_home) noexcept nogil:
    """Drop the repeats from ``pairs`` (which then hold the keys in key order) and give
    every key its slot: written over the key's hash in ``pairs`` (the hash stays in
    its row) and over its row's line number.  Returns the number of slots (the home
    slots and any spill past them)."""
    cdef Py_ssize_t i, k = 0
    cdef int64_t r, pos, nxt = 0
    for i in range(n_valid):
        r = pairs[i].r
        if i + 16 < n_valid:
            __builtin_prefetch(&rows[pairs[i + 16].r])
        if n_dups and not valid[r]:
            continue
        pos = <int64_t>gfi_home(pairs[i].h, n_home)
        if pos < nxt:
            pos = nxt
        rows[r].line_no = pos
        pairs[k].h = <uint64_t>pos
        pairs[k].r = r
        nxt = pos + 1
        k += 1
    return max(<Py_ssize_t>n_home, <Py_ssize_t>nxt)


cdef enum:
    TABLE_CHUNK_ = 1 << 16

#: slots (or file-order entries) produced per :class:`GfiTable` section call
TABLE_CHUNK = TABLE_CHUNK_


cdef class GfiTable:
    """The ``.gfi`` hash table of an index build (from :func:`build_table`), handed
    out a slice at a time, so the whole table never sits in memory at once.

    Slots are the scan rows' keys, in hash order, with empty slots (zeros)
    between runs.
    """
    cdef object rows_obj  # keeps the rows' owner alive
    cdef GfRow* rows
    cdef Py_ssize_t n_rows
    cdef int64_t data_size
    # (hash, record) of every valid record in key order; once placed, the keys only,
    # with each key's slot in place of its hash
    cdef HashRec* pairs
    cdef bint placed
    cdef const uint8_t* valid  # kept records (a byte per record), once placed
    cdef object valid_obj
    cdef list fstart           # first record of every TABLE_CHUNK keys in file order
    cdef Py_ssize_t n_valid
    cdef readonly Py_ssize_t n_keys
    cdef readonly Py_ssize_t n_home
    cdef readonly Py_ssize_t n_slots

    def __dealloc__(self):
        free(self.pairs)

    def equal_hash_runs(self):
        """Runs of two or more valid records whose names hash alike: a list of tuples
        of record numbers, ascending (repeated names, or, rarely, hash collisions)."""
        cdef Py_ssize_t i = 1, j
        if self.placed:
            raise ValueError("the table is placed already")
        runs = []
        while i < self.n_valid:
            if self.pairs[i].h != self.pairs[i - 1].h:
                i += 1
                continue
            j = i - 1
            while i < self.n_valid and self.pairs[i].h == self.pairs[j].h:
                i += 1
            runs.append(tuple([self.pairs[k].r for k in range(j, i)]))
        return runs

    def place(self, const uint8_t[::1] valid, Py_ssize_t n_dups):
        """Give every key its slot, leaving out the records cleared in ``valid`` since
        :func:`build_table` (``n_dups`` of them: the repeated names).  Key ``k``
        goes to slot ``max(home(hash), slot of key k-1 + 1)``, so the slots stay in
        hash order with gaps between runs.  The rows' line numbers are overwritten
        (with the slots); ``valid`` is kept for the file-order section."""
        cdef Py_ssize_t r, j = 0
        if valid.shape[0] != self.n_rows:
            raise ValueError("valid does not match the rows")
        if self.placed:
            raise ValueError("the table is placed already")
        self.n_keys = self.n_valid - n_dups
        self.n_home = home_slots(self.n_keys)
        self.valid_obj = valid
        self.valid = &valid[0] if self.n_rows else NULL
        with nogil:
            self.n_slots = _place(self.valid, self.pairs, self.rows, self.n_valid, n_dups,
                                  self.n_home)
        self.placed = True
        self.fstart = []
        r = 0
        while True:  # the record that starts every TABLE_CHUNK keys in file order
            with nogil:
                while r < self.n_rows and not (self.valid[r] and j % TABLE_CHUNK_ == 0):
                    j += self.valid[r]
                    r += 1
            if r == self.n_rows:
                break
            self.fstart.append(r)
            j += 1
            r += 1

    cdef Py_ssize_t _first_key(self, Py_ssize_t lo) noexcept nogil:
        """First key whose slot is ``>= lo``."""
        cdef Py_ssize_t a = 0, b = self.n_keys, mid
        while a < b:
            mid = (a + b) >> 1
            if <Py_ssize_t>self.pairs[mid].h < lo:
                a = mid + 1
            else:
                b = mid
        return a

    def _check(self, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t n):
        if not self.placed:
            raise ValueError("the table is not placed yet")
        if not 0 <= lo <= hi <= n:
            raise IndexError("bad range")

    cdef void _fill(self, Py_ssize_t lo, Py_ssize_t hi, GfiKey* kp,
                    uint64_t* ep) noexcept nogil:
        """Fill slots ``lo:hi`` into ``kp`` and their record ends into ``ep`` (either
        may be NULL; zeros for empty slots)."""
        cdef Py_ssize_t k = self._first_key(lo)
        cdef int64_t r, s
        if kp != NULL:
            memset(kp, 0, (hi - lo) * sizeof(GfiKey))
        if ep != NULL:
            memset(ep, 0, (hi - lo) * 8)
        while k < self.n_keys:
            s = <int64_t>self.pairs[k].h
            if s >= hi:
                break
            if k + 16 < self.n_keys:
                __builtin_prefetch(&self.rows[self.pairs[k + 16].r])
            r = self.pairs[k].r
            if ep != NULL:
                # a record ends where the next one's '>' is
                ep[s - lo] = <uint64_t>(_row_hdr_off(&self.rows[r + 1]) if r + 1 < self.n_rows
                                        else self.data_size)
            if kp != NULL:
                kp[s - lo] = self.rows[r].key
            k += 1

    def slots(self, Py_ssize_t lo, Py_ssize_t hi):
        """Slots ``lo:hi`` (bytes, 32 per slot; layout in genomicframe/fasta/gfi.py)."""
        self._check(lo, hi, self.n_slots)
        out = PyBytes_FromStringAndSize(NULL, (hi - lo) * sizeof(GfiKey))
        cdef GfiKey* kp = <GfiKey*>PyBytes_AS_STRING(out)
        with nogil:
            self._fill(lo, hi, kp, NULL)
        return out

    def ends(self, Py_ssize_t lo, Py_ssize_t hi):
        """Record ends of slots ``lo:hi`` (bytes, u64 each: the offset past the record's
        last byte, before the next '>'; 0 for an empty slot)."""
        self._check(lo, hi, self.n_slots)
        out = PyBytes_FromStringAndSize(NULL, (hi - lo) * 8)
        cdef uint64_t* ep = <uint64_t*>PyBytes_AS_STRING(out)
        with nogil:
            self._fill(lo, hi, NULL, ep)
        return out

    def slots_and_ends(self, Py_ssize_t lo, Py_ssize_t hi):
        """``(slots(lo, hi), ends(lo, hi))`` in one pass over the keys."""
        self._check(lo, hi, self.n_slots)
        a = PyBytes_FromStringAndSize(NULL, (hi - lo) * sizeof(GfiKey))
        b = PyBytes_FromStringAndSize(NULL, (hi - lo) * 8)
        cdef GfiKey* kp = <GfiKey*>PyBytes_AS_STRING(a)
        cdef uint64_t* ep = <uint64_t*>PyBytes_AS_STRING(b)
        with nogil:
            self._fill(lo, hi, kp, ep)
        return a, b

    def forder(self, Py_ssize_t lo, Py_ssize_t hi):
        """Entries ``lo:hi`` of the file-order section (bytes, u64 each: the slot of
        each key, keys in file order)."""
        self._check(lo, hi, self.n_keys)
        out = PyBytes_FromStringAndSize(NULL, (hi - lo) * 8)
        cdef uint64_t* fp = <uint64_t*>PyBytes_AS_STRING(out)
        cdef Py_ssize_t r, j, skip
        if hi == lo:
            return out
        r = self.fstart[lo // TABLE_CHUNK_]
        skip = lo % TABLE_CHUNK_
        j = 0
        with nogil:
            while j < hi - lo:
                if self.valid[r]:
                    if skip:
                        skip -= 1
                    else:
                        fp[j] = <uint64_t>self.rows[r].line_no
                        j += 1
                r += 1
        return out

    def chunks(self, str section):
        """The ``slots``, ``ends`` or ``forder`` section, TABLE_CHUNK entries at a time."""
        make = {"slots": self.slots, "ends": self.ends, "forder": self.forder}[section]
        n = self.n_keys if section == "forder" else self.n_slots
        for lo in range(0, n, TABLE_CHUNK):
            yield make(lo, min(lo + TABLE_CHUNK, n))


# -- small helpers (keep numpy out of the index build) --------------------------------------
def valid_mask(rows):
    """``bytearray`` with 1 for the records of scanner ``rows`` that have a sequence
    line (they go in the .fai)."""
    cdef const uint64_t[:, ::1] rv = rows
    cdef const GfRow* rp = _rows_of(rv)
    cdef Py_ssize_t i, n = rv.shape[0]
    out = bytearray(n)
    cdef uint8_t* o = out
    with nogil:
        for i in range(n):
            o[i] = 0 if gfi_flags(&rp[i].key) & FLAG_NO_SEQ_ else 1
    return out


def header_only(rows, Py_ssize_t limit):
    """``(count, first)``: how many records of scanner ``rows`` have no sequence line,
    and the row numbers of the first ``limit`` of them."""
    cdef const uint64_t[:, ::1] rv = rows
    cdef const GfRow* rp = _rows_of(rv)
    cdef Py_ssize_t i, n = rv.shape[0], count = 0
    first = []
    for i in range(n):
        if gfi_flags(&rp[i].key) & FLAG_NO_SEQ_:
            if count < limit:
                first.append(i)
            count += 1
    return count, first


def ranks(const uint8_t[::1] valid, records):
    """For each record number in ``records`` (ascending), the number of valid
    records before it: its line in the ``.fai``."""
    cdef Py_ssize_t i = 0, k = 0, r
    out = []
    for r in records:
        if r < i or r > valid.shape[0]:
            raise ValueError("records must be ascending and in range")
        while i < r:
            k += valid[i]
            i += 1
        out.append(k)
    return out

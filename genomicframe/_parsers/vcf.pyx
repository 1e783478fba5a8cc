"""VCF data-line kernels: text chunk -> typed column buffers (nogil).

``Config`` holds what the caller decided (which columns, which INFO/FORMAT keys
with which types, which samples, the pushdown); it is read-only while chunks
are parsed, so several threads may share it.  ``parse_chunk`` fills a fresh
``Parsed`` per chunk of whole lines: the fixed columns, then, for rows that
pass the pushdown, the requested INFO and FORMAT keys.  Lines starting with
``#`` are skipped.  On malformed input the kernel stops, records a status code,
the line index in the chunk and the offending byte range, and the caller
(genomicframe.formats.vcf) raises.  ``gt_chunk`` is the genotype-only path.
"""
from libc.stdint cimport uint8_t, int16_t, int32_t, int64_t, uint32_t

cdef extern from *:
    """
    #define GF_MISSING_F32 0x7F800001u
    """
    uint32_t MISSING_F32 "GF_MISSING_F32"
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memchr, memcmp, memcpy, memset
from cpython.buffer cimport PyBUF_WRITABLE

from genomicframe._parsers._buffers cimport (
    Buf, buf_reserve, buf_free, buf_bytes, buf_u8, buf_i16, buf_i32, buf_i64, buf_f32)
from genomicframe._parsers._text cimport (
    find as swar_find, parse_i64, parse_f64, parse_f32, fast_f64, NUM_OK, NUM_OVERFLOW)

# -- public constants (mirrored by name in genomicframe/formats/vcf.py) ------------------------
# fixed columns (bit mask)
W_CHROM = 1
W_POS = 2
W_END = 4
W_ID = 8
W_REF = 16
W_ALT = 32
W_QUAL = 64
W_FILTER = 128
# value kinds
K_FLAG = 0
K_INT = 1
K_FLOAT = 2
K_STR = 3
K_GT = 4

# status codes
cpdef enum Status:
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
    _W_CHROM = 1
    _W_POS = 2
    _W_END = 4
    _W_ID = 8
    _W_REF = 16
    _W_ALT = 32
    _W_QUAL = 64
    _W_FILTER = 128
    _K_FLAG = 0
    _K_INT = 1
    _K_FLOAT = 2
    _K_STR = 3
    _K_GT = 4
    # int32 values htslib reserves (missing, end-of-vector, ...): read as missing
    INT32_MIN_VALID = -2147483640
    MISSING_I32 = -2147483648


cdef struct Rng:
    int on
    double lo
    double hi
    int loi
    int hii


cdef struct KeySpec:
    const char* key
    int keylen
    int kind
    int is_list


cdef struct Cfg:
    int want
    int need_end
    int has_end           # the header knows INFO/END (as an Integer)
    int end_col           # INFO column of END when it is decoded anyway (no end pushdown), or -1
    int ninfo
    KeySpec* info
    int nfmt
    KeySpec* fmt
    int nsamples
    int32_t* slot
    int nsel
    int nchrom            # -1: no chrom pushdown
    const char** chrom
    int* chromlen
    int nfilter           # -1: no filter pushdown
    const char** filt
    int* filtlen
    Rng pos
    Rng start
    Rng end
    Rng qual


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
    Buf vvalid          # uint8 per leaf
    Buf loff            # int32 offsets of innermost lists
    Buf lvalid          # uint8 per innermost list
    Buf soff            # int32 per-row offsets into samples (FORMAT only)
    Buf svalid          # uint8 per row (FORMAT only)
    Buf phased          # uint8 per sample (GT only)


cdef class Owned:
    """Memory taken from a parser buffer; exposes it with the buffer protocol and frees it."""
    cdef char* data
    cdef Py_ssize_t size
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

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
    cdef Owned o = Owned.__new__(Owned)
    o.data = b.data
    o.size = b.len
    b.data = NULL
    b.len = 0
    b.cap = 0
    return o


cdef void set_rng(Rng* r, object spec):
    if spec is None:
        r.on = 0
        return
    r.on = 1
    r.lo = spec.lo
    r.hi = spec.hi
    r.loi = spec.lo_inclusive
    r.hii = spec.hi_inclusive


cdef inline bint rng_ok(const Rng* r, double v) noexcept nogil:
    if v < r.lo or (v == r.lo and not r.loi):
        return False
    if v > r.hi or (v == r.hi and not r.hii):
        return False
    return True


cdef class Config:
    """What to parse: built once per read by genomicframe.formats.vcf, shared by threads."""
    cdef Cfg c
    cdef list _keep

    def __cinit__(self):
        memset(&self.c, 0, sizeof(Cfg))
        self.c.nchrom = -1
        self.c.nfilter = -1

    def __init__(self, int want, bint need_end, list info, list fmt, int nsamples,
                 slots, chroms=None, filters=None, pos=None, start=None, end=None,
                 qual=None, bint has_end=True, int end_col=-1):
        """``info``/``fmt``: lists of ``(key bytes, kind, is_list)``; ``slots``: per header
        sample its output slot or -1; ``chroms``/``filters``: allowed byte strings or None;
        range arguments: objects with lo/hi/lo_inclusive/hi_inclusive or None."""
        cdef int i
        self._keep = []
        self.c.want = want
        self.c.need_end = need_end
        self.c.has_end = has_end
        self.c.end_col = end_col
        self.c.ninfo = len(info)
        self.c.info = <KeySpec*>calloc(max(1, len(info)), sizeof(KeySpec))
        self.c.nfmt = len(fmt)
        self.c.fmt = <KeySpec*>calloc(max(1, len(fmt)), sizeof(KeySpec))
        self.c.nsamples = nsamples
        self.c.slot = <int32_t*>calloc(max(1, nsamples), sizeof(int32_t))
        if self.c.info == NULL or self.c.fmt == NULL or self.c.slot == NULL:
            raise MemoryError()
        for i, (key, kind, is_list) in enumerate(info):
            self._spec(&self.c.info[i], key, kind, is_list)
        for i, (key, kind, is_list) in enumerate(fmt):
            self._spec(&self.c.fmt[i], key, kind, is_list)
        self.c.nsel = 0
        for i in range(nsamples):
            self.c.slot[i] = slots[i]
            if slots[i] >= 0:
                self.c.nsel += 1
        if chroms is not None:
            self.c.nchrom = self._strings(chroms, &self.c.chrom, &self.c.chromlen)
        if filters is not None:
            self.c.nfilter = self._strings(filters, &self.c.filt, &self.c.filtlen)
        set_rng(&self.c.pos, pos)
        set_rng(&self.c.start, start)
        set_rng(&self.c.end, end)
        set_rng(&self.c.qual, qual)

    cdef void _spec(self, KeySpec* s, bytes key, int kind, int is_list):
        self._keep.append(key)
        s.key = key
        s.keylen = len(key)
        s.kind = kind
        s.is_list = is_list

    cdef int _strings(self, values, const char*** ptrs, int** lens) except -1:
        cdef int i, n = len(values)
        ptrs[0] = <const char**>calloc(max(1, n), sizeof(char*))
        lens[0] = <int*>calloc(max(1, n), sizeof(int))
        if ptrs[0] == NULL or lens[0] == NULL:
            raise MemoryError()
        for i, v in enumerate(values):
            self._keep.append(v)
            ptrs[0][i] = <bytes>v
            lens[0][i] = len(v)
        return n

    def __dealloc__(self):
        free(self.c.info)
        free(self.c.fmt)
        free(self.c.slot)
        free(self.c.chrom)
        free(self.c.chromlen)
        free(self.c.filt)
        free(self.c.filtlen)


cdef class Parsed:
    """The columns of one chunk (or the error that stopped it)."""
    cdef Cfg* c
    cdef Config cfg_ref
    cdef public int64_t nrows
    cdef public int64_t lines        # lines consumed (header and data)
    cdef public int status
    cdef public int64_t err_line     # 0-based line index in the chunk
    cdef public Py_ssize_t err_start # byte range of the offending token in the chunk
    cdef public Py_ssize_t err_end
    cdef public int64_t err_value
    # fixed columns
    cdef Buf chrom_off, chrom_data, pos, end, id_off, id_data, id_valid, ref_off, ref_data
    cdef Buf alt_loff, alt_soff, alt_data, qual, qual_valid, filt_loff, filt_soff, filt_data
    cdef int64_t n_alt, n_filt
    cdef Col* cols
    cdef int ncols
    # per-chunk caches
    cdef Buf last_chrom
    cdef int last_chrom_ok
    cdef Buf fmt_text
    cdef Buf fmt_map     # int32: FORMAT key position -> column (or -1)
    cdef int fmt_nkeys
    cdef int fmt_gt      # position of GT in FORMAT or -1
    cdef int hints[32]   # INFO column of the k-th key of the previous row

    def __cinit__(self, Config cfg):
        cdef int i
        self.cfg_ref = cfg
        self.c = &cfg.c
        self.ncols = cfg.c.ninfo + cfg.c.nfmt
        self.cols = <Col*>calloc(max(1, self.ncols), sizeof(Col))
        if self.cols == NULL:
            raise MemoryError()
        for i in range(self.ncols):
            if i < cfg.c.ninfo:
                self.cols[i].kind = cfg.c.info[i].kind
                self.cols[i].is_list = cfg.c.info[i].is_list
            else:
                self.cols[i].kind = cfg.c.fmt[i - cfg.c.ninfo].kind
                self.cols[i].is_list = cfg.c.fmt[i - cfg.c.ninfo].is_list
                self.cols[i].fmt = 1
            self.cols[i].stamp = -1
            if (buf_i32(&self.cols[i].voff, 0) or buf_i32(&self.cols[i].loff, 0)
                    or buf_i32(&self.cols[i].soff, 0)):
                raise MemoryError()
        if (buf_i32(&self.chrom_off, 0) or buf_i32(&self.id_off, 0) or buf_i32(&self.ref_off, 0)
                or buf_i32(&self.alt_loff, 0) or buf_i32(&self.alt_soff, 0)
                or buf_i32(&self.filt_loff, 0) or buf_i32(&self.filt_soff, 0)):
            raise MemoryError()
        self.last_chrom_ok = -1
        self.fmt_nkeys = -1
        for i in range(32):
            self.hints[i] = -1

    def __dealloc__(self):
        cdef int i
        if self.cols != NULL:
            for i in range(self.ncols):
                buf_free(&self.cols[i].vals)
                buf_free(&self.cols[i].voff)
                buf_free(&self.cols[i].vvalid)
                buf_free(&self.cols[i].loff)
                buf_free(&self.cols[i].lvalid)
                buf_free(&self.cols[i].soff)
                buf_free(&self.cols[i].svalid)
                buf_free(&self.cols[i].phased)
            free(self.cols)
        buf_free(&self.chrom_off); buf_free(&self.chrom_data); buf_free(&self.pos)
        buf_free(&self.end); buf_free(&self.id_off); buf_free(&self.id_data)
        buf_free(&self.id_valid); buf_free(&self.ref_off); buf_free(&self.ref_data)
        buf_free(&self.alt_loff); buf_free(&self.alt_soff); buf_free(&self.alt_data)
        buf_free(&self.qual); buf_free(&self.qual_valid); buf_free(&self.filt_loff)
        buf_free(&self.filt_soff); buf_free(&self.filt_data); buf_free(&self.last_chrom)
        buf_free(&self.fmt_text); buf_free(&self.fmt_map)

    def reserve(self, Py_ssize_t nbytes):
        """Pre-size the fixed and INFO buffers for about ``nbytes`` of input (fewer reallocs)."""
        cdef Py_ssize_t rows = nbytes // 64 + 16
        cdef int i
        cdef Col* c
        if (buf_reserve(&self.pos, rows * 8) or buf_reserve(&self.end, rows * 8)
                or buf_reserve(&self.chrom_off, rows * 4) or buf_reserve(&self.chrom_data, rows * 6)
                or buf_reserve(&self.id_off, rows * 4) or buf_reserve(&self.id_valid, rows)
                or buf_reserve(&self.ref_off, rows * 4) or buf_reserve(&self.ref_data, rows * 2)
                or buf_reserve(&self.alt_loff, rows * 4) or buf_reserve(&self.alt_soff, rows * 4)
                or buf_reserve(&self.alt_data, rows * 2) or buf_reserve(&self.qual, rows * 4)
                or buf_reserve(&self.qual_valid, rows) or buf_reserve(&self.filt_loff, rows * 4)
                or buf_reserve(&self.filt_soff, rows * 4) or buf_reserve(&self.filt_data, rows * 5)):
            raise MemoryError()
        for i in range(self.c.ninfo):
            c = &self.cols[i]
            if (buf_reserve(&c.vals, rows * 4)
                    or (c.is_list and (buf_reserve(&c.loff, rows * 4)
                                       or buf_reserve(&c.lvalid, rows)))):
                raise MemoryError()

    def fixed(self, str name):
        """Take the buffers of a fixed column (ownership moves to the returned objects)."""
        if name == "chrom":
            return take(&self.chrom_off), take(&self.chrom_data)
        if name == "pos":
            return take(&self.pos)
        if name == "end":
            return take(&self.end)
        if name == "id":
            return take(&self.id_off), take(&self.id_data), take(&self.id_valid)
        if name == "ref":
            return take(&self.ref_off), take(&self.ref_data)
        if name == "alt":
            return take(&self.alt_loff), take(&self.alt_soff), take(&self.alt_data)
        if name == "qual":
            return take(&self.qual), take(&self.qual_valid)
        if name == "filter":
            return take(&self.filt_loff), take(&self.filt_soff), take(&self.filt_data)
        raise KeyError(name)

    def column(self, int i):
        """Take the buffers of INFO/FORMAT column ``i`` (INFO first, then FORMAT)."""
        if not 0 <= i < self.ncols:
            raise IndexError(i)
        cdef Col* c = &self.cols[i]
        return {"vals": take(&c.vals), "voff": take(&c.voff), "vvalid": take(&c.vvalid),
                "loff": take(&c.loff), "lvalid": take(&c.lvalid), "soff": take(&c.soff),
                "svalid": take(&c.svalid), "phased": take(&c.phased),
                "nleaf": c.nleaf, "nlist": c.nlist, "nsamp": c.nsamp}


# -- kernels ---------------------------------------------------------------------------------

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


cdef inline int push_str(Buf* off, Buf* data, const char* s, const char* e) noexcept nogil:
    if buf_bytes(data, s, e - s):
        return -1
    return buf_i32(off, <int32_t>data.len)


cdef inline int push_list(Buf* loff, Buf* soff, Buf* data, int64_t* n, const char* s, const char* e,
                   char sep) noexcept nogil:
    """Split [s, e) on ``sep`` into a list of strings; '.' alone is the empty list.

    As htslib does, an empty ALT allele reads as '.' and a trailing empty FILTER is dropped."""
    cdef const char* t
    cdef const char* dot = "."
    if not is_dot(s, e):
        while True:
            t = find(s, e, sep)
            if t > s or (sep == 59 and t < e):
                if push_str(soff, data, s, t):
                    return -1
                n[0] += 1
            elif sep == 44:
                if push_str(soff, data, dot, dot + 1):
                    return -1
                n[0] += 1
            if t >= e:
                break
            s = t + 1
    return buf_i32(loff, <int32_t>n[0])


cdef inline int leaf_null(Col* c) noexcept nogil:
    """A missing value.  Integers and floats store a sentinel (htslib's own: INT32_MIN and
    the float NaN 0x7F800001) instead of a validity byte; Python builds the bitmap."""
    cdef uint32_t bits = MISSING_F32
    c.nleaf += 1
    if c.kind == _K_INT:
        return buf_i32(&c.vals, MISSING_I32)
    if c.kind == _K_FLOAT:
        return buf_f32(&c.vals, (<float*>&bits)[0])
    if buf_u8(&c.vvalid, 0):
        return -1
    if c.kind == _K_STR:
        return buf_i32(&c.voff, <int32_t>c.vals.len)
    return buf_u8(&c.vals, 0)


cdef inline int leaf(Col* c, const char* s, const char* e) noexcept nogil:
    """Append one value; returns 0, -1 (out of memory) or 1 (not of the column's type)."""
    cdef int64_t iv
    cdef float fv
    cdef int st
    if c.kind == _K_FLAG:
        c.nleaf += 1
        if buf_u8(&c.vvalid, 1):
            return -1
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
    c.nleaf += 1
    if buf_u8(&c.vvalid, 1) or buf_bytes(&c.vals, s, e - s):
        return -1
    return buf_i32(&c.voff, <int32_t>c.vals.len)


cdef inline int close_list(Col* c, uint8_t valid) noexcept nogil:
    c.nlist += 1
    if buf_u8(&c.lvalid, valid):
        return -1
    return buf_i32(&c.loff, <int32_t>c.nleaf)


cdef inline const char* delim(const char* s, const char* e, char stop) noexcept nogil:
    """First ',' or ``stop`` in [s, e), or e (values are short: a byte loop)."""
    while s < e and s[0] != 44 and s[0] != stop:
        s += 1
    return s


cdef inline int int_item(Col* c, const char** ps, const char* e, char stop) noexcept nogil:
    """One integer (or '.') at ``*ps`` in a single pass; ``*ps`` moves to the delimiter."""
    cdef const char* s = ps[0]
    cdef bint neg = False
    cdef int64_t v = 0
    cdef int nd = 0
    cdef unsigned int d
    if s < e and s[0] == 46:
        s += 1
        if s < e and s[0] != 44 and s[0] != stop:
            return 1
        ps[0] = s
        return leaf_null(c)
    if s < e and (s[0] == 45 or s[0] == 43):
        neg = s[0] == 45
        s += 1
        if s >= e or <unsigned int>(<unsigned char>s[0] - 48) > 9:
            return 1
    while s < e:
        d = <unsigned char>s[0] - 48
        if d > 9:
            break
        if nd < 18:
            v = v * 10 + d
        nd += 1
        s += 1
    if s < e and s[0] != 44 and s[0] != stop:
        return 1
    ps[0] = s
    if nd == 0:
        return leaf_null(c)
    if neg:
        v = -v
    if nd > 10 or v > 2147483647 or v < INT32_MIN_VALID:
        return leaf_null(c)   # htslib: extreme values are read as missing
    c.nleaf += 1
    return buf_i32(&c.vals, <int32_t>v)


cdef inline int float_item(Col* c, const char** ps, const char* e, char stop) noexcept nogil:
    """One float (or '.') at ``*ps``; ``*ps`` moves to the delimiter."""
    cdef const char* s = ps[0]
    cdef const char* q
    cdef double v
    cdef int st
    q = fast_f64(s, e, &v)
    if q != NULL and (q >= e or q[0] == 44 or q[0] == stop):
        ps[0] = q
        c.nleaf += 1
        return buf_f32(&c.vals, <float>v)
    q = delim(s, e, stop)
    ps[0] = q
    return leaf(c, s, q)


cdef inline int value_to(Col* c, const char* s, const char* e, char stop, const char** endp) noexcept nogil:
    """One INFO value or FORMAT sample value starting at ``s``, ending at ``stop`` or ``e``.

    A scalar, or a ','-separated list; ``*endp`` is set to where it ended.
    Returns 0, -1 (out of memory) or 1 (does not match the header)."""
    cdef const char* t
    cdef int st
    if not c.is_list:
        if c.kind == _K_STR or c.kind == _K_FLAG:
            t = find(s, e, stop)
            endp[0] = t
            return leaf(c, s, t)
        if c.kind == _K_INT:
            st = int_item(c, &s, e, stop)
        else:
            st = float_item(c, &s, e, stop)
        endp[0] = s
        if st == 0 and s < e and s[0] == 44:
            return 1   # several values where the header says Number=1
        return st
    if s >= e or s[0] == stop:
        endp[0] = s
        return close_list(c, 1)   # "KEY=" : an empty list (htslib)
    while True:
        if c.kind == _K_INT:
            st = int_item(c, &s, e, stop)
        elif c.kind == _K_FLOAT:
            st = float_item(c, &s, e, stop)
        else:
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
    if c.kind == _K_FLAG:
        c.nleaf += 1
        if buf_u8(&c.vvalid, 1):
            return -1
        return buf_u8(&c.vals, 0)
    if c.is_list or c.kind == _K_GT:
        if c.kind == _K_GT and buf_u8(&c.phased, 0):
            return -1
        return close_list(c, 0)
    return leaf_null(c)


cdef int gt_value(Col* c, const char* s, const char* e, int64_t nallele) noexcept nogil:
    """GT: allele indices (-1 for '.') and one phase flag (every separator is '|').

    An index beyond the record's alleles reads as missing, as in htslib."""
    cdef int64_t a
    cdef bint phased = True
    cdef int nsep = 0
    cdef unsigned int d
    if s < e and (s[0] == 124 or s[0] == 47):   # VCF 4.4 explicit phase of the first allele
        phased = s[0] == 124
        nsep += 1
        s += 1
    if s >= e:
        return 1
    while True:
        if s < e and s[0] == 46:
            a = -1
            s += 1
        else:
            a = 0
            if s >= e or <unsigned int>(<unsigned char>s[0] - 48) > 9:
                return 1
            while s < e:
                d = <unsigned char>s[0] - 48
                if d > 9:
                    break
                if a < 1000000:
                    a = a * 10 + d
                s += 1
            if a >= nallele:
                a = -1
            elif a > 32767:
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
    if buf_u8(&c.svalid, valid):
        return -1
    return buf_i32(&c.soff, <int32_t>c.nsamp)


cdef int set_format(Parsed r, const char* s, const char* e) noexcept nogil:
    """Map the keys of a FORMAT column to output columns (cached while it repeats)."""
    cdef Cfg* c = r.c
    cdef const char* t
    cdef const char* k
    cdef const char* t2
    cdef int n = 0, j, col, m
    cdef int32_t* mp
    if r.fmt_nkeys >= 0 and r.fmt_text.len == e - s and memcmp(r.fmt_text.data, s, e - s) == 0:
        return 0
    r.fmt_text.len = 0
    if buf_bytes(&r.fmt_text, s, e - s):
        return ST_NOMEM
    r.fmt_map.len = 0
    r.fmt_gt = -1
    if is_dot(s, e):
        r.fmt_nkeys = 0
        return 0
    while True:
        t = find(s, e, 58)  # ':'
        col = -1
        for j in range(c.nfmt):
            if c.fmt[j].keylen == t - s and memcmp(c.fmt[j].key, s, t - s) == 0:
                col = c.ninfo + j
                break
        # duplicated keys are an error (htslib rejects them too)
        k = r.fmt_text.data
        m = 0
        while m < n:
            t2 = find(k, r.fmt_text.data + r.fmt_text.len, 58)
            if t2 - k == t - s and t - s > 0 and memcmp(k, s, t - s) == 0:
                r.fmt_nkeys = -1
                return ST_DUP_FORMAT
            k = t2 + 1
            m += 1
        if t - s == 2 and s[0] == 71 and s[1] == 84:   # GT
            if n != 0:
                r.fmt_nkeys = -1
                return ST_GT_NOT_FIRST
            r.fmt_gt = 0
        if buf_i32(&r.fmt_map, col):
            return ST_NOMEM
        n += 1
        if t >= e:
            break
        s = t + 1
    r.fmt_nkeys = n
    return 0


cdef int samples(Parsed r, const char* s, const char* e, int64_t nallele, int64_t* bad_col,
                 const char** bad_s, const char** bad_e) noexcept nogil:
    """Decode the sample columns [s, e) (after FORMAT) into the FORMAT output columns.

    ``s > e`` means the line has no sample columns."""
    cdef Cfg* c = r.c
    cdef int32_t* mp = <int32_t*>r.fmt_map.data
    cdef int nk = r.fmt_nkeys
    cdef int i = 0, k, st, j
    cdef int seen = 0
    cdef const char* q = s
    cdef const char* t
    cdef const char* f
    cdef const char* u
    cdef Col* col
    if nk == 0:
        return 0   # FORMAT '.': nothing to read in the sample columns
    while q <= e and i < c.nsamples:
        t = find(q, e, 9)
        if c.slot[i] >= 0:
            seen += 1
            f = q
            k = 0
            u = f
            while k < nk:
                u = find(f, t, 58)
                if mp[k] >= 0:
                    col = &r.cols[mp[k]]
                    col.nsamp += 1
                    if col.kind == _K_GT:
                        st = gt_value(col, f, u, nallele)
                        if st == 1:
                            bad_s[0] = f
                            bad_e[0] = u
                            return ST_BAD_GT
                    else:
                        st = value(col, f, u)
                        if st == 1:
                            bad_col[0] = mp[k]
                            bad_s[0] = f
                            bad_e[0] = u
                            return ST_BAD_FORMAT
                    if st:
                        return ST_NOMEM
                k += 1
                if u >= t:
                    break
                f = u + 1
            if k == nk and u < t:
                bad_s[0] = q
                bad_e[0] = t
                return ST_SAMPLE_FIELDS
            while k < nk:   # trailing fields dropped
                if mp[k] >= 0:
                    col = &r.cols[mp[k]]
                    col.nsamp += 1
                    if missing(col):
                        return ST_NOMEM
                k += 1
        i += 1
        q = t + 1
    if q <= e:
        bad_s[0] = q
        bad_e[0] = e
        return ST_TOO_MANY_SAMPLES
    # selected samples absent from a short line
    for j in range(c.nsel - seen):
        for k in range(nk):
            if mp[k] >= 0:
                col = &r.cols[mp[k]]
                col.nsamp += 1
                if missing(col):
                    return ST_NOMEM
    return 0


cdef int info_end(const char* s, const char* e, int64_t* out) noexcept nogil:
    """Find INFO/END in [s, e); 1 when found (and an integer)."""
    cdef const char* t
    while s < e:
        t = find(s, e, 59)
        if t - s > 4 and s[0] == 69 and s[1] == 78 and s[2] == 68 and s[3] == 61:
            return parse_i64(s + 4, t, out) == NUM_OK
        s = t + 1
    return 0


cdef bint chrom_valid(const char* s, const char* e) noexcept nogil:
    """htslib refuses a contig name with ',' or an unclosed '<' (``<1>`` is fine)."""
    if s >= e or (s[0] == 60 and e[-1] != 62):
        return False
    return memchr(s, 44, e - s) == NULL


cdef int chrom_check(Parsed r, const char* s, const char* e) noexcept nogil:
    """1 keep, 0 drop, -1 invalid name, -2 out of memory (cached while the name repeats)."""
    cdef Cfg* c = r.c
    cdef int j, ok
    if r.last_chrom_ok >= 0 and r.last_chrom.len == e - s and memcmp(r.last_chrom.data, s, e - s) == 0:
        return r.last_chrom_ok
    if not chrom_valid(s, e):
        return -1
    ok = 1
    if c.nchrom >= 0:
        ok = 0
        for j in range(c.nchrom):
            if c.chromlen[j] == e - s and memcmp(c.chrom[j], s, e - s) == 0:
                ok = 1
                break
    r.last_chrom.len = 0
    if buf_bytes(&r.last_chrom, s, e - s):
        return -2
    r.last_chrom_ok = ok
    return ok


cdef bint filter_pass(Cfg* c, const char* s, const char* e) noexcept nogil:
    cdef const char* t
    cdef int j
    if is_dot(s, e):
        return False
    while True:
        t = find(s, e, 59)
        for j in range(c.nfilter):
            if c.filtlen[j] == t - s and memcmp(c.filt[j], s, t - s) == 0:
                return True
        if t >= e:
            return False
        s = t + 1


cdef inline int lookup_info(Parsed r, int pos, const char* k, Py_ssize_t n) noexcept nogil:
    """INFO column of key [k, k+n) (-1 if not requested); rows usually repeat the key order
    of the previous row, so the column found for the same position is tried first."""
    cdef Cfg* c = r.c
    cdef int j, h = r.hints[pos & 31]
    if h >= 0 and c.info[h].keylen == n and same(c.info[h].key, k, n):
        return h
    for j in range(c.ninfo):
        if c.info[j].keylen == n and same(c.info[j].key, k, n):
            r.hints[pos & 31] = j
            return j
    return -1


cdef int parse_line(Parsed r, const char* p, const char* le) noexcept nogil:
    cdef Cfg* c = r.c
    cdef const char* fs[9]
    cdef const char* fe[9]
    cdef const char* q = p
    cdef const char* t
    cdef const char* ks
    cdef const char* e7
    cdef const char* bs = NULL
    cdef const char* be = NULL
    cdef int i, nf, st, j, kpos
    cdef int64_t pos, endv = 0, row, bad_col = -1, nallele, iv
    cdef double qv = 0
    cdef bint has_qual
    cdef float qf = 0
    cdef Col* col
    # split the eight fixed columns (and FORMAT)
    nf = 0
    while nf < 9:
        t = swar_find(q, le, 9)
        fs[nf] = q
        fe[nf] = t
        nf += 1
        if t >= le:
            break
        q = t + 1
    if nf < 8:
        r.err_value = nf
        return ST_FEW_COLUMNS
    # cheap columns and the pushdown, before anything expensive
    st = chrom_check(r, fs[0], fe[0])
    if st == -1:
        r.err_start, r.err_end = 0, fe[0] - fs[0]
        return ST_BAD_CHROM
    if st == -2:
        return ST_NOMEM
    if st == 0:
        return 0
    if parse_i64(fs[1], fe[1], &pos) != NUM_OK or pos < 0:
        r.err_start, r.err_end = fs[1] - p, fe[1] - p
        return ST_BAD_POS
    if c.pos.on and not rng_ok(&c.pos, <double>pos):
        return 0
    if c.start.on and not rng_ok(&c.start, <double>(pos - 1)):
        return 0
    has_qual = (c.want & _W_QUAL or c.qual.on) and not is_dot(fs[5], fe[5])
    if has_qual:
        if parse_f64(fs[5], fe[5], &qv) != NUM_OK:
            r.err_start, r.err_end = fs[5] - p, fe[5] - p
            return ST_BAD_QUAL
        qf = <float>qv
    if c.qual.on and (not has_qual or not rng_ok(&c.qual, <double>qf)):
        return 0
    if c.nfilter >= 0 and not filter_pass(c, fs[6], fe[6]):
        return 0
    if c.need_end:
        # INFO/END when it is an integer not before POS - 1, else the REF length
        if c.end_col >= 0 or not c.has_end or not info_end(fs[7], fe[7], &endv) \
                or endv < pos - 1:
            endv = pos - 1 + (fe[3] - fs[3])
        if c.end.on and not rng_ok(&c.end, <double>endv):
            return 0
    # the row is kept: decode
    row = r.nrows
    if c.want & _W_CHROM and push_str(&r.chrom_off, &r.chrom_data, fs[0], fe[0]):
        return ST_NOMEM
    if c.want & _W_POS and buf_i64(&r.pos, pos):
        return ST_NOMEM
    if c.want & _W_ID:
        if is_dot(fs[2], fe[2]):
            if buf_u8(&r.id_valid, 0) or buf_i32(&r.id_off, <int32_t>r.id_data.len):
                return ST_NOMEM
        elif buf_u8(&r.id_valid, 1) or push_str(&r.id_off, &r.id_data, fs[2], fe[2]):
            return ST_NOMEM
    if c.want & _W_REF and push_str(&r.ref_off, &r.ref_data, fs[3], fe[3]):
        return ST_NOMEM
    if c.want & _W_ALT and push_list(&r.alt_loff, &r.alt_soff, &r.alt_data, &r.n_alt,
                                     fs[4], fe[4], 44):
        return ST_NOMEM
    if c.want & _W_QUAL:
        if buf_u8(&r.qual_valid, has_qual) or buf_f32(&r.qual, qf if has_qual else 0):
            return ST_NOMEM
    if c.want & _W_FILTER and push_list(&r.filt_loff, &r.filt_soff, &r.filt_data, &r.n_filt,
                                        fs[6], fe[6], 59):
        return ST_NOMEM
    if c.ninfo:
        q = fs[7]
        e7 = fe[7]
        if not is_dot(q, e7):
            kpos = 0
            while q < e7:
                ks = q
                # rows usually repeat the previous row's key order: try that key first
                j = r.hints[kpos & 31]
                if j >= 0 and q + c.info[j].keylen <= e7 and same(c.info[j].key, q,
                                                                  c.info[j].keylen):
                    q += c.info[j].keylen
                    if q < e7 and q[0] != 61 and q[0] != 59:
                        j = -2
                else:
                    j = -2
                if j == -2:
                    q = ks
                    while q < e7 and q[0] != 61 and q[0] != 59:   # '=' ';'
                        q += 1
                    j = lookup_info(r, kpos, ks, q - ks)
                kpos += 1
                if j >= 0 and r.cols[j].stamp != row:
                    col = &r.cols[j]
                    col.stamp = row
                    if q < e7 and q[0] == 61:
                        st = value_to(col, q + 1, e7, 59, &q)
                    elif col.kind == _K_FLAG:
                        st = leaf(col, q, q)
                    else:
                        st = missing(col)
                    if st == 1:
                        t = find(q, e7, 59)
                        r.err_start, r.err_end = ks - p, t - p
                        r.err_value = j
                        return ST_BAD_INFO
                    if st:
                        return ST_NOMEM
                elif q < e7 and q[0] == 61:
                    q = find(q, e7, 59)
                q += 1
        for j in range(c.ninfo):
            if r.cols[j].stamp != row:
                if missing(&r.cols[j]):
                    return ST_NOMEM
        if c.end_col >= 0:   # END was decoded above: take it from there
            col = &r.cols[c.end_col]
            iv = (<int32_t*>col.vals.data)[col.nleaf - 1]
            if iv != MISSING_I32:
                if iv >= pos - 1:
                    endv = iv
            elif col.stamp == row and info_end(fs[7], fe[7], &iv) and iv >= pos - 1:
                endv = iv   # END beyond int32 (null in info.END) still sets the end
    if c.want & _W_END and buf_i64(&r.end, endv):
        return ST_NOMEM
    if c.nfmt:
        if nf == 9:
            t = find(fs[8], le, 9)
            st = set_format(r, fs[8], t)
            if st:
                r.err_start, r.err_end = fs[8] - p, t - p
                return st
            for j in range(c.ninfo, r.ncols):
                r.cols[j].stamp = -1
            for j in range(r.fmt_nkeys):
                i = (<int32_t*>r.fmt_map.data)[j]
                if i >= 0:
                    r.cols[i].stamp = row
            nallele = 1
            if not is_dot(fs[4], fe[4]):
                q = fs[4]
                while q < fe[4]:
                    nallele += 1
                    q = find(q, fe[4], 44) + 1
            st = samples(r, t + 1 if t < le else le + 1, le, nallele, &bad_col, &bs, &be)
            if st:
                if bs != NULL:
                    r.err_start, r.err_end = bs - p, be - p
                r.err_value = bad_col
                return st
            for j in range(c.ninfo, r.ncols):
                col = &r.cols[j]
                if close_samples(col, col.stamp == row):
                    return ST_NOMEM
        else:
            for j in range(c.ninfo, r.ncols):
                if close_samples(&r.cols[j], 0):
                    return ST_NOMEM
    r.nrows += 1
    return 0


cdef int parse_buffer(Parsed r, const char* data, Py_ssize_t n) noexcept nogil:
    cdef const char* p = data
    cdef const char* end = data + n
    cdef const char* eol
    cdef const char* le
    cdef int st
    while p < end:
        eol = <const char*>memchr(p, 10, end - p)
        if eol == NULL:
            eol = end
        le = eol
        if le > p and le[-1] == 13:
            le -= 1
        if le == p:
            r.err_line = r.lines
            r.err_start = r.err_end = p - data
            return ST_BLANK_LINE
        if p[0] != 35:  # '#'
            st = parse_line(r, p, le)
            if st:
                r.err_line = r.lines
                r.err_start += p - data
                r.err_end += p - data
                if r.err_end <= r.err_start:
                    r.err_start, r.err_end = p - data, le - data
                return st
        r.lines += 1
        p = eol + 1
    return 0


def parse_chunk(Config cfg, const uint8_t[::1] data, Parsed into=None):
    """Parse whole lines into a new :class:`Parsed`, or append them to ``into``.

    The GIL is released while parsing.  ``lines`` and ``err_line`` count every
    line given to the same :class:`Parsed`; ``err_start``/``err_end`` are offsets
    in ``data``."""
    cdef Parsed r = Parsed(cfg) if into is None else into
    cdef Py_ssize_t n = data.shape[0]
    cdef const char* p
    if n:
        p = <const char*>&data[0]
        with nogil:
            r.status = parse_buffer(r, p, n)
    return r


# -- genotype-only path ----------------------------------------------------------------------

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
    cdef unsigned int d
    if s < e and (s[0] == 124 or s[0] == 47):
        s += 1
    if s >= e:
        return ST_BAD_GT
    while True:
        if s < e and s[0] == 46:
            a = -1
            s += 1
        else:
            a = 0
            if s >= e or <unsigned int>(<unsigned char>s[0] - 48) > 9:
                return ST_BAD_GT
            while s < e:
                d = <unsigned char>s[0] - 48
                if d > 9:
                    break
                if a < 1000000:
                    a = a * 10 + d
                s += 1
            if a >= nallele:
                a = -1   # beyond the record's alleles: missing, as in htslib
            elif a > 127 and not g.wide:
                g.err_value = a
                return ST_ALLELE_RANGE
            elif a > 32767:
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
                if le > p and le[-1] == 13:
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

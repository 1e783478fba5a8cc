"""VCF data-line kernels: text chunk -> typed column buffers (nogil).

``Config`` holds what the caller decided (which columns, which INFO/FORMAT keys
with which types, which samples, the pushdown); it is read-only while chunks
are parsed, so several threads may share it.  ``parse_chunk`` fills a fresh
``Parsed`` per chunk of whole lines: the fixed columns, then, for rows that
pass the pushdown, the requested INFO and FORMAT keys.  Lines starting with
``#`` are skipped.  On malformed input the kernel stops, records a status code,
the line index in the chunk and the offending byte range, and the caller
(genomicframe.formats.vcf) raises.  The value kernels live in ``_vcfcols.pxd``, the
INFO decoder in ``_vcfinfo.pxd``, the line and field scanners in ``_text.pxd``;
``vcf_gt.pyx`` is the genotype-only path.
"""
import enum as _enum

from libc.stdint cimport uint8_t, int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, malloc, free
from libc.string cimport memchr, memcmp, memset

from genomicframe._parsers._buffers cimport (
    Buf, buf_reserve, buf_free, buf_bytes, buf_text, buf_u8, buf_valid, buf_i32, buf_i64, buf_f32)
from genomicframe._parsers._owned cimport take
from genomicframe._parsers._text cimport (
    find, swar_find, line, same, is_dot, parse_i64, parse_f64, num_uint15, num_float, NUM_OK)
from genomicframe._parsers._vcfcols cimport *
from cpython.bytes cimport PyBytes_FromStringAndSize
from genomicframe._parsers._vcfinfo cimport (
    KeySpec, InfoKeys, Unknown, note_unknown, key_hash, info_row, info_flush, info_end)

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

# status codes (defined in _vcfcols.pxd, shared with the genotype path)
Status = _enum.IntEnum("Status", {
    "ST_OK": ST_OK, "ST_NOMEM": ST_NOMEM, "ST_FEW_COLUMNS": ST_FEW_COLUMNS,
    "ST_BAD_POS": ST_BAD_POS, "ST_BAD_QUAL": ST_BAD_QUAL, "ST_BAD_INFO": ST_BAD_INFO,
    "ST_BAD_FORMAT": ST_BAD_FORMAT, "ST_BAD_GT": ST_BAD_GT, "ST_BLANK_LINE": ST_BLANK_LINE,
    "ST_SAMPLE_FIELDS": ST_SAMPLE_FIELDS, "ST_TOO_MANY_SAMPLES": ST_TOO_MANY_SAMPLES,
    "ST_BAD_CHROM": ST_BAD_CHROM, "ST_DUP_FORMAT": ST_DUP_FORMAT,
    "ST_GT_NOT_FIRST": ST_GT_NOT_FIRST, "ST_PLOIDY": ST_PLOIDY,
    "ST_ALLELE_RANGE": ST_ALLELE_RANGE})

cdef enum:
    _W_CHROM = 1
    _W_POS = 2
    _W_END = 4
    _W_ID = 8
    _W_REF = 16
    _W_ALT = 32
    _W_QUAL = 64
    _W_FILTER = 128


cdef struct Rng:
    int on
    double lo
    double hi
    int loi
    int hii


cdef struct Cfg:
    int want
    int need_end
    int has_end           # the header knows INFO/END (as an Integer)
    int end_col           # INFO column of END when it is decoded anyway (no end pushdown), or -1
    InfoKeys ik
    int nfmt              # FORMAT keys decoded: fmt[0:nfmt]
    int nfmt_all          # and keys known to be skipped: fmt[nfmt:nfmt_all]
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
                 qual=None, bint has_end=True, int end_col=-1, skip_info=(), skip_fmt=()):
        """``info``/``fmt``: lists of ``(key bytes, kind, is_list)``; ``slots``: per header
        sample its output slot or -1; ``chroms``/``filters``: allowed byte strings or None;
        range arguments: objects with lo/hi/lo_inclusive/hi_inclusive or None; ``skip_info``:
        INFO keys (bytes) that are not decoded but expected in the data (skipped faster);
        ``skip_fmt``: FORMAT keys (bytes) known but not decoded (any other FORMAT key met is
        noted, see :meth:`Parsed.unknown_format`)."""
        cdef int i
        self._keep = []
        self.c.want = want
        self.c.need_end = need_end
        self.c.has_end = has_end
        self.c.end_col = end_col
        skip_info = [k for k in skip_info if k not in {key for key, _, _ in info}]
        self.c.ik.ninfo = len(info)
        self.c.ik.nkeys = len(info) + len(skip_info)
        self.c.ik.info = <KeySpec*>calloc(max(1, self.c.ik.nkeys), sizeof(KeySpec))
        skip_fmt = [k for k in skip_fmt if k not in {key for key, _, _ in fmt}]
        self.c.nfmt = len(fmt)
        self.c.nfmt_all = len(fmt) + len(skip_fmt)
        self.c.fmt = <KeySpec*>calloc(max(1, self.c.nfmt_all), sizeof(KeySpec))
        self.c.nsamples = nsamples
        self.c.slot = <int32_t*>calloc(max(1, nsamples), sizeof(int32_t))
        if self.c.ik.info == NULL or self.c.fmt == NULL or self.c.slot == NULL:
            raise MemoryError()
        for i, (key, kind, is_list) in enumerate(info):
            self._spec(&self.c.ik.info[i], key, kind, is_list)
        for i, key in enumerate(skip_info):
            self._spec(&self.c.ik.info[self.c.ik.ninfo + i], key, -1, 0)
        self._hash_info()
        for i, (key, kind, is_list) in enumerate(fmt):
            self._spec(&self.c.fmt[i], key, kind, is_list)
        for i, key in enumerate(skip_fmt):
            self._spec(&self.c.fmt[self.c.nfmt + i], key, -1, 0)
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
        s.eq = s.eqmask = 0
        if len(key) <= 7:
            s.eq = int.from_bytes(key + b"=", "little")
            s.eqmask = 0xFFFFFFFFFFFFFFFFULL >> (8 * (7 - len(key)))

    cdef int _hash_info(self) except -1:
        cdef uint32_t size = 16, h
        cdef int i
        while size < 4 * <uint32_t>self.c.ik.nkeys:
            size *= 2
        self.c.ik.hmask = size - 1
        self.c.ik.htab = <int32_t*>calloc(size, sizeof(int32_t))
        if self.c.ik.htab == NULL:
            raise MemoryError()
        for i in range(self.c.ik.nkeys):
            h = key_hash(self.c.ik.info[i].key, self.c.ik.info[i].key + self.c.ik.info[i].keylen)
            while self.c.ik.htab[h & self.c.ik.hmask]:
                h += 1
            self.c.ik.htab[h & self.c.ik.hmask] = i + 1
        return 0

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
        free(self.c.ik.info)
        free(self.c.ik.htab)
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
    cdef int* succ       # INFO key seen after key j - 1 (succ[0]: first key)
    cdef Unknown unk     # INFO keys neither decoded nor known to be skipped
    cdef Unknown unk_fmt # the same for FORMAT keys

    def __cinit__(self, Config cfg):
        cdef int i
        self.cfg_ref = cfg
        self.c = &cfg.c
        self.ncols = cfg.c.ik.ninfo + cfg.c.nfmt
        self.cols = <Col*>calloc(max(1, self.ncols), sizeof(Col))
        if self.cols == NULL:
            raise MemoryError()
        for i in range(self.ncols):
            if i < cfg.c.ik.ninfo:
                self.cols[i].kind = cfg.c.ik.info[i].kind
                self.cols[i].is_list = cfg.c.ik.info[i].is_list
            else:
                self.cols[i].kind = cfg.c.fmt[i - cfg.c.ik.ninfo].kind
                self.cols[i].is_list = cfg.c.fmt[i - cfg.c.ik.ninfo].is_list
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
        self.succ = <int*>malloc((cfg.c.ik.nkeys + 1) * sizeof(int))
        if self.succ == NULL:
            raise MemoryError()
        for i in range(cfg.c.ik.nkeys + 1):
            self.succ[i] = -1

    def __dealloc__(self):
        cdef int i
        free(self.succ)
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

    cdef Buf* _buf(self, int k):
        """Buffer ``k``: the 17 fixed-column buffers, then eight per INFO/FORMAT column."""
        cdef Buf* fixed[17]
        cdef Col* c
        if k < 17:
            fixed[:] = [&self.chrom_off, &self.chrom_data, &self.pos, &self.end, &self.id_off,
                        &self.id_data, &self.id_valid, &self.ref_off, &self.ref_data,
                        &self.alt_loff, &self.alt_soff, &self.alt_data, &self.qual,
                        &self.qual_valid, &self.filt_loff, &self.filt_soff, &self.filt_data]
            return fixed[k]
        c = &self.cols[(k - 17) // 8]
        k = (k - 17) % 8
        return (&c.vals if k == 0 else &c.voff if k == 1 else &c.vvalid if k == 2 else
                &c.loff if k == 3 else &c.lvalid if k == 4 else &c.soff if k == 5 else
                &c.svalid if k == 6 else &c.phased)

    def unknown_info(self):
        """INFO keys met that were neither decoded nor known to be skipped (undeclared keys
        the schema lacks): a list of ``(key, line)``, ``line`` counted like ``err_line``;
        at most the first few distinct keys."""
        cdef int i
        return [(PyBytes_FromStringAndSize(self.unk.text + self.unk.off[i],
                                           self.unk.off[i + 1] - 1 - self.unk.off[i]),
                 self.unk.line[i]) for i in range(self.unk.n)]

    def unknown_format(self):
        """FORMAT keys met that were neither decoded nor known to be skipped, as
        :meth:`unknown_info` (noted only while FORMAT keys are decoded)."""
        cdef int i
        return [(PyBytes_FromStringAndSize(self.unk_fmt.text + self.unk_fmt.off[i],
                                           self.unk_fmt.off[i + 1] - 1 - self.unk_fmt.off[i]),
                 self.unk_fmt.line[i]) for i in range(self.unk_fmt.n)]

    def size_hint(self, Py_ssize_t nbytes):
        """Bytes each buffer holds per byte of the ``nbytes`` of input parsed (for
        :meth:`reserve` of the next chunks); read it before taking the buffers."""
        cdef int k
        return [self._buf(k).len / nbytes if nbytes else 0.0 for k in range(17 + 8 * self.ncols)]

    def reserve(self, Py_ssize_t nbytes, list hint=None):
        """Pre-size the buffers for about ``nbytes`` of input: from ``hint`` (a
        :meth:`size_hint` of earlier input, plus 1/8), else from a row estimate
        (fixed and INFO value buffers).  Fewer reallocs, which copy."""
        cdef Py_ssize_t rows = nbytes // 64 + 16, want
        cdef int i, k
        cdef Col* c
        if hint is not None and len(hint) == 17 + 8 * self.ncols:
            for k in range(17 + 8 * self.ncols):
                want = <Py_ssize_t>(nbytes * <double>hint[k])
                if want > 0 and buf_reserve(self._buf(k), want + want // 8 + 64):
                    raise MemoryError()
            return
        if (buf_reserve(&self.pos, rows * 8) or buf_reserve(&self.end, rows * 8)
                or buf_reserve(&self.chrom_off, rows * 4) or buf_reserve(&self.chrom_data, rows * 6)
                or buf_reserve(&self.id_off, rows * 4) or buf_reserve(&self.id_valid, rows)
                or buf_reserve(&self.ref_off, rows * 4) or buf_reserve(&self.ref_data, rows * 2)
                or buf_reserve(&self.alt_loff, rows * 4) or buf_reserve(&self.alt_soff, rows * 4)
                or buf_reserve(&self.alt_data, rows * 2) or buf_reserve(&self.qual, rows * 4)
                or buf_reserve(&self.qual_valid, rows) or buf_reserve(&self.filt_loff, rows * 4)
                or buf_reserve(&self.filt_soff, rows * 4) or buf_reserve(&self.filt_data, rows * 5)):
            raise MemoryError()
        for i in range(self.c.ik.ninfo):
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

cdef inline int push_str(Buf* off, Buf* data, const char* s, const char* e,
                         const char* lim) noexcept nogil:
    """Append the string [s, e); bytes up to ``lim`` (the line end) may be read."""
    if buf_text(data, s, e - s, lim):
        return -1
    return buf_i32(off, <int32_t>data.len)


cdef inline int push_list(Buf* loff, Buf* soff, Buf* data, int64_t* n, const char* s, const char* e,
                          char sep, const char* lim) noexcept nogil:
    """Split [s, e) on ``sep`` into a list of strings; '.' alone is the empty list.

    As htslib does, an empty ALT allele reads as '.' and a trailing empty FILTER is dropped."""
    cdef const char* t
    cdef const char* dot = "."
    if not is_dot(s, e):
        while True:
            t = swar_find(s, e, sep)
            if t > s or (sep == 59 and t < e):
                if push_str(soff, data, s, t, lim):
                    return -1
                n[0] += 1
            elif sep == 44:
                if push_str(soff, data, dot, dot + 1, dot + 1):
                    return -1
                n[0] += 1
            if t >= e:
                break
            s = t + 1
    return buf_i32(loff, <int32_t>n[0])


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
        for j in range(c.nfmt_all):
            if c.fmt[j].keylen == t - s and memcmp(c.fmt[j].key, s, t - s) == 0:
                if j < c.nfmt:
                    col = c.ik.ninfo + j
                break
        else:
            if t > s:
                note_unknown(&r.unk_fmt, s, t)
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


cdef bint chrom_valid(const char* s, const char* e) noexcept nogil:
    """htslib refuses a contig name with ',' or an unclosed '<' (``<1>`` is fine)."""
    if s >= e or (s[0] == 60 and (e - 1)[0] != 62):
        return False
    return memchr(s, 44, e - s) == NULL


cdef int chrom_check(Parsed r, const char* s, const char* e) noexcept nogil:
    """1 keep, 0 drop, -1 invalid name, -2 out of memory (cached while the name repeats)."""
    cdef Cfg* c = r.c
    cdef int j, ok
    if r.last_chrom_ok >= 0 and r.last_chrom.len == e - s and same(r.last_chrom.data, s, e - s):
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


cdef int parse_line(Parsed r, const char* p, const char* le, const char* lim,
                    const char** tab, int nf) noexcept nogil:
    """One data line [p, le) whose first ``nf`` tabs (up to nine) are at ``tab``; bytes
    up to ``lim`` may be read."""
    cdef Cfg* c = r.c
    cdef const char* fs[10]
    cdef const char* fe[10]
    cdef const char* q = p
    cdef const char* t
    cdef const char* ks
    cdef const char* e7
    cdef const char* bs = NULL
    cdef const char* be = NULL
    cdef int i, st, j, kpos
    cdef int64_t pos, endv = 0, row, bad_col = -1, nallele, iv
    cdef uint64_t upos
    cdef double qv = 0
    cdef bint has_qual
    cdef float qf = 0
    cdef Col* col
    # the eight fixed columns (and FORMAT)
    fs[0] = p
    for i in range(9):   # a fixed count (unrolled, no memcpy call); entries past nf are unused
        fe[i] = tab[i]
        fs[i + 1] = tab[i] + 1
    fe[nf] = le
    nf += 1
    if nf > 9:
        nf = 9
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
    if num_uint15(fs[1], le, &upos) == fe[1]:
        pos = <int64_t>upos
    elif parse_i64(fs[1], fe[1], &pos) != NUM_OK or pos < 0:
        r.err_start, r.err_end = fs[1] - p, fe[1] - p
        return ST_BAD_POS
    if c.pos.on and not rng_ok(&c.pos, <double>pos):
        return 0
    if c.start.on and not rng_ok(&c.start, <double>(pos - 1)):
        return 0
    has_qual = (c.want & _W_QUAL or c.qual.on) and not is_dot(fs[5], fe[5])
    if has_qual:
        if num_float(fs[5], le, &qv) != fe[5] and parse_f64(fs[5], fe[5], &qv) != NUM_OK:
            r.err_start, r.err_end = fs[5] - p, fe[5] - p
            return ST_BAD_QUAL
        qf = <float>qv
    if c.qual.on and (not has_qual or not rng_ok(&c.qual, <double>qf)):
        return 0
    if c.nfilter >= 0 and not filter_pass(c, fs[6], fe[6]):
        return 0
    if c.need_end:
        # INFO/END when it is an integer not before POS - 1, else the REF length
        if c.end_col >= 0 or not c.has_end or not info_end(fs[7], fe[7], lim, &endv) \
                or endv < pos - 1:
            endv = pos - 1 + (fe[3] - fs[3])
        if c.end.on and not rng_ok(&c.end, <double>endv):
            return 0
    # the row is kept: decode
    row = r.nrows
    if c.want & _W_CHROM and push_str(&r.chrom_off, &r.chrom_data, fs[0], fe[0], le):
        return ST_NOMEM
    if c.want & _W_POS and buf_i64(&r.pos, pos):
        return ST_NOMEM
    if c.want & _W_ID:
        if is_dot(fs[2], fe[2]):
            if buf_valid(&r.id_valid, row, 0) or buf_i32(&r.id_off, <int32_t>r.id_data.len):
                return ST_NOMEM
        elif buf_valid(&r.id_valid, row, 1) or push_str(&r.id_off, &r.id_data, fs[2], fe[2], le):
            return ST_NOMEM
    if c.want & _W_REF and push_str(&r.ref_off, &r.ref_data, fs[3], fe[3], le):
        return ST_NOMEM
    if c.want & _W_ALT and push_list(&r.alt_loff, &r.alt_soff, &r.alt_data, &r.n_alt,
                                     fs[4], fe[4], 44, le):
        return ST_NOMEM
    if c.want & _W_QUAL:
        if buf_valid(&r.qual_valid, row, has_qual) or buf_f32(&r.qual, qf if has_qual else 0):
            return ST_NOMEM
    if c.want & _W_FILTER and push_list(&r.filt_loff, &r.filt_soff, &r.filt_data, &r.n_filt,
                                        fs[6], fe[6], 59, le):
        return ST_NOMEM
    if c.ik.ninfo:
        r.unk.cur_line = r.lines
        st = info_row(&c.ik, r.cols, r.succ, fs[7], fe[7], lim, row, &bs, &be, &kpos, &r.unk)
        if st:
            if bs != NULL:
                r.err_start, r.err_end = bs - p, be - p
                r.err_value = kpos
            return st
        if c.end_col >= 0 and r.cols[c.end_col].stamp == row:   # END was decoded above
            col = &r.cols[c.end_col]
            iv = (<int32_t*>col.vals.data)[col.nleaf - 1]
            if iv != MISSING_I32:
                if iv >= pos - 1:
                    endv = iv
            elif info_end(fs[7], fe[7], lim, &iv) and iv >= pos - 1:
                endv = iv   # END beyond int32 (null in info.END) still sets the end
    if c.want & _W_END and buf_i64(&r.end, endv):
        return ST_NOMEM
    if c.nfmt:
        if nf == 9:
            t = find(fs[8], le, 9)
            r.unk_fmt.cur_line = r.lines
            st = set_format(r, fs[8], t)
            if st:
                r.err_start, r.err_end = fs[8] - p, t - p
                return st
            for j in range(c.ik.ninfo, r.ncols):
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
            for j in range(c.ik.ninfo, r.ncols):
                col = &r.cols[j]
                if close_samples(col, col.stamp == row):
                    return ST_NOMEM
        else:
            for j in range(c.ik.ninfo, r.ncols):
                if close_samples(&r.cols[j], 0):
                    return ST_NOMEM
    r.nrows += 1
    return 0


cdef int parse_buffer(Parsed r, const char* data, Py_ssize_t n) noexcept nogil:
    cdef const char* p = data
    cdef const char* end = data + n
    cdef const char* eol
    cdef const char* le
    cdef const char* tab[9]
    cdef int st, ntab
    for st in range(9):   # defined values for the entries a short line leaves unset
        tab[st] = data
    while p < end:
        eol = line(p, end, tab, 9, &ntab)   # the line's end and its first tabs, in one pass
        le = eol
        if le > p and (le - 1)[0] == 13:
            le -= 1
        if le == p:
            r.err_line = r.lines
            r.err_start = r.err_end = p - data
            return ST_BLANK_LINE
        if p[0] != 35:  # '#'
            st = parse_line(r, p, le, end, tab, ntab)
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
            if r.status == 0:
                r.status = info_flush(&cfg.c.ik, r.cols, r.nrows)
    return r



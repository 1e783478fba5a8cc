"""FASTA retrieval kernels over a memory-mapped ``.gfi`` name index.

:class:`GfiView` reads the sections of a ``.gfi`` file (layout in
``genomicframe/fasta/gfi.py`` and ``docs/fasta.md``) straight from the mapped
bytes: names are resolved by hash through a radix directory and a binary search,
then verified byte for byte; requests become uncompressed byte ranges; ranges
become BGZF block runs; inflated bytes become sequences with line ends removed.
Nothing here allocates per record except the output buffers; no numpy needed.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free, qsort
from libc.string cimport memchr, memcmp, memcpy, memset
from posix.mman cimport madvise, mincore, MADV_DONTNEED, MADV_WILLNEED
from genomicframe._parsers._gfi cimport (GfiKey as Key, gfi_hash, gfi_home, gfi_seq_off,
                                         gfi_flags, gfi_length, gfi_line_width, gfi_hdr_off)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.exc cimport PyErr_Clear

cdef extern from "Python.h":
    # declared here without an exception value: a failure is handled below
    const char* _as_utf8 "PyUnicode_AsUTF8AndSize"(object s, Py_ssize_t* size)

from array import array

cdef enum:
    FLAG_ODD_BYTES = 2


cdef extern from *:
    void __builtin_prefetch(const void* addr) noexcept nogil

#: how many queries ahead of the current one the lookup prefetches
DEF PREFETCH_AHEAD = 16
#: page size assumed by the read-ahead requests (a larger real page only reads more)
DEF PAGE = 4096
#: wanted page ranges closer than this many pages are read as one request
DEF READ_GAP = 8
#: ranges probed with mincore before deciding whether a phase needs read-ahead at all
DEF PROBE_RANGES = 32
#: pages of large ranges probed with mincore before taking a phase's pages as cached
DEF PROBE_PAGES = 4096
#: pages per read-ahead request: Linux reads at most the device's read-ahead window
#: (128 KiB by default) per MADV_WILLNEED call and silently drops the rest
DEF READ_CHUNK = 32


#: header bytes read past a name's length to confirm it (spaces before the name, the
#: byte after it); a longer run of spaces is confirmed by reading the whole line
DEF HEADER_SLACK_ = 64
HEADER_SLACK = HEADER_SLACK_



cdef const char* _utf8(object s, Py_ssize_t* size, list keep) except NULL:
    """UTF-8 bytes of str ``s`` (held by ``s`` itself, or by a bytes object put in
    ``keep`` when ``s`` holds lone surrogates)."""
    cdef const char* p = _as_utf8(s, size)
    if p != NULL:
        return p
    PyErr_Clear()
    b = (<str>s).encode("utf-8", "surrogateescape")
    keep.append(b)
    size[0] = PyBytes_GET_SIZE(b)
    return PyBytes_AS_STRING(b)


cdef const char* _text(object item, Py_ssize_t* size, list keep) except NULL:
    """Bytes and length of a name or header given as ``bytes`` or ``str`` (see
    :func:`_utf8`); anything else is a TypeError."""
    if isinstance(item, bytes):
        size[0] = PyBytes_GET_SIZE(item)
        return PyBytes_AS_STRING(item)
    if isinstance(item, str):
        return _utf8(item, size, keep)
    raise TypeError(f"a record name must be str or bytes, not {type(item).__name__}")


cdef Py_ssize_t _name_len(object item) except -1:
    cdef Py_ssize_t sz
    _text(item, &sz, [])
    return sz


cdef struct KeyIdx:
    int64_t key
    int64_t idx


cdef struct HashIdx:
    uint64_t key
    int64_t idx


cdef int _cmp_hashidx(const void* a, const void* b) noexcept nogil:
    cdef const HashIdx* x = <const HashIdx*>a
    cdef const HashIdx* y = <const HashIdx*>b
    if x.key != y.key:
        return -1 if x.key < y.key else 1
    return -1 if x.idx < y.idx else (1 if x.idx > y.idx else 0)


cdef int _sort_hashidx(HashIdx* a, Py_ssize_t m) noexcept nogil:
    """Sort ``a`` by (key, idx) when idx ascends on entry: a stable LSD radix sort
    (six 11-bit digits) for large arrays, ``qsort`` for small ones.  -1: no memory."""
    cdef HashIdx* tmp
    cdef HashIdx* src
    cdef HashIdx* dst
    cdef HashIdx* sw
    cdef Py_ssize_t cnt[2048]
    cdef Py_ssize_t i, total, c
    cdef int shift, d
    if m < 256:
        qsort(a, m, sizeof(HashIdx), _cmp_hashidx)
        return 0
    tmp = <HashIdx*>malloc(m * sizeof(HashIdx))
    if tmp == NULL:
        return -1
    src = a
    dst = tmp
    for shift in range(0, 66, 11):
        memset(cnt, 0, sizeof(cnt))
        for i in range(m):
            cnt[(src[i].key >> shift) & 2047] += 1
        if cnt[(src[0].key >> shift) & 2047] == m:
            continue  # every key has this digit: the order does not change
        total = 0
        for d in range(2048):
            c = cnt[d]
            cnt[d] = total
            total += c
        for i in range(m):
            d = (src[i].key >> shift) & 2047
            dst[cnt[d]] = src[i]
            cnt[d] += 1
        sw = src
        src = dst
        dst = sw
    if src != a:
        memcpy(a, src, m * sizeof(HashIdx))
    free(tmp)
    return 0


# -- reading the pages of a lookup ahead -----------------------------------------------------
# A lookup that finds its .gfi pages outside the page cache would fault them in one 4 KiB
# read at a time.  Each sweep of the lookup instead first lists the page ranges it will
# touch (as HashIdx: key = first page, idx = end page), merges the close ones and asks the
# kernel to read them all (MADV_WILLNEED, asynchronous), so the reads overlap and adjacent
# pages come in large requests; when the first ranges are all resident, nothing is asked.
cdef inline void _page_range(HashIdx* r, Py_ssize_t start, Py_ssize_t stop,
                             Py_ssize_t n_pages) noexcept nogil:
    """Pages holding bytes [start, stop) of the mapping (at least one byte)."""
    r.key = <uint64_t>(start // PAGE)
    r.idx = min((max(stop, start + 1) + PAGE - 1) // PAGE, n_pages)


cdef Py_ssize_t _merge_ranges(HashIdx* r, Py_ssize_t n) noexcept nogil:
    """Merge page ranges sorted by start that lie within READ_GAP pages of each other."""
    cdef Py_ssize_t i, k = 0
    if n == 0:
        return 0
    for i in range(1, n):
        if <int64_t>r[i].key <= r[k].idx + READ_GAP:
            if r[i].idx > r[k].idx:
                r[k].idx = r[i].idx
        else:
            k += 1
            r[k] = r[i]
    return k + 1


cdef void _read_ahead(const uint8_t* base, HashIdx* r, Py_ssize_t n) noexcept nogil:
    """Ask for the pages of ranges ``r[0:n]`` (sorted by start; merged in place) that are
    not in the page cache to be read, READ_CHUNK pages per request.

    The ranges are checked with mincore until one page is found missing (then small
    ranges are requested unchecked, large ones checked to request only what is
    missing), or until PROBE_RANGES small ranges and PROBE_PAGES pages of large
    ones were all found cached: then the file is taken as cached.
    """
    cdef unsigned char vec[512]
    cdef Py_ssize_t i, j, c, cc, probed = 0, pages = 0
    cdef int64_t a, end, k
    cdef bint cold = False, small, missing
    n = _merge_ranges(r, n)
    for i in range(n):
        a = r[i].key
        end = r[i].idx
        small = end - a <= READ_CHUNK
        if small:
            if cold:
                madvise(<void*>(base + a * PAGE), (end - a) * PAGE, MADV_WILLNEED)
                continue
            if probed >= PROBE_RANGES:
                continue
            probed += 1
        while a < end:
            if not cold and not small:
                if pages >= PROBE_PAGES:
                    break
            k = min(end - a, 512)
            pages += k
            if mincore(<void*>(base + a * PAGE), k * PAGE, vec) != 0:
                break  # cannot tell: leave these pages to the page faults
            for c in range(0, k, READ_CHUNK):
                cc = min(READ_CHUNK, k - c)
                missing = False
                for j in range(c, c + cc):
                    if not (vec[j] & 1):
                        missing = True
                        break
                if missing:
                    cold = True
                    madvise(<void*>(base + (a + c) * PAGE), cc * PAGE, MADV_WILLNEED)
            a += k


cdef int _cmp_keyidx(const void* a, const void* b) noexcept nogil:
    cdef const KeyIdx* x = <const KeyIdx*>a
    cdef const KeyIdx* y = <const KeyIdx*>b
    if x.key != y.key:
        return -1 if x.key < y.key else 1
    return -1 if x.idx < y.idx else (1 if x.idx > y.idx else 0)


def argsort_int64(const int64_t[::1] keys):
    """Stable argsort of int64 keys -> ``array('q')`` of positions."""
    cdef Py_ssize_t n = keys.shape[0], i
    out = array("q", bytes(8 * n))
    cdef int64_t[::1] o = out
    cdef KeyIdx* tmp
    if n == 0:
        return out
    tmp = <KeyIdx*>malloc(n * sizeof(KeyIdx))
    if tmp == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            tmp[i].key = keys[i]
            tmp[i].idx = i
        qsort(tmp, n, sizeof(KeyIdx), _cmp_keyidx)
        for i in range(n):
            o[i] = tmp[i].idx
    free(tmp)
    return out


#: 8-byte words per entry copy (as :meth:`GfiView.lookup` returns them); word 0 is the slot
ENTRY_WORDS = sizeof(Key) // 8


cdef inline bint _space(uint8_t c) noexcept nogil:
    return c == 32 or (9 <= c <= 13)


cdef class GfiView:
    """Typed access to the sections of a mapped ``.gfi`` buffer (kept alive by this object).

    Records are addressed by slot (their position in the hash table).  A
    lookup gives each name the slot of a key with the same hash; the name
    itself is confirmed against the record's header line in the data
    (:meth:`header_ranges`, :meth:`verify`), as the ``.gfi`` holds no names.
    """
    cdef object buf
    cdef const uint8_t* base
    cdef const Key* keys
    cdef const uint64_t* ends
    cdef const uint64_t* forder
    cdef const uint64_t* coff
    cdef const uint64_t* uoff
    cdef readonly int64_t n_keys, n_home, n_slots, n_blocks
    cdef public bint mapped  # buf is a file mapping: passed slot pages may be dropped
    cdef public object owner  # the mmap object behind buf (None when not mapped)
    cdef Py_ssize_t size

    @property
    def buffer(self):
        """The buffer this view reads (a memoryview of the mapped file)."""
        return self.buf

    def __cinit__(self, const uint8_t[::1] buf, int64_t n_keys, int64_t n_home,
                  int64_t n_slots, int64_t n_blocks, int64_t off_keys, int64_t off_ends,
                  int64_t off_forder, int64_t off_blocks):
        # offsets and sizes were validated by the Python reader (genomicframe.fasta.gfi)
        if sizeof(Key) != 32:
            raise RuntimeError("unexpected .gfi slot layout")
        self.buf = buf
        self.base = &buf[0]
        self.size = buf.shape[0]
        self.keys = <const Key*>(self.base + off_keys)
        self.ends = <const uint64_t*>(self.base + off_ends)
        self.forder = <const uint64_t*>(self.base + off_forder)
        self.coff = <const uint64_t*>(self.base + off_blocks)
        self.uoff = self.coff + n_blocks + 1
        self.n_keys = n_keys
        self.n_home = n_home
        self.n_slots = n_slots
        self.n_blocks = n_blocks

    cdef void _drop_passed(self, uint64_t h) noexcept nogil:
        """Unmap the slot pages well below the home of hash ``h``: queries come in hash
        order, so they are not needed again; the pages stay in the page cache."""
        cdef Py_ssize_t start, stop
        start = ((<const uint8_t*>self.keys - self.base) + 4095) & ~(<Py_ssize_t>4095)
        stop = ((<const uint8_t*>(self.keys + gfi_home(h, self.n_home)) - self.base)
                - 65536) & ~(<Py_ssize_t>4095)
        if stop > start:
            madvise(<void*>(self.base + start), stop - start, MADV_DONTNEED)

    cdef bint _page_cached(self, const void* p) noexcept nogil:
        cdef unsigned char v = 1
        cdef size_t a = <size_t>p & ~(<size_t>PAGE - 1)
        if mincore(<void*>a, PAGE, &v) != 0:
            return True  # cannot tell
        return v & 1

    cdef bint _looks_cached(self, const HashIdx* q, Py_ssize_t m) noexcept nogil:
        """Whether the pages a lookup of queries ``q`` reads seem to be in the page cache:
        the home slots of up to 32 queries spread over the batch are checked (mincore)
        without touching anything missing."""
        cdef Py_ssize_t i = 0, step = max(m // 32, 1)
        while i < m:
            if not self._page_cached(self.keys + gfi_home(q[i].key, self.n_home)):
                return False
            i += step
        return True

    cdef int _read_ahead_table(self, const HashIdx* q, Py_ssize_t m) noexcept nogil:
        """Read ahead the home slots (and the few after them) of queries ``q`` (hash order)."""
        cdef HashIdx* r = <HashIdx*>malloc((m + 1) * sizeof(HashIdx))
        cdef Py_ssize_t i, n_pages = (self.size + PAGE - 1) // PAGE
        cdef Py_ssize_t k0 = <const uint8_t*>self.keys - self.base
        cdef uint64_t lo
        if r == NULL:
            return -1
        for i in range(m):
            lo = gfi_home(q[i].key, self.n_home)
            _page_range(r + i, k0 + sizeof(Key) * lo,
                        k0 + sizeof(Key) * min(lo + 4, <uint64_t>self.n_slots), n_pages)
        _read_ahead(self.base, r, m)
        free(r)
        return 0

    cdef inline int64_t _probe(self, uint64_t h) noexcept nogil:
        """Slot of the first key with hash ``h``, or -1: from the home slot on, past the
        keys of smaller hashes, up to an empty slot or a larger hash."""
        cdef uint64_t p = gfi_home(h, self.n_home)
        cdef uint64_t n = <uint64_t>self.n_slots
        while p < n and self.keys[p].hash != 0 and self.keys[p].hash < h:
            p += 1
        if p < n and self.keys[p].hash == h:
            return <int64_t>p
        return -1

    def lookup(self, list names):
        """Resolve names -> ``(slots, entries, n_missing, n_special)``.

        ``names`` are ``bytes`` or ``str`` (UTF-8, lone surrogates as
        ``surrogateescape`` writes them).  ``slots`` (``array('q')``) holds the
        slot of the first key whose hash is the name's, -1 when there is none;
        the name is a candidate until confirmed against its header line
        (:meth:`verify`).  ``entries`` is a copy of each found slot (32 bytes;
        zeros when absent) with the slot number in place of the hash, for
        :meth:`ranges`; ``n_missing`` counts names without a slot, ``n_special``
        names holding ``:`` or ``{`` (possible region strings).  Queries are
        resolved in hash order, so the table is read front to back whatever the
        order of the request, and pages already passed are unmapped as the sweep
        goes.  When a probe finds the table's pages out of the page cache, the
        pages the sweep will touch are first requested from the kernel in bulk
        (merged ranges, ``MADV_WILLNEED``), so they come in few large,
        overlapping reads instead of one page fault per page.
        """
        cdef Py_ssize_t i, m = PyList_GET_SIZE(names)
        out = array("q", bytes(8 * m))
        cdef int64_t[::1] o = out
        entries = PyBytes_FromStringAndSize(NULL, m * sizeof(Key))
        cdef Key* ent = <Key*>PyBytes_AS_STRING(entries)
        cdef int64_t kk
        cdef Py_ssize_t n_missing = 0, n_special = 0
        cdef bint cold
        cdef list keep = []
        cdef HashIdx* q = <HashIdx*>malloc((m + 1) * sizeof(HashIdx))
        cdef const char** ptr = <const char**>malloc((m + 1) * sizeof(char*))
        cdef Py_ssize_t* ln = <Py_ssize_t*>malloc((m + 1) * sizeof(Py_ssize_t))
        cdef Py_ssize_t j
        if q == NULL or ptr == NULL or ln == NULL:
            free(q)
            free(ptr)
            free(ln)
            raise MemoryError()
        try:
            for i in range(m):
                ptr[i] = _text(<object>PyList_GET_ITEM(names, i), &ln[i], keep)
                if ln[i] and (memchr(ptr[i], 58, ln[i]) != NULL or memchr(ptr[i], 123, ln[i]) != NULL):
                    n_special += 1
            with nogil:
                for i in range(m):
                    q[i].key = gfi_hash(<const uint8_t*>ptr[i], ln[i])
                    q[i].idx = i
                if _sort_hashidx(q, m) < 0:
                    with gil:
                        raise MemoryError()
                cold = self.n_slots and self.mapped and not self._looks_cached(q, m)
                if cold:
                    if self._read_ahead_table(q, m) < 0:
                        with gil:
                            raise MemoryError()
                if self.n_slots:
                    # one sweep in hash order, prefetching the home slot of a later query
                    # so that the cache misses of many queries overlap
                    for i in range(min(m, PREFETCH_AHEAD)):
                        __builtin_prefetch(self.keys + gfi_home(q[i].key, self.n_home))
                for i in range(m):
                    if self.n_slots == 0:
                        kk = -1
                    else:
                        j = i + PREFETCH_AHEAD
                        if j < m:
                            __builtin_prefetch(self.keys + gfi_home(q[j].key, self.n_home))
                        kk = self._probe(q[i].key)
                    o[q[i].idx] = kk
                    if kk >= 0:
                        ent[q[i].idx] = self.keys[kk]
                        ent[q[i].idx].hash = <uint64_t>kk
                    else:
                        memset(&ent[q[i].idx], 0, sizeof(Key))
                        n_missing += 1
                    if self.mapped and (i & 1023) == 1023:
                        self._drop_passed(q[i].key)
        finally:
            free(q)
            free(ptr)
            free(ln)
        return out, entries, n_missing, n_special

    def next_slot(self, int64_t s):
        """The slot after ``s`` when its key has the same hash (a hash collision), else -1."""
        if not 0 <= s < self.n_slots:
            raise IndexError(s)
        if s + 1 < self.n_slots and self.keys[s + 1].hash == self.keys[s].hash:
            return s + 1
        return -1

    def entries(self, const int64_t[::1] slots):
        """Copies of slots ``slots`` (as :meth:`lookup` gives them)."""
        cdef Py_ssize_t i, m = slots.shape[0]
        out = PyBytes_FromStringAndSize(NULL, m * sizeof(Key))
        cdef Key* ent = <Key*>PyBytes_AS_STRING(out)
        for i in range(m):
            if not 0 <= slots[i] < self.n_slots or self.keys[slots[i]].hash == 0:
                raise IndexError(slots[i])
            ent[i] = self.keys[slots[i]]
            ent[i].hash = <uint64_t>slots[i]
        return out

    def file_slot(self, int64_t i):
        """Slot of the ``i``-th indexed record in file order."""
        if not 0 <= i < self.n_keys:
            raise IndexError(i)
        return <int64_t>self.forder[i]

    def record(self, int64_t k):
        """``(seq_off, length, line_bases, line_width, flags, hdr_off, rec_end)`` of slot ``k``."""
        if not 0 <= k < self.n_slots or self.keys[k].hash == 0:
            raise IndexError(k)
        cdef const Key* e = self.keys + k
        return (gfi_seq_off(e), gfi_length(e), e.line_bases, gfi_line_width(e), gfi_flags(e),
                gfi_hdr_off(e), self.ends[k])

    def ranges(self, const uint8_t[::1] entries, int64_t[::1] starts, int64_t[::1] ends,
               int64_t[::1] ubeg, int64_t[::1] uend):
        """Clamp ``[starts, ends)`` to each record and fill its uncompressed byte range.

        ``entries`` holds one entry per request (from :meth:`lookup` or
        :meth:`entries`).  Coordinates are 0-based half-open; a negative end
        means "to the end of the record".  On return ``starts``/``ends`` hold the
        clamped values and ``ubeg``/``uend`` the bytes that hold those bases
        (empty when no base).  A record whose sequence lines hold non-base bytes
        (spaces...) gets the byte range up to its end, as htslib reads until it
        has enough bases.
        """
        cdef Py_ssize_t i, m = starts.shape[0]
        cdef const Key* e
        cdef const Key* ent = <const Key*>&entries[0] if entries.shape[0] else NULL
        cdef int64_t s, t, ln, lb, lw, so
        if entries.shape[0] != m * <Py_ssize_t>sizeof(Key):
            raise ValueError("one entry per request is needed")
        with nogil:
            for i in range(m):
                e = ent + i
                ln = gfi_length(e)
                lb = e.line_bases
                lw = gfi_line_width(e)
                so = gfi_seq_off(e)
                s = starts[i]
                t = ends[i]
                if t < 0 or t > ln:
                    t = ln
                if s < 0:
                    s = 0
                if s > t:
                    s = t
                starts[i] = s
                ends[i] = t
                if t == s or lb <= 0:
                    ubeg[i] = so
                    uend[i] = so
                    ends[i] = s
                    continue
                ubeg[i] = so + (s // lb) * lw + s % lb
                if gfi_flags(e) & FLAG_ODD_BYTES:
                    uend[i] = self.ends[e.hash]
                else:
                    uend[i] = so + ((t - 1) // lb) * lw + (t - 1) % lb + 1

    def header_ranges(self, const uint8_t[::1] entries, list names, int64_t[::1] ubeg,
                      int64_t[::1] uend, int64_t[::1] size, Py_ssize_t slack=HEADER_SLACK_):
        """Byte ranges of the header lines to check ``names`` against (see :meth:`verify`).

        Range ``i`` starts at the ``>`` of entry ``i``'s record and holds its
        header line, at most ``len(names[i]) + slack`` bytes of it (the name may
        follow spaces); ``slack < 0`` takes whole lines.  ``size[i]`` receives
        the range's length.
        """
        cdef Py_ssize_t i, m = PyList_GET_SIZE(names)
        cdef const Key* ent = <const Key*>&entries[0] if entries.shape[0] else NULL
        cdef int64_t n, h
        if entries.shape[0] != m * <Py_ssize_t>sizeof(Key):
            raise ValueError("one entry per name is needed")
        for i in range(m):
            n = _name_len(<object>PyList_GET_ITEM(names, i))
            h = ent[i].hdr_len
            if slack >= 0 and h > n + slack:
                h = n + slack
            ubeg[i] = gfi_hdr_off(ent + i)
            uend[i] = ubeg[i] + h
            size[i] = h

    def verify(self, list names, list bufs, const int64_t[::1] buf_of,
               const int64_t[::1] starts, const int64_t[::1] lens, Py_ssize_t first=0):
        """Indices ``i`` whose ``names[i]`` is not the name on the header line in
        ``bufs[buf_of[first + i]][starts[first + i]:][:lens[first + i]]`` -> ``list``.

        A header line names its record by the first run of non-space bytes after
        the ``>`` (spaces before it are skipped), as the index build reads it.
        """
        cdef Py_ssize_t i, m = PyList_GET_SIZE(names), n, j, k
        cdef const uint8_t* p
        cdef const char* nm
        cdef list keep = []
        bad = []
        for i in range(m):
            nm = _text(<object>PyList_GET_ITEM(names, i), &n, keep)
            k = lens[first + i]
            p = <const uint8_t*>PyBytes_AS_STRING(<object>PyList_GET_ITEM(bufs, buf_of[first + i])) \
                + starts[first + i]
            if k < 1 or p[0] != 62:
                bad.append(i)
                continue
            j = 1
            while j < k and p[j] != 10 and _space(p[j]):
                j += 1
            # the name, then a space or the line's end, all within the bytes read
            if j + n >= k or memcmp(p + j, nm, n) != 0 or not _space(p[j + n]):
                bad.append(i)
        return bad

    def line_bases(self, const uint8_t[::1] entries):
        """Bases per sequence line of each entry -> ``array('q')``."""
        cdef Py_ssize_t i, m = entries.shape[0] // sizeof(Key)
        cdef const Key* ent = <const Key*>&entries[0] if entries.shape[0] else NULL
        out = array("q", bytes(8 * m))
        cdef int64_t[::1] o = out
        for i in range(m):
            o[i] = ent[i].line_bases
        return out

    def record_spans(self, const uint8_t[::1] entries, int64_t[::1] ubeg, int64_t[::1] uend):
        """Whole-record byte spans (header, sequence and newlines) of entries."""
        cdef Py_ssize_t i, m = entries.shape[0] // sizeof(Key)
        cdef const Key* ent = <const Key*>&entries[0] if entries.shape[0] else NULL
        for i in range(m):
            ubeg[i] = gfi_hdr_off(ent + i)
            uend[i] = self.ends[ent[i].hash]

    def block_of(self, int64_t u):
        """Index of the data block holding uncompressed offset ``u``."""
        return self._block_of(u)

    cdef int64_t _block_of(self, int64_t u) noexcept nogil:
        cdef int64_t lo = 0, hi = self.n_blocks, mid
        # last block whose uoffset <= u
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if <int64_t>self.uoff[mid] <= u:
                lo = mid
            else:
                hi = mid
        return lo

    def plan(self, const int64_t[::1] order, const int64_t[::1] ubeg, const int64_t[::1] uend,
             int64_t max_blocks, int64_t max_gap=4):
        """Group requests (visited in ``order``, sorted by ``ubeg``) into inflate tasks.

        Returns ``(tasks, need)``: ``tasks`` is a list of ``(first_block,
        last_block, first_pos, end_pos)`` with positions into ``order``; a block
        is never shared by two tasks, so every block is inflated once.  A task
        spans at most ``max_blocks`` blocks (more only to finish a shared block)
        and may skip runs of up to ``max_gap`` unneeded blocks, which it reads
        (one ``pread`` per task) but does not inflate.  ``need[b]`` is how many
        bytes of block ``b`` are wanted from its start; unneeded blocks keep 0.
        """
        cdef Py_ssize_t m = order.shape[0], p, p0 = 0
        cdef int64_t i, b0, b1, cur0 = -1, cur1 = -1, lim, want
        need = array("q", bytes(8 * max(self.n_blocks, 1)))
        cdef int64_t[::1] nd = need
        tasks = []
        for p in range(m):
            i = order[p]
            if uend[i] <= ubeg[i]:
                continue
            b0 = self._block_of(ubeg[i])
            b1 = self._block_of(uend[i] - 1)
            if cur0 >= 0 and b0 > cur1 and (b0 > cur1 + 1 + max_gap
                                             or b1 - cur0 + 1 > max_blocks):
                tasks.append((cur0, cur1, p0, p))
                cur0 = -1
            if cur0 < 0:
                cur0 = b0
                cur1 = b1
                p0 = p
            elif b1 > cur1:
                cur1 = b1
            # every block before b1 is wanted whole; b1 up to the last byte
            for lim in range(b0, b1):
                nd[lim] = <int64_t>(self.uoff[lim + 1] - self.uoff[lim])
            want = uend[i] - <int64_t>self.uoff[b1]
            if want > nd[b1]:
                nd[b1] = want
        if cur0 >= 0:
            tasks.append((cur0, cur1, p0, m))
        return tasks, need

    def block_coffsets(self, int64_t b0, int64_t b1):
        """``(coffset[b0], coffset[b1 + 1])``: compressed byte span of blocks b0..b1."""
        return self.coff[b0], self.coff[b1 + 1]

    def block_info(self, int64_t b):
        """``(coffset, next coffset, uoffset, uncompressed size)`` of data block ``b``."""
        return (self.coff[b], self.coff[b + 1], self.uoff[b],
                self.uoff[b + 1] - self.uoff[b])


def extract(list pieces, const int64_t[::1] piece_u0, const int64_t[::1] order,
            Py_ssize_t p0, Py_ssize_t p1, const int64_t[::1] ubeg, const int64_t[::1] uend,
            const int64_t[::1] want, int64_t[::1] got, int64_t raw_from=-1):
    """Copy the bases of requests ``order[p0:p1]`` out of inflated ``pieces``.

    ``pieces[k]`` holds uncompressed bytes from offset ``piece_u0[k]`` (pieces
    are in offset order and may be shorter than their block when the inflate
    stopped early).  Bytes in ``[ubeg, uend)`` that are bases (isgraph) are
    copied, at most ``want`` of them (every byte for requests ``i >= raw_from``
    when ``raw_from >= 0``); ``got[i]`` receives the count.  Returns one
    bytes object with the sequences in ``order[p0:p1]`` order.
    """
    cdef Py_ssize_t npieces = PyList_GET_SIZE(pieces), k, p, total = 0
    cdef const uint8_t** ptr
    cdef Py_ssize_t* plen
    cdef int64_t i, u, stop, w, n
    cdef const uint8_t* src
    cdef uint8_t c
    cdef char* o
    cdef Py_ssize_t pos = 0, kk
    cdef bint raw
    cdef object item
    for p in range(p0, p1):
        total += want[order[p]]
    out = PyBytes_FromStringAndSize(NULL, total)
    o = PyBytes_AS_STRING(out)
    ptr = <const uint8_t**>malloc((npieces + 1) * sizeof(uint8_t*))
    plen = <Py_ssize_t*>malloc((npieces + 1) * sizeof(Py_ssize_t))
    if ptr == NULL or plen == NULL:
        free(ptr)
        free(plen)
        raise MemoryError()
    try:
        for k in range(npieces):
            item = <object>PyList_GET_ITEM(pieces, k)
            mv = memoryview(item)
            plen[k] = len(mv)
            if plen[k]:
                ptr[k] = <const uint8_t*>_addr(item)
            else:
                ptr[k] = NULL
        with nogil:
            kk = 0
            for p in range(p0, p1):
                i = order[p]
                raw = 0 <= raw_from <= i
                w = want[i]
                n = 0
                u = ubeg[i]
                stop = uend[i]
                while kk + 1 < npieces and piece_u0[kk + 1] <= u:
                    kk += 1
                k = kk
                while n < w and u < stop and k < npieces:
                    if u - piece_u0[k] >= plen[k]:
                        k += 1
                        if k < npieces and piece_u0[k] > u:
                            u = piece_u0[k]
                        continue
                    src = ptr[k] + (u - piece_u0[k])
                    # copy the bases, skipping line ends: copy runs of bases up to the next non-base byte
                    while n < w and u < stop and u - piece_u0[k] < plen[k]:
                        c = src[0]
                        if raw or 33 <= c <= 126:
                            o[pos + n] = <char>c
                            n += 1
                        src += 1
                        u += 1
                got[i] = n
                pos += w
    finally:
        free(ptr)
        free(plen)
    return out


cdef const char* _addr(object obj) except NULL:
    cdef const uint8_t[::1] mv = obj
    return <const char*>&mv[0]


def write_fasta(list headers, const uint8_t[::1] seq, const int64_t[::1] starts,
                const int64_t[::1] lens, const int64_t[::1] widths):
    """FASTA text: ``>header`` then the sequence wrapped at ``widths[i]`` (0: one line).

    Headers are ``bytes`` or ``str`` (written as UTF-8).  Record ``i`` is
    ``seq[starts[i]:starts[i] + lens[i]]``; an empty sequence gives the header
    line alone, as ``samtools faidx`` prints it.
    """
    cdef Py_ssize_t m = PyList_GET_SIZE(headers), i, need = 0, pos = 0, n, k, take, width
    cdef const uint8_t* sp = &seq[0] if seq.shape[0] else NULL
    cdef object h
    cdef char* o
    cdef list keep = []
    cdef const char** hp
    cdef Py_ssize_t* hl
    if starts.shape[0] != m or lens.shape[0] != m or widths.shape[0] != m:
        raise ValueError("headers, starts, lens and widths differ in length")
    hp = <const char**>malloc((m + 1) * sizeof(char*))
    hl = <Py_ssize_t*>malloc((m + 1) * sizeof(Py_ssize_t))
    if hp == NULL or hl == NULL:
        free(hp)
        free(hl)
        raise MemoryError()
    try:
        for i in range(m):
            hp[i] = _text(<object>PyList_GET_ITEM(headers, i), &hl[i], keep)
            n = lens[i]
            if n < 0 or starts[i] < 0 or starts[i] + n > seq.shape[0]:
                raise ValueError("sequence span outside the buffer")
            width = widths[i]
            need += hl[i] + 2 + n + (n // width + 1 if width > 0 else 1)
        out = PyBytes_FromStringAndSize(NULL, need)
        o = PyBytes_AS_STRING(out)
        with nogil:
            for i in range(m):
                o[pos] = 62
                memcpy(o + pos + 1, hp[i], hl[i])
                pos += 1 + hl[i]
                o[pos] = 10
                pos += 1
                n = lens[i]
                k = starts[i]
                width = widths[i]
                if width <= 0:
                    if n:
                        memcpy(o + pos, sp + k, n)
                        pos += n
                        o[pos] = 10
                        pos += 1
                else:
                    while n > 0:
                        take = width if n > width else n
                        memcpy(o + pos, sp + k, take)
                        pos += take
                        o[pos] = 10
                        pos += 1
                        k += take
                        n -= take
    finally:
        free(hp)
        free(hl)
    return out[:pos] if pos != need else out


def gather(list bufs, const int64_t[::1] buf_of, const int64_t[::1] starts,
           const int64_t[::1] lens):
    """Concatenate ``bufs[buf_of[i]][starts[i]:starts[i]+lens[i]]`` for every i.

    Returns ``(data, offsets)``: ``offsets`` (``array('q')``, m + 1 entries) are
    the Arrow offsets of the pieces in ``data``.
    """
    cdef Py_ssize_t m = buf_of.shape[0], i, total = 0, pos = 0
    cdef object b
    offsets = array("q", bytes(8 * (m + 1)))
    cdef int64_t[::1] off = offsets
    for i in range(m):
        total += lens[i]
    out = PyBytes_FromStringAndSize(NULL, total)
    cdef char* o = PyBytes_AS_STRING(out)
    for i in range(m):
        off[i] = pos
        if lens[i]:
            b = <object>PyList_GET_ITEM(bufs, buf_of[i])
            memcpy(o + pos, PyBytes_AS_STRING(b) + starts[i], lens[i])
            pos += lens[i]
    off[m] = pos
    return out, offsets


def place(const int64_t[::1] order, list bounds, const int64_t[::1] want):
    """Where each request's bases sit in the task buffers -> ``(buf_of, starts)``.

    Task ``k`` holds requests ``order[p0:p1]`` (``bounds[k] = (p0, p1)``) back to
    back, ``want[i]`` bytes reserved for request ``i``.
    """
    cdef Py_ssize_t m = order.shape[0], k, p, p0, p1
    cdef int64_t pos, i
    buf_of = array("q", bytes(8 * m))
    starts = array("q", bytes(8 * m))
    cdef int64_t[::1] bo = buf_of
    cdef int64_t[::1] st = starts
    for k in range(len(bounds)):
        p0, p1 = bounds[k]
        pos = 0
        for p in range(p0, p1):
            i = order[p]
            bo[i] = k
            st[i] = pos
            pos += want[i]
    return buf_of, starts

# The INFO column decoder of the VCF table kernel (vcf.pyx).
#
# ``InfoKeys`` is the read-only key table built once per read: the keys to decode
# (``info[0:ninfo]``, one output column each) and the keys known to be skipped
# (``info[ninfo:nkeys]``), with an open-addressing hash table over both.
#
# ``info_row`` decodes one row in a single pass over its ';'-separated items: the
# item ends come from one bit-mask scan (``split``), so every value has known
# bounds.  Rows usually repeat the key order of earlier rows, so the key that
# followed the previous key last time (``succ``) is tried first with one 8-byte
# compare; other keys are hashed.  Rows that lack a column are not visited: each
# column remembers the row of its last value (``stamp``), and the rows in between
# are filled in as one run when its next value comes (``missing_run``), and at the
# end of a chunk (``info_flush``).  Mostly absent keys then cost a store per row.
#
# A key in neither list was not declared and not found where the reader looked
# for undeclared keys; ``Unknown`` notes the first few such keys with their line
# so the reader can say which values it did not read.
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy

from genomicframe._parsers._buffers cimport buf_reserve, buf_valid, buf_text, buf_i32
from genomicframe._parsers._text cimport (
    find, split, same, is_dot, parse_i64, num_uint, num_float, NUM_OK)
from genomicframe._parsers._vcfcols cimport (
    Col, leaf, leaf_null, missing, missing_run, close_list, value_to, _K_FLAG, _K_INT, _K_FLOAT,
    _K_STR, ST_BAD_INFO, ST_NOMEM)

DEF UNK_MAX = 8          # distinct unknown keys noted per chunk group
DEF UNK_TEXT = 256       # bytes of key text kept for them


cdef struct Unknown:
    int64_t cur_line      # line being decoded (set by the caller)
    int n                 # keys noted: text[off[i]:off[i + 1] - 1], first seen on line[i]
    int len
    int32_t off[UNK_MAX + 1]
    int64_t line[UNK_MAX]
    char text[UNK_TEXT]


cdef inline void note_unknown(Unknown* u, const char* k, const char* e) noexcept nogil:
    """Remember key [k, e) unless it is already noted or the note is full."""
    cdef int i
    cdef Py_ssize_t n = e - k
    for i in range(u.n):
        if u.off[i + 1] - 1 - u.off[i] == n and same(u.text + u.off[i], k, n):
            return
    if u.n == UNK_MAX or u.len + n + 1 > UNK_TEXT:
        return
    u.off[u.n] = u.len
    memcpy(u.text + u.len, k, n)
    u.len += <int>n + 1
    u.text[u.len - 1] = 0
    u.line[u.n] = u.cur_line
    u.n += 1
    u.off[u.n] = u.len


cdef struct KeySpec:
    const char* key
    int keylen
    int kind
    int is_list
    uint64_t eq           # "KEY=" as 8 little-endian bytes (keys up to 7 bytes), and
    uint64_t eqmask       # the mask of its bytes (0: compare bytewise)


cdef struct InfoKeys:
    int ninfo             # INFO keys decoded: info[0:ninfo]
    int nkeys             # and keys known to be skipped: info[ninfo:nkeys]
    KeySpec* info
    int32_t* htab         # open-addressing table: INFO key hash -> index + 1 (0: empty)
    uint32_t hmask


cdef inline uint32_t key_hash(const char* k, const char* e) noexcept nogil:
    """FNV-1a over an INFO key."""
    cdef uint32_t h = 2166136261u
    while k < e:
        h = (h ^ <unsigned char>k[0]) * 16777619u
        k += 1
    return h


cdef inline int lookup_info(const InfoKeys* ik, const char* k, const char* e) noexcept nogil:
    """Index of key [k, e) in ``ik.info`` (a column when below ``ik.ninfo``), or -1."""
    cdef uint32_t h = key_hash(k, e)
    cdef int j
    cdef Py_ssize_t n = e - k
    while True:
        j = ik.htab[h & ik.hmask] - 1
        if j < 0:
            return -1
        if ik.info[j].keylen == n and same(ik.info[j].key, k, n):
            return j
        h += 1


cdef inline int info_value(Col* c, const char* s, const char* e, const char* lim) noexcept nogil:
    """The value [s, e) of one INFO item: numbers in their common short forms ('5008',
    '7,72', '0.0153754') and strings are stored directly, anything else goes through
    :func:`value_to`; bytes up to ``lim`` may be read.  Returns 0, -1 (out of memory) or
    1 (does not match the header)."""
    cdef const char* t = s
    cdef uint64_t u
    cdef double v
    cdef Py_ssize_t k = 0
    cdef int st
    if c.kind == _K_INT:
        if buf_reserve(&c.vals, (e - s) * 2 + 4):   # n bytes hold at most n // 2 + 1 values
            return -1
        while True:
            t = num_uint(t, lim, &u)
            if t == NULL or u > 2147483647 or (t < e and t[0] != 44):
                st = value_to(c, s, e, 59, &t)
                return 1 if st == 0 and t != e else st
            (<int32_t*>(c.vals.data + c.vals.len))[k] = <int32_t>u
            k += 1
            if t == e:
                break
            if not c.is_list:
                return 1
            t += 1
    elif c.kind == _K_FLOAT:
        if buf_reserve(&c.vals, (e - s) * 2 + 4):   # n bytes hold at most n // 2 + 1 values
            return -1
        while True:
            t = num_float(t, lim, &v)
            if t == NULL or (t < e and t[0] != 44):
                st = value_to(c, s, e, 59, &t)
                return 1 if st == 0 and t != e else st
            (<float*>(c.vals.data + c.vals.len))[k] = <float>v
            k += 1
            if t == e:
                break
            if not c.is_list:
                return 1
            t += 1
    elif c.kind == _K_STR:
        if not c.is_list:
            if s == e or is_dot(s, e):
                return leaf_null(c)
            if (buf_valid(&c.vvalid, c.nleaf, 1) or buf_text(&c.vals, s, e - s, lim)
                    or buf_i32(&c.voff, <int32_t>c.vals.len)):
                return -1
            c.nleaf += 1
            return 0
        # "KEY=" is an empty list (htslib), else ','-separated items ('.' or empty: null)
        while s < e:
            t = find(s, e, 44)
            if t == s or is_dot(s, t):
                if leaf_null(c):
                    return -1
            else:
                if (buf_valid(&c.vvalid, c.nleaf, 1) or buf_text(&c.vals, s, t - s, lim)
                        or buf_i32(&c.voff, <int32_t>c.vals.len)):
                    return -1
                c.nleaf += 1
            if t >= e:
                break
            s = t + 1
        return close_list(c, 1)
    else:
        st = value_to(c, s, e, 59, &t)
        return 1 if st == 0 and t != e else st
    c.vals.len += k * 4
    c.nleaf += k
    return close_list(c, 1) if c.is_list else 0


cdef inline int info_item(const InfoKeys* ik, Col* cols, int* succ, int* prev,
                          const char* ks, const char* ke, const char* lim, int64_t row,
                          int* bad_col, Unknown* unk) noexcept nogil:
    """Decode the INFO item [ks, ke) ('KEY' or 'KEY=VALUE') of row ``row``."""
    cdef int j = succ[prev[0]]
    cdef int st
    cdef Py_ssize_t kl
    cdef uint64_t x
    cdef const char* q
    cdef const KeySpec* sp
    cdef Col* col
    q = NULL
    if j >= 0:
        sp = &ik.info[j]
        kl = sp.keylen
        if sp.eqmask and lim - ks >= 8:
            memcpy(&x, ks, 8)
            # "KEY=" in one compare, or the whole item is "KEY" (a flag)
            if (x ^ sp.eq) & sp.eqmask == 0 or (ke - ks == kl and (x ^ sp.eq) & (sp.eqmask >> 8) == 0):
                q = ks + kl
        elif ke - ks >= kl and same(sp.key, ks, kl) and (ke - ks == kl or ks[kl] == 61):
            q = ks + kl
    if q == NULL:
        q = find(ks, ke, 61)   # '='
        j = lookup_info(ik, ks, q)
        if j < 0:
            if q > ks:
                note_unknown(unk, ks, q)
            return 0
        succ[prev[0]] = j
    prev[0] = j + 1
    if j >= ik.ninfo:   # a key known to be skipped
        return 0
    col = &cols[j]
    if col.stamp == row:   # a repeated key: the first one counts
        return 0
    # the rows since this column's last value lacked it: fill them in now, in one run
    if col.stamp < row - 1 and missing_run(col, row - 1 - col.stamp):
        return ST_NOMEM
    col.stamp = row
    if q < ke:
        st = info_value(col, q + 1, ke, lim)
    elif col.kind == _K_FLAG:
        st = leaf(col, q, q)
    else:
        st = missing(col)
    if st:
        if st == 1:
            bad_col[0] = j
            return ST_BAD_INFO
        return ST_NOMEM
    return 0


cdef inline int info_row(const InfoKeys* ik, Col* cols, int* succ, const char* q,
                         const char* e7, const char* lim, int64_t row, const char** bad_s,
                         const char** bad_e, int* bad_col, Unknown* unk) noexcept nogil:
    """Decode the INFO column [q, e7) of row ``row`` into the INFO columns ``cols``, then
    fill in the columns the row lacks; bytes up to ``lim`` may be read.  On a value that
    does not match the header, returns ST_BAD_INFO with the item in ``bad_s``/``bad_e``
    and its column in ``bad_col``."""
    cdef const char* ends[33]
    cdef const char* ks = q
    cdef const char* ke
    cdef int i, n, st, prev = 0
    if not is_dot(q, e7):
        while ks < e7:
            n = split(ks, e7, lim, 59, ends, 32)
            if n < 32:
                ends[n] = e7
                n += 1
            for i in range(n):
                ke = ends[i]
                if ke > ks:
                    st = info_item(ik, cols, succ, &prev, ks, ke, lim, row, bad_col, unk)
                    if st:
                        bad_s[0] = ks
                        bad_e[0] = ke
                        return st
                ks = ke + 1
    return 0


cdef inline int info_flush(const InfoKeys* ik, Col* cols, int64_t nrows) noexcept nogil:
    """Fill in the rows before ``nrows`` that lacked an INFO column after its last value
    (:func:`info_row` leaves them until the column's next value)."""
    cdef int j
    for j in range(ik.ninfo):
        if cols[j].stamp < nrows - 1:
            if missing_run(&cols[j], nrows - 1 - cols[j].stamp):
                return ST_NOMEM
            cols[j].stamp = nrows - 1
    return 0


cdef inline int info_end(const char* s, const char* e, const char* lim,
                         int64_t* out) noexcept nogil:
    """Find INFO/END in [s, e) (items from the ';' mask pass; bytes up to ``lim`` may
    be read); 1 when found (and an integer)."""
    cdef const char* ends[33]
    cdef const char* t
    cdef int i, n
    while s < e:
        n = split(s, e, lim, 59, ends, 32)
        if n < 32:
            ends[n] = e
            n += 1
        for i in range(n):
            t = ends[i]
            if t - s > 4 and s[0] == 69 and s[1] == 78 and s[2] == 68 and s[3] == 61:
                return parse_i64(s + 4, t, out) == NUM_OK
            s = t + 1
    return 0

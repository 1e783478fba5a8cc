# The .gfi (version 3) hash-table slot shared by the index builder (fastaidx) and the lookup
# (fastafetch): 32 bytes, layout documented in genomicframe/fasta/gfi.py.  A slot whose hash
# is 0 is empty; name hashes are never 0 (gfi_hash maps 0 to 1).
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from genomicframe._parsers._namehash cimport name_hash


cdef struct GfiKey:
    uint64_t hash        # name hash, 0 for an empty slot
    uint64_t seq_off     # bits 0-55: offset of the first base; bits 56-63: flags
    uint64_t length      # bits 0-47: bases; bits 48-63: line width - line bases
    uint32_t line_bases
    uint32_t hdr_len     # bytes from the '>' to the first base (the header line)


cdef enum:
    GFI_OFF_BITS = 56
    GFI_LEN_BITS = 48


cdef extern from *:
    """
    static inline uint64_t gf_mulhi64(uint64_t a, uint64_t b) {
    #if defined(__SIZEOF_INT128__)
        return (uint64_t)(((unsigned __int128)a * b) >> 64);
    #else
        uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
        uint64_t mid = (al * bl >> 32) + (ah * bl & 0xFFFFFFFFu) + al * bh;
        return ah * bh + (ah * bl >> 32) + (mid >> 32);
    #endif
    }
    """
    uint64_t gf_mulhi64(uint64_t a, uint64_t b) noexcept nogil


cdef inline uint64_t gfi_hash(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = name_hash(p, n)
    return h if h else 1


cdef inline uint64_t gfi_home(uint64_t h, uint64_t n_home) noexcept nogil:
    """Home slot of hash ``h`` in a table of ``n_home`` home slots: the table is ordered
    by hash, so a hash's home is its place in [0, n_home) scaled from [0, 2**64)."""
    return gf_mulhi64(h, n_home)


cdef inline uint64_t gfi_seq_off(const GfiKey* k) noexcept nogil:
    return k.seq_off & ((<uint64_t>1 << GFI_OFF_BITS) - 1)


cdef inline uint32_t gfi_flags(const GfiKey* k) noexcept nogil:
    return <uint32_t>(k.seq_off >> GFI_OFF_BITS)


cdef inline uint64_t gfi_length(const GfiKey* k) noexcept nogil:
    return k.length & ((<uint64_t>1 << GFI_LEN_BITS) - 1)


cdef inline uint64_t gfi_line_width(const GfiKey* k) noexcept nogil:
    return k.line_bases + (k.length >> GFI_LEN_BITS)


cdef inline uint64_t gfi_hdr_off(const GfiKey* k) noexcept nogil:
    return gfi_seq_off(k) - k.hdr_len

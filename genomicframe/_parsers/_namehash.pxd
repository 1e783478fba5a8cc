# The 64-bit hash of record names shared by the .gfi writer (fastaidx) and reader (fastafetch).
# Eight bytes at a time: each little-endian word is xor-ed in and multiplied, then a final
# 64-bit mixer (the murmur3 finaliser) spreads every input bit over the top bits the
# .gfi directory uses.  Changing it changes the .gfi format (bump its VERSION).
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy


cdef inline uint64_t name_hash(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = 0x9E3779B97F4A7C15ULL ^ (<uint64_t>n * 0xC2B2AE3D27D4EB4FULL)
    cdef uint64_t w
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        memcpy(&w, p + i, 8)
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL
        h ^= h >> 32
        i += 8
    if i < n:
        w = 0
        memcpy(&w, p + i, n - i)
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL
        h ^= h >> 32
    h ^= h >> 33
    h *= 0xFF51AFD7ED558CCDULL
    h ^= h >> 33
    h *= 0xC4CEB9FE1A85EC53ULL
    h ^= h >> 33
    return h

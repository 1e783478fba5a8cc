# Little-endian loads and stores shared by the binary kernels (BGZF, BAM, .gzi).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef inline uint16_t load_le16(const uint8_t* p) noexcept nogil:
    return <uint16_t>p[0] | (<uint16_t>p[1] << 8)


cdef inline uint32_t load_le32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] | (<uint32_t>p[1] << 8)
            | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24))


cdef inline uint64_t load_le64(const uint8_t* p) noexcept nogil:
    return <uint64_t>load_le32(p) | (<uint64_t>load_le32(p + 4) << 32)


cdef inline void store_le16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = v & 0xff
    p[1] = (v >> 8) & 0xff


cdef inline void store_le32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = v & 0xff
    p[1] = (v >> 8) & 0xff
    p[2] = (v >> 16) & 0xff
    p[3] = (v >> 24) & 0xff

# The .gfi hash-table entry shared by the index builder (fastaidx) and the lookup
# (fastafetch); 48 bytes, layout documented in genomicframe/fasta/gfi.py.
from libc.stdint cimport uint32_t, uint64_t


cdef struct GfiKey:
    uint64_t hash
    uint64_t seq_off
    uint64_t length
    uint64_t name_off
    uint32_t name_len
    uint32_t line_bases
    uint32_t line_width
    uint32_t flags

"""BGZF block-header kernels: find block boundaries without inflating anything.

A BGZF block is a gzip member whose header carries the extra subfield
``BC`` (SLEN 2) holding BSIZE, the total block size minus one; its last four
bytes are ISIZE, the uncompressed size.  The kernels fill caller-sized arrays
and return a status code; genomicframe.bgzf turns codes into exceptions.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, int64_t
from posix.unistd cimport pread
from libc.errno cimport errno

from genomicframe._parsers._bytes cimport load_le16, load_le32

# status codes (mirrored in genomicframe/bgzf/blocks.py)
cdef enum:
    SCAN_OK = 0          # buffer consumed exactly (or end of file reached cleanly)
    SCAN_NEED_MORE = 1   # a block continues past the end of the buffer
    SCAN_BAD_MAGIC = 2   # not a gzip member where a block should start
    SCAN_NOT_BGZF = 3    # a gzip member without the BC subfield
    SCAN_BAD_HEADER = 4  # inconsistent XLEN / BSIZE / ISIZE
    SCAN_FULL = 5        # output arrays are full: call again
    SCAN_IO_ERROR = 6    # pread failed (errno in the returned value)

cdef int MIN_BLOCK = 28  # 18-byte header + empty deflate stream (2) + CRC32 + ISIZE


cdef int _parse_header(const uint8_t* p, Py_ssize_t avail, int32_t* bsize) noexcept nogil:
    """Parse one block header at p (avail bytes readable); store the block size."""
    cdef Py_ssize_t xlen, q, end, slen
    if avail < 12:
        return SCAN_NEED_MORE
    if p[0] != 31 or p[1] != 139:
        return SCAN_BAD_MAGIC
    if p[2] != 8 or not (p[3] & 4):
        return SCAN_NOT_BGZF
    xlen = load_le16(p + 10)
    if avail < 12 + xlen:
        return SCAN_NEED_MORE
    q = 12
    end = 12 + xlen
    while q + 4 <= end:
        slen = load_le16(p + q + 2)
        if p[q] == 66 and p[q + 1] == 67 and slen == 2 and q + 6 <= end:
            bsize[0] = <int32_t>load_le16(p + q + 4) + 1
            if bsize[0] < 12 + xlen + 10:
                return SCAN_BAD_HEADER
            return SCAN_OK
        q += 4 + slen
    return SCAN_NOT_BGZF


def scan_buffer(const uint8_t[::1] buf, Py_ssize_t pos, int64_t base,
                int64_t[::1] coffset, int32_t[::1] csize, int32_t[::1] usize,
                Py_ssize_t count):
    """Scan whole blocks in ``buf[pos:]``; append them to the arrays from ``count`` on.

    ``base`` is the file offset of ``buf[0]``.  Returns ``(status, pos, count)``:
    ``pos`` is where scanning stopped (start of the first block not recorded).
    """
    cdef Py_ssize_t n = buf.shape[0]
    cdef Py_ssize_t cap = coffset.shape[0]
    cdef int32_t bs = 0
    cdef uint32_t isize
    cdef int status = SCAN_OK
    cdef const uint8_t* p
    if csize.shape[0] < cap or usize.shape[0] < cap:
        raise ValueError("output arrays differ in length")
    if n == 0 or pos >= n:
        return SCAN_OK, pos, count
    p = &buf[0]
    with nogil:
        while True:
            if pos == n:
                status = SCAN_OK
                break
            if count == cap:
                status = SCAN_FULL
                break
            status = _parse_header(p + pos, n - pos, &bs)
            if status != SCAN_OK:
                break
            if n - pos < bs:
                status = SCAN_NEED_MORE
                break
            isize = load_le32(p + pos + bs - 4)
            if isize > 65536:
                status = SCAN_BAD_HEADER
                break
            coffset[count] = base + pos
            csize[count] = bs
            usize[count] = <int32_t>isize
            count += 1
            pos += bs
    return status, pos, count


def scan_fd(int fd, int64_t pos, int64_t end,
            int64_t[::1] coffset, int32_t[::1] csize, int32_t[::1] usize,
            Py_ssize_t count):
    """Hop from block header to block header in an open file with ``pread``.

    Reads about 30 bytes per block (the header, then ISIZE at its end), so a
    block table costs a fraction of reading the file.  Scans ``[pos, end)``.
    Returns ``(status, pos, count, err)``; ``err`` is errno after an I/O error.
    """
    cdef Py_ssize_t cap = coffset.shape[0]
    cdef uint8_t hdr[512]
    cdef uint8_t tail[4]
    cdef Py_ssize_t got
    cdef int32_t bs = 0
    cdef uint32_t isize
    cdef int status = SCAN_OK
    cdef int err = 0
    if csize.shape[0] < cap or usize.shape[0] < cap:
        raise ValueError("output arrays differ in length")
    with nogil:
        while True:
            if pos >= end:
                status = SCAN_OK
                break
            if count == cap:
                status = SCAN_FULL
                break
            got = pread(fd, hdr, 512 if end - pos > 512 else end - pos, pos)
            if got < 0:
                status = SCAN_IO_ERROR
                err = errno
                break
            status = _parse_header(hdr, got, &bs)
            if status == SCAN_NEED_MORE and got == 512:
                status = SCAN_BAD_HEADER  # extra field longer than we read
            if status != SCAN_OK:
                break
            if end - pos < bs:
                status = SCAN_NEED_MORE
                break
            if bs <= got:
                isize = load_le32(hdr + bs - 4)
            else:
                got = pread(fd, tail, 4, pos + bs - 4)
                if got != 4:
                    status = SCAN_IO_ERROR if got < 0 else SCAN_NEED_MORE
                    err = errno if got < 0 else 0
                    break
                isize = load_le32(tail)
            if isize > 65536:
                status = SCAN_BAD_HEADER
                break
            coffset[count] = pos
            csize[count] = bs
            usize[count] = <int32_t>isize
            count += 1
            pos += bs
    return status, pos, count, err

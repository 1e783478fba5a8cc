"""BGZF constants and the status codes of the _bgzf scan kernels."""

#: The 28-byte empty block that ends every well-formed BGZF file.
EOF_MARKER = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
#: Largest uncompressed payload htslib puts in one block.
MAX_BLOCK_DATA = 0xFF00
#: Largest BGZF block, header and trailer included.
MAX_BLOCK_SIZE = 0x10000

# status codes returned by genomicframe._parsers._bgzf
(SCAN_OK, SCAN_NEED_MORE, SCAN_BAD_MAGIC, SCAN_NOT_BGZF, SCAN_BAD_HEADER, SCAN_FULL,
 SCAN_IO_ERROR) = range(7)

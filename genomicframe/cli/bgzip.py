"""``genomicframe bgzip``: compress, decompress, index and test BGZF files (htslib's flags)."""
from __future__ import annotations

import argparse
import os
import sys
import warnings

HELP = "BGZF compression, decompression, .gzi indexing and integrity tests (htslib bgzip flags)"

_SUFFIXES = (".gz", ".bgz", ".bgzf")


def add_parser(sub) -> None:
    p = sub.add_parser("bgzip", help=HELP, description=HELP + ". With no FILE, or FILE '-', "
                       "reads standard input and writes standard output.")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("-b", "--offset", type=int, default=None,
                   help="decompress from this uncompressed offset (0-based; uses the .gzi)")
    p.add_argument("-s", "--size", type=int, default=None,
                   help="decompress this many uncompressed bytes (with -b; default: to the end)")
    p.add_argument("-c", "--stdout", action="store_true", help="write to standard output, keep input")
    p.add_argument("-d", "--decompress", action="store_true", help="decompress")
    p.add_argument("-f", "--force", action="store_true", help="overwrite files without asking")
    p.add_argument("-i", "--index", action="store_true", help="compress and write a .gzi index")
    p.add_argument("-I", "--index-name", metavar="FILE", help="name of the .gzi index file")
    p.add_argument("-k", "--keep", action="store_true", help="do not delete input files")
    p.add_argument("-l", "--compress-level", type=int, default=-1, metavar="LEVEL",
                   help="compression level: 0 stores, 1 fastest .. 9 best; -1 default")
    p.add_argument("-r", "--reindex", action="store_true",
                   help="(re)build the .gzi index of a BGZF file from its block headers")
    p.add_argument("-t", "--test", action="store_true", help="test the integrity of BGZF files")
    p.add_argument("-@", "--threads", type=int, default=None, metavar="N",
                   help="threads to use (default: one per core)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import CliError

    if args.threads is not None and args.threads < 1:
        raise CliError("-@ needs a positive number of threads")
    if not -1 <= args.compress_level <= 9:
        raise CliError("-l takes -1 or 0..9")
    files = args.files or ["-"]
    if args.index_name and len(files) > 1:
        raise CliError("-I names one index, so give one FILE")
    status = 0
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning  # one line on stderr, like htslib's [W::...]
        for f in files:
            if args.reindex:
                _reindex(f, args)
            elif args.test:
                _test(f, args)
            elif args.offset is not None or args.size is not None:
                _extract(f, args)
            elif args.decompress:
                _decompress(f, args)
            else:
                _compress(f, args)
    return status


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"genomicframe bgzip: warning: {message}", file=sys.stderr)


# -- helpers --------------------------------------------------------------------------------
def _stdout():
    sys.stdout.flush()
    return open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)


def _write_all(fd: int, parts) -> None:
    """writev every part to fd, resuming after short writes."""
    parts = [memoryview(p) for p in parts if len(p)]
    while parts:
        n = os.writev(fd, parts[:1024])
        while n and parts:
            if n >= len(parts[0]):
                n -= len(parts[0])
                parts.pop(0)
            else:
                parts[0] = parts[0][n:]
                n = 0


def _check_overwrite(path: str, args) -> None:
    from . import CliError

    if os.path.exists(path) and not args.force:
        raise CliError(f"{path} already exists; use -f to overwrite it")


def _compress(src: str, args) -> None:
    from ..bgzf.writer import Writer
    from . import CliError

    to_stdout = args.stdout or src == "-"
    if to_stdout:
        if args.index and not args.index_name:
            raise CliError("-i with standard output needs -I to name the index")
        target, out_path = "-", None
        if sys.stdout.isatty() and not args.force:
            raise CliError("compressed data not written to a terminal; use -f to force")
    else:
        if src.endswith(_SUFFIXES) and not args.force:
            raise CliError(f"{src} already has a {os.path.splitext(src)[1]} suffix; use -f to "
                           "compress it again")
        out_path = src + ".gz"
        _check_overwrite(out_path, args)
        target = out_path
    index = args.index_name if args.index_name else (True if args.index else None)
    if index is True and out_path is None:
        raise CliError("-i needs an output file or -I")
    fin = sys.stdin.buffer if src == "-" else open(src, "rb", buffering=0)
    try:
        with Writer(target, level=args.compress_level, threads=args.threads, index=index) as w:
            chunk = 8 << 20
            while True:
                data = fin.read(chunk)
                if not data:
                    break
                w.write(data)
    finally:
        if fin is not sys.stdin.buffer:
            fin.close()
    if not to_stdout and not args.keep:
        os.unlink(src)


def _decompress(src: str, args) -> None:
    from ..bgzf.reader import Reader
    from . import CliError

    to_stdout = args.stdout or src == "-"
    if to_stdout:
        out_path = None
    else:
        base, ext = os.path.splitext(src)
        if ext not in _SUFFIXES:
            raise CliError(f"{src}: unknown suffix (expected one of {', '.join(_SUFFIXES)}); "
                           "use -c to decompress to standard output")
        out_path = base
        _check_overwrite(out_path, args)
    with Reader(src, threads=args.threads) as r:
        out = _stdout() if to_stdout else open(out_path + ".tmp", "wb", buffering=0)
        try:
            fd = out.fileno()
            if r.compression == "bgzf":
                for _, blocks in r._ordered(join=False):
                    _write_all(fd, blocks)
            else:
                for _, piece in r.pieces():
                    _write_all(fd, [piece])
        except BaseException:
            if out_path:
                out.close()
                os.unlink(out_path + ".tmp")
            raise
        if out_path:
            out.close()
            os.replace(out_path + ".tmp", out_path)
    if not to_stdout and not args.keep:
        os.unlink(src)


def _index_path(src: str, args) -> str:
    return args.index_name or src + ".gzi"


def _reindex(src: str, args) -> None:
    from ..bgzf.blocks import scan_file
    from ..bgzf.gzi import write_gzi
    from . import CliError

    if src == "-":
        raise CliError("-r needs a file name, not standard input")
    write_gzi(_index_path(src, args), scan_file(src))


def _test(src: str, args) -> None:
    from ..bgzf.reader import Reader

    from ..errors import MissingEofMarkerWarning, TruncatedFileError

    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingEofMarkerWarning)
        try:
            with Reader(src, threads=args.threads, require_bgzf=True) as r:
                for _ in r._ordered(join=False):
                    pass
        except MissingEofMarkerWarning:
            end = None if src == "-" else os.path.getsize(src)
            raise TruncatedFileError("BGZF EOF marker is absent; the file may be truncated",
                                     path=src, offset=end) from None


def _extract(src: str, args) -> None:
    from ..bgzf.blocks import scan_file
    from ..bgzf.gzi import GziIndex, read_gzi
    from ..bgzf.reader import Reader
    from . import CliError

    if src == "-":
        raise CliError("-b/-s need a BGZF file name, not standard input")
    offset = args.offset or 0
    if offset < 0 or (args.size is not None and args.size < 0):
        raise CliError("-b and -s take non-negative numbers")
    with Reader(src, threads=1, require_bgzf=True):
        pass
    gzi_path = _index_path(src, args)
    if os.path.exists(gzi_path):
        index = read_gzi(gzi_path, data_path=src)
    else:
        index = GziIndex.from_blocks(scan_file(src))
    coff, within = index.locate(offset)
    coff, within = int(coff), int(within)
    remaining = args.size
    if remaining == 0:
        return
    end = None
    if remaining is not None:  # stop after the block holding the last byte wanted
        import numpy as np

        j = int(np.searchsorted(index.uoffset, offset + remaining - 1, side="right"))
        end = int(index.coffset[j]) if j < len(index.coffset) else None
    out = _stdout()
    fd = out.fileno()
    with Reader(src, threads=args.threads, start=coff, end=end, check_eof=False) as r:
        for _, data in r.blocks():
            if within:
                data = memoryview(data)[within:]
                within = 0
            if remaining is not None:
                if len(data) >= remaining:
                    _write_all(fd, [data[:remaining]])
                    return
                remaining -= len(data)
            _write_all(fd, [data])

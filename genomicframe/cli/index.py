"""``genomicframe index``: index a FASTA file (.fai/.gzi/.gfi) or a sorted BGZF VCF/BED (.tbi/.csi)."""
from __future__ import annotations

import argparse
import sys
import time

HELP = ("index a FASTA file (plain or BGZF: .fai as samtools faidx, .gzi as bgzip -r, .gfi "
        "lookup) or a position-sorted BGZF VCF/BED (.tbi as tabix, or .csi)")


def add_parser(sub) -> None:
    p = sub.add_parser("index", help=HELP, description=HELP + ". One pass over the data; BGZF "
                       "blocks are inflated on threads.  For FASTA, writes FILE.fai, FILE.gzi "
                       "(BGZF only), FILE.gfi (memory-mapped name lookup used by `genomicframe "
                       "fetch`) and, with --loc, FILE.loc (name, offset of '>', record size).  "
                       "For VCF and BED (BGZF, sorted by contig and start), writes FILE.tbi, "
                       "or FILE.csi with --csi; the format is read from the data unless "
                       "--preset names it.")
    p.add_argument("file", metavar="FILE", help="FASTA (uncompressed or BGZF), or BGZF VCF/BED")
    p.add_argument("-p", "--preset", choices=("fasta", "vcf", "bed"), default=None,
                   help="what FILE holds (default: detected from its first bytes)")
    p.add_argument("--csi", action="store_true",
                   help="VCF/BED: write a CSI index (any contig length) instead of tabix")
    p.add_argument("-m", "--min-shift", type=int, default=14, metavar="N",
                   help="VCF/BED with --csi: smallest bin is 2**N bases (default 14)")
    p.add_argument("--loc", action="store_true",
                   help="also write FILE.loc: NAME<TAB>OFFSET<TAB>SIZE per record "
                        "(what `bgzip -b OFFSET -s SIZE` takes)")
    p.add_argument("--strict", action="store_true",
                   help="fail on repeated record names instead of keeping the first (samtools "
                        "keeps the first)")
    p.add_argument("-@", "--threads", type=int, default=None, metavar="N",
                   help="inflate threads (default: one per core)")
    p.add_argument("-v", "--verbose", action="store_true", help="report what was indexed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import CliError

    if args.threads is not None and args.threads < 1:
        raise CliError("-@ needs a positive number of threads")
    if args.file == "-":
        raise CliError("index needs a file name, not standard input")
    preset = args.preset or _detect(args.file)
    if preset != "fasta":
        return _tabix(args, preset)
    if args.csi:
        raise CliError("--csi is for VCF and BED files; a FASTA index is .fai/.gzi/.gfi")
    from ..fasta.index import build_index

    t0 = time.perf_counter()
    res = build_index(args.file, threads=args.threads, loc=args.loc,
                      duplicates="error" if args.strict else "warn")
    if args.verbose:
        dt = time.perf_counter() - t0
        blocks = f", {res.n_blocks:,} BGZF blocks" if res.n_blocks else ""
        print(f"{args.file}: {res.n_records:,} records, {res.data_size:,} bytes{blocks} "
              f"indexed in {dt:.2f} s; wrote {', '.join(res.written)}", file=sys.stderr)
    return 0


def _detect(path: str) -> str:
    """``fasta``, ``vcf`` or ``bed`` from the first uncompressed bytes of ``path``."""
    from ..bgzf.reader import Reader

    # one thread and small reads: only the first block is inflated
    with Reader(path, threads=1, read_size=1 << 17, group_size=4096) as r:
        head = b""
        for _, piece in r.pieces():
            head += bytes(piece)
            if len(head) >= 256:
                break
    start = head.lstrip()[:64]
    if start.startswith(b">") or not head:
        return "fasta"
    if start.startswith(b"##fileformat=VCF"):
        return "vcf"
    first = start.split(b"\n", 1)[0]
    if first.startswith((b"track", b"browser")) or first.count(b"\t") >= 2:
        return "bed"
    return "fasta"  # the FASTA scanner names what is wrong with the first line


def _tabix(args: argparse.Namespace, preset: str) -> int:
    from . import CliError
    from ..index.build import write_index

    if args.loc or args.strict:
        raise CliError("--loc and --strict are for FASTA files")
    if not 0 < args.min_shift < 32:
        raise CliError("-m needs a number from 1 to 31")
    t0 = time.perf_counter()
    out = write_index(args.file, preset=preset, csi=args.csi, min_shift=args.min_shift,
                      threads=args.threads)
    if args.verbose:
        print(f"{args.file}: {preset.upper()} indexed in {time.perf_counter() - t0:.2f} s; "
              f"wrote {out}", file=sys.stderr)
    return 0

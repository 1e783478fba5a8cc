"""``genomicframe index``: build the indexes of a FASTA file in one block-parallel pass."""
from __future__ import annotations

import argparse
import sys
import time

HELP = "index a FASTA file (plain or BGZF): .fai as samtools faidx, .gzi as bgzip -r, .gfi lookup"


def add_parser(sub) -> None:
    p = sub.add_parser("index", help=HELP, description=HELP + ". One pass over the data; BGZF "
                       "blocks are inflated on threads.  Writes FILE.fai, FILE.gzi (BGZF "
                       "only), FILE.gfi (memory-mapped name lookup used by `genomicframe "
                       "fetch`) and, with --loc, FILE.loc (name, offset of '>', record size).")
    p.add_argument("file", metavar="FILE", help="FASTA file, uncompressed or BGZF")
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

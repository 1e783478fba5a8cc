"""``genomicframe fetch``: pull many records or regions out of an indexed FASTA file.

FASTA output is byte-identical to ``samtools faidx -r`` for the same requests.
"""
from __future__ import annotations

import argparse
import sys

HELP = "fetch records or regions by name from a FASTA file (plain or BGZF), as samtools faidx -r"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fetch", help=HELP,
        description=HELP + ". Requests are names or samtools regions NAME:BEG-END (1-based, "
        "closed), in any order and repeated at will; output follows the request order. Every "
        "BGZF block needed is inflated once. The index is built on first use "
        "(see `genomicframe index`).")
    p.add_argument("file", metavar="FILE", help="FASTA file, uncompressed or BGZF")
    p.add_argument("names", nargs="*", metavar="NAME", help="record names or regions")
    p.add_argument("-r", "--region-file", metavar="FILE", action="append", default=[],
                   help="read names/regions from FILE, one per line ('-': standard input)")
    p.add_argument("--loc", metavar="QUERY.loc",
                   help="raw mode: print the bytes of each NAME<TAB>OFFSET<TAB>SIZE line "
                        "(uncompressed offset and size, as `bgzip -b/-s` takes)")
    p.add_argument("--missing", choices=("raise", "skip", "warn"), default="raise",
                   help="names not in the file: fail (default, nothing is printed), skip "
                        "silently, or skip with a warning")
    p.add_argument("-n", "--line-width", type=_width, default=60, metavar="N",
                   help="bases per FASTA output line: default 60 (samtools up to 1.16), 0 for "
                        "no wrapping, 'input' for each record's own line width (samtools 1.17+)")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")
    p.add_argument("--output-format", choices=("fasta", "tsv", "parquet"), default="fasta",
                   help="fasta (default), tsv (name, start, end, sequence; 0-based half-open) "
                        "or parquet (needs -o)")
    p.add_argument("-@", "--threads", type=int, default=None, metavar="N",
                   help="inflate threads (default: one per core)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="report blocks inflated and timings on standard error")
    p.set_defaults(func=run)


def _width(text: str):
    if text == "input":
        return None
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of bases or 'input'") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 (no wrapping) or more")
    return n


def _read_lines(source: str) -> list[str]:
    if source == "-":
        text = sys.stdin.buffer.read()
    else:
        with open(source, "rb") as fh:
            text = fh.read()
    out = []
    for line in text.decode("utf-8", "surrogateescape").split("\n"):
        line = line.strip()
        if line:
            out.append(line)
    return out


def _read_loc(source: str):
    from . import CliError

    offsets, sizes = [], []
    for k, line in enumerate(_read_lines(source), 1):
        parts = line.split("\t")
        if len(parts) < 3:
            parts = line.split()
        try:
            offsets.append(int(parts[1]))
            sizes.append(int(parts[2]))
        except (IndexError, ValueError):
            raise CliError(f"{source}, line {k}: expected NAME<TAB>OFFSET<TAB>SIZE") from None
    return offsets, sizes


def run(args: argparse.Namespace) -> int:
    from . import CliError

    if args.threads is not None and args.threads < 1:
        raise CliError("-@ needs a positive number of threads")
    if args.output_format == "parquet" and not args.output:
        raise CliError("--output-format parquet needs -o OUT")
    if args.loc and (args.names or args.region_file):
        raise CliError("--loc takes byte ranges; give either --loc or names, not both")
    if args.loc and args.output_format != "fasta":
        raise CliError("--loc prints raw records; --output-format does not apply")
    if args.file == "-":
        raise CliError("fetch needs a file name, not standard input")
    requests = list(args.names)
    for src in args.region_file:
        requests += _read_lines(src)
    if not requests and not args.loc:
        raise CliError("nothing to fetch: give NAMEs, -r FILE or --loc FILE")

    from ..fasta.file import FastaFile

    fa = FastaFile(args.file, threads=args.threads)
    try:
        if args.output_format == "parquet":
            import pyarrow.parquet as pq

            table = fa.fetch_many(requests, missing=args.missing)
            pq.write_table(table, args.output)
        else:
            out = open(args.output, "wb") if args.output else _stdout()
            try:
                if args.loc:
                    offsets, sizes = _read_loc(args.loc)
                    fa.fetch_raw(offsets, sizes, out=out)
                elif args.output_format == "fasta":
                    fa.fetch_many(requests, missing=args.missing, out=out,
                                  line_width=args.line_width)
                else:
                    _write_tsv(fa, requests, args.missing, out)
            finally:
                if args.output:
                    out.close()
                else:
                    out.flush()
        if args.verbose and fa.last_fetch_stats is not None:
            print(f"genomicframe fetch: {fa.last_fetch_stats.summary()}", file=sys.stderr)
    finally:
        fa.close()
    return 0


def _stdout():
    sys.stdout.flush()
    return open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)


def _write_tsv(fa, requests, missing, out) -> None:
    table = fa.fetch_many(requests, missing=missing)
    cols = [table.column(c).to_pylist() for c in ("name", "start", "end", "sequence")]
    lines = ["name\tstart\tend\tsequence"]
    lines += [f"{n}\t{s}\t{e}\t{q}" for n, s, e, q in zip(*cols)]
    out.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))

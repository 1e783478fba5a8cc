"""``genomicframe stats``: one-pass VCF summary (``bcftools stats`` SN/TSTV numbers, and more)."""
from __future__ import annotations

import argparse
import json
import os
import sys

HELP = "summary statistics of a VCF: variant classes, Ts/Tv, QUAL, FILTER, per chromosome"


def add_parser(sub) -> None:
    p = sub.add_parser("stats", help=HELP, description=HELP + ". The SN and TSTV numbers equal "
                       "those of `bcftools stats`.")
    p.add_argument("file", metavar="FILE", help="VCF file (plain, gzip or BGZF)")
    p.add_argument("--json", action="store_true", help="write one JSON object instead of text")
    p.add_argument("-@", "--threads", type=int, default=None, metavar="N",
                   help="threads to use (default: one per core)")
    p.set_defaults(func=run)


def _fmt(x) -> str:
    return "nan" if x is None else f"{x:.2f}"


def format_text(stats, name: str) -> str:
    """The statistics as tab-separated lines, grouped by a leading section tag."""
    s = stats.summary()
    out = [f"# genomicframe stats {name}",
           "# SN\tkey\tvalue"]
    for key, value in stats.bcftools_sn().items():
        out.append(f"SN\t{key}:\t{value}")
    out.append(f"SN\tnumber of insertion alleles:\t{stats.insertions}")
    out.append(f"SN\tnumber of deletion alleles:\t{stats.deletions}")
    out.append("# TSTV\tts\ttv\tts/tv\tts (1st ALT)\ttv (1st ALT)\tts/tv (1st ALT)")
    out.append(f"TSTV\t{stats.ts}\t{stats.tv}\t{_fmt(s['ts_tv'])}\t{stats.ts_first_alt}\t"
               f"{stats.tv_first_alt}\t{_fmt(s['ts_tv_first_alt'])}")
    out.append("# QUAL\tmean\twith QUAL\twithout QUAL")
    out.append(f"QUAL\t{_fmt(s['qual_mean'])}\t{stats.qual_count}\t{stats.qual_missing}")
    out.append("# QUALHIST\tfloor(QUAL)\trecords")
    out += [f"QUALHIST\t{k}\t{v}" for k, v in sorted(stats.qual_hist.items())]
    out.append("# FILTER\tfilter\trecords")
    out += [f"FILTER\t{k}\t{v}" for k, v in stats.to_dict()["filters"].items()]
    out.append("# CHROM\tchrom\trecords\tSNPs\tMNPs\tindels\tothers")
    out += [f"CHROM\t{c}\t{v['records']}\t{v['snps']}\t{v['mnps']}\t{v['indels']}\t{v['others']}"
            for c, v in stats.chrom.items()]
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    from . import CliError

    if args.threads is not None and args.threads < 1:
        raise CliError("-@ needs a positive number of threads")
    if args.file == "-":
        raise CliError("stats reads a file by name (it needs the header and may split the file); "
                       "save standard input to a file first")
    if not os.path.exists(args.file):
        raise FileNotFoundError(2, "no such file", args.file)
    from ..formats import detect
    from ..formats.vcf_stats import COLUMNS, VcfStats
    from .view import Progress

    try:
        fmt = detect(args.file)
    except ValueError:
        raise CliError(f"{args.file}: not a VCF file (no ##fileformat=VCF line); "
                       "stats reads VCF files") from None
    if fmt.name != "vcf":
        raise CliError(f"{args.file}: stats reads VCF files; this one looks like {fmt.name}")
    frags = fmt.make_fragments(args.file)
    progress = Progress(len(frags))  # drawn on standard error only when it is a terminal
    stats = VcfStats()
    for frag in frags:
        for batch in fmt.read_batches(frag, columns=list(COLUMNS), threads=args.threads):
            stats.update(batch)
            progress.update(batch.num_rows, frag)
    progress.close()
    if args.json:
        json.dump(stats.to_dict(), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_text(stats, os.path.basename(args.file)))
    return 0

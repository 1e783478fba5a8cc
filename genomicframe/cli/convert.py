"""``genomicframe convert``: stream a file to Parquet (optionally hive-partitioned), Arrow, VCF."""
from __future__ import annotations

import argparse

HELP = "convert a file to Parquet, Arrow IPC or VCF, optionally partitioned by columns"


def add_parser(sub) -> None:
    from .view import add_input_arguments, add_query_arguments

    p = sub.add_parser("convert", help=HELP, description=HELP + ". Memory stays bounded: batches "
                       "stream from the parser to the writer.")
    add_input_arguments(p)
    p.add_argument("output", metavar="OUT", help="OUT.parquet, OUT.arrow, OUT.vcf, OUT.vcf.gz "
                   "(BGZF), or a directory with --partition-by")
    add_query_arguments(p)
    p.add_argument("--partition-by", metavar="COL[,COL]", default=None,
                   help="write a hive-partitioned Parquet directory (OUT/chrom=chr1/...)")
    p.add_argument("--to", choices=("parquet", "arrow", "vcf"), default=None,
                   help="output format (default: from OUT's suffix, else parquet)")
    p.add_argument("--compression", default="zstd", metavar="CODEC",
                   help="Parquet compression: zstd (default), snappy, gzip, lz4, none")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import CliError
    from .view import Input, Progress, batches, open_dataset, parse_columns, scanner

    out = args.output.lower()
    fmt = args.to or ("arrow" if out.endswith((".arrow", ".arrows", ".ipc")) else
                      "vcf" if out.endswith((".vcf", ".vcf.gz", ".vcf.bgz")) else "parquet")
    parts = parse_columns(args.partition_by)
    if parts and fmt != "parquet":
        raise CliError(f"--partition-by writes Parquet; drop --to {fmt} (or the .{fmt} name)")
    if args.threads is not None and args.threads < 1:
        raise CliError("--threads needs a positive number")
    compression = None if args.compression == "none" else args.compression
    with Input(args.file) as inp:
        ds = open_dataset(inp.path, args.input_format)
        if fmt == "vcf":
            from .view import vcf_scanner, write_vcf_output

            sc = vcf_scanner(ds, args)
            progress = Progress(len(sc.fragments()))
            write_vcf_output(ds, sc, args.output, batches(sc, None, progress), args, "convert")
            progress.close()
            return 0
        sc = scanner(ds, args)
        schema = sc.projected_schema
        missing = [c for c in parts or () if c not in schema.names]
        if missing:
            raise CliError(f"--partition-by: no column {missing[0]!r} in the output; columns are: "
                           f"{', '.join(schema.names)}")
        progress = Progress(len(sc.fragments()))
        import pyarrow as pa

        reader = pa.RecordBatchReader.from_batches(schema, batches(sc, None, progress))
        if fmt == "arrow":
            with pa.OSFile(args.output, "wb") as sink, pa.ipc.new_file(sink, schema) as w:
                for b in reader:
                    w.write_batch(b)
        else:
            from ..scan import write_parquet

            try:
                write_parquet(reader, args.output, partition_by=parts, compression=compression)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise CliError(str(exc)) from None
        progress.close()
    return 0

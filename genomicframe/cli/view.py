"""``genomicframe view``: filter and project a file; write TSV, CSV, JSON lines, VCF, Parquet, IPC.

Also the helpers ``schema`` and ``convert`` share: opening the input (``-``
is standard input), parsing ``--columns``, the progress bar, writers.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HELP = "filter and project a file; print it as TSV/CSV/JSON lines/VCF or write Parquet/Arrow"
FORMATS = ("tsv", "csv", "jsonl", "vcf", "parquet", "arrow")
#: columns every VCF data line needs; ``--format vcf`` adds them to ``--columns``
VCF_REQUIRED = ("chrom", "pos", "ref")
_BINARY = {"parquet", "arrow"}


def add_input_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="input file ('-' for standard input)")
    p.add_argument("--input-format", metavar="NAME", default=None,
                   help="input format (default: from the file's content, then its name)")


def add_query_arguments(p) -> None:
    p.add_argument("--filter", "-f", metavar="EXPR", default=None,
                   help="keep rows where EXPR is true, e.g. \"qual >= 30 and chrom == 'chr1'\"")
    p.add_argument("--region", "-r", metavar="REGION", action="append", default=None,
                   help="keep records overlapping chrom:begin-end (1-based, both included; "
                        "uses the index beside the file); repeatable")
    p.add_argument("--columns", "-c", metavar="A,B", default=None,
                   help="comma-separated columns to keep (struct children as info.AF)")
    p.add_argument("--threads", "-@", type=int, default=None, metavar="N",
                   help="decompression threads (default: one per core)")


def add_parser(sub) -> None:
    p = sub.add_parser("view", help=HELP, description=HELP + ". Progress goes to standard error "
                       "when it is a terminal.")
    add_input_arguments(p)
    add_query_arguments(p)
    p.add_argument("--limit", "-n", type=int, default=None, metavar="N", help="at most N rows")
    p.add_argument("--format", "-O", choices=FORMATS, default=None,
                   help="output format (default: from -o's suffix, else tsv)")
    p.add_argument("--no-header", action="store_true",
                   help="no column-name line in tsv/csv output; no header in vcf output")
    p.add_argument("--header-only", action="store_true", help="vcf output: only the header")
    p.add_argument("-o", "--output", metavar="OUT", default=None,
                   help="output file (default: standard output)")
    p.set_defaults(func=run)


# -- shared helpers -------------------------------------------------------------------------
class Input:
    """The input file (standard input spooled to a temporary file); a context manager."""

    def __init__(self, name: str):
        self.name = name
        self.path = name
        self._tmp = None

    def __enter__(self) -> "Input":
        from . import CliError

        if self.name == "-":
            import shutil
            import tempfile

            fd, self._tmp = tempfile.mkstemp(prefix="genomicframe-stdin-")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
            self.path = self._tmp
        elif not os.path.exists(self.name):
            raise CliError(f"{self.name}: no such file")
        return self

    def __exit__(self, *exc) -> None:
        if self._tmp is not None:
            os.unlink(self._tmp)


def open_dataset(path: str, input_format):
    from ..dataset import dataset
    from . import CliError

    try:
        return dataset(path, format=input_format)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def parse_columns(text):
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        from . import CliError

        raise CliError("--columns needs at least one column name")
    return cols


def query_filter(ds, args):
    """--filter and --region as one Expression (None when neither is given)."""
    from ..expressions import region, to_expression

    flt = to_expression(args.filter, ds.schema)
    if getattr(args, "region", None):
        regions = None
        for r in args.region:
            e = region(r)
            regions = e if regions is None else regions | e
        flt = regions if flt is None else regions & flt
    return flt


def scanner(ds, args):
    """The dataset's scanner for --columns/--filter/--region; user mistakes become CliError."""
    from . import CliError

    try:
        return ds.scanner(columns=parse_columns(args.columns), filter=query_filter(ds, args),
                          use_threads=args.threads != 1)
    except KeyError as exc:
        raise CliError(exc.args[0] if exc.args else str(exc)) from None


class Progress:
    """Rows and fragments done, redrawn on standard error at most 5 times a second (terminals)."""

    def __init__(self, total_fragments: int, enabled: bool | None = None):
        self.total = total_fragments
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.rows = 0
        self.seen: set = set()
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, rows: int, fragment=None) -> None:
        if not self.enabled:
            return
        self.rows += rows
        if fragment is not None:
            self.seen.add(id(fragment))
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            self._draw(now)

    def _draw(self, now) -> None:
        rate = self.rows / max(now - self.t0, 1e-9)
        sys.stderr.write(f"\r{self.rows:,} rows  fragment {len(self.seen)}/{self.total}  "
                         f"{rate:,.0f} rows/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()


def batches(sc, limit, progress):
    """The scanner's batches (at most ``limit`` rows), reporting progress."""
    left = limit
    if left == 0:
        return
    for tagged in sc.scan_batches():
        b = tagged.record_batch
        if left is not None and b.num_rows >= left:
            b = b.slice(0, left)
            left = 0
        elif left is not None:
            left -= b.num_rows
        progress.update(b.num_rows, tagged.fragment)
        yield b
        if left == 0:
            return


def output_format(args) -> str:
    if args.format:
        return args.format
    out = (args.output or "").lower()
    for suffix, fmt in ((".parquet", "parquet"), (".pq", "parquet"), (".arrow", "arrow"),
                        (".arrows", "arrow"), (".ipc", "arrow"), (".csv", "csv"),
                        (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".vcf", "vcf"),
                        (".vcf.gz", "vcf"), (".vcf.bgz", "vcf")):
        if out.endswith(suffix):
            return fmt
    return "tsv"


# -- text writers ---------------------------------------------------------------------------
def _text_value(v, null: str) -> str:
    if v is None:
        return null
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, list):
        return ",".join(_text_value(x, ".") for x in v)
    if isinstance(v, dict):
        import json

        return json.dumps(v, default=str, separators=(",", ":"))
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def _json_value(v):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, bytes):
        return v.hex()
    return v


def _has_float32(typ) -> bool:
    import pyarrow as pa

    if pa.types.is_float32(typ):
        return True
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return _has_float32(typ.value_type)
    if pa.types.is_struct(typ):
        return any(_has_float32(typ.field(k).type) for k in range(typ.num_fields))
    return False


def _tidy(v, typ):
    """float32 values (also inside lists and structs) as their shortest round-trip decimal."""
    import numpy as np
    import pyarrow as pa

    if v is None:
        return None
    if pa.types.is_float32(typ):
        if v != v or v in (float("inf"), float("-inf")):
            return v
        return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))
    if isinstance(v, list):
        return [_tidy(x, typ.value_type) for x in v]
    if isinstance(v, dict) and pa.types.is_struct(typ):
        return {k: _tidy(x, typ.field(k).type) for k, x in v.items()}
    return v


def _float32_tidy(batch):
    """The batch's columns as Python lists, float32 shown as written (30.1, not 30.100000381)."""
    cols = []
    for col in batch.columns:
        values = col.to_pylist()
        if _has_float32(col.type):
            values = [_tidy(v, col.type) for v in values]
        cols.append(values)
    return cols


def _text_array(col, null: str):
    """A column as strings for TSV/CSV, without nulls, vectorised with pyarrow compute.

    Null and empty lists are ``null``; lists are comma-joined (null items ``.``); structs read like
    VCF INFO (``AF=0.5;DP=10;DB``: null children left out, true flags by name).
    Floats print as the shortest decimal that round-trips in their own precision.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_dictionary(t):
        return _text_array(col.dictionary_decode(), null)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        items = _text_array(col.values, ".")
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        joined = pc.binary_join(cls.from_arrays(col.offsets, items), ",")
        present = pc.and_(col.is_valid(), pc.greater(pc.fill_null(pc.list_value_length(col), 0), 0))
        return pc.fill_null(pc.if_else(present, joined, pa.scalar(None, pa.string())), null)
    if pa.types.is_struct(t):
        parts = []
        for k in range(t.num_fields):
            name = t.field(k).name
            child = col.field(k)
            if pa.types.is_boolean(child.type):
                part = pc.if_else(pc.fill_null(child, False), ";" + name,
                                  pa.scalar(None, pa.string()))
            else:
                text = _text_array(child, "")
                part = pc.if_else(child.is_valid(),
                                  pc.binary_join_element_wise(";" + name, text, "="),
                                  pa.scalar(None, pa.string()))
            parts.append(part)
        if not parts:
            return pa.array([null] * len(col), pa.string())
        # each part starts with ';': concatenate (nulls as ''), then drop the first ';'.
        # (null_handling="skip" would drop the rows where every part is null.)
        joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(
            *parts, "", null_handling="replace", null_replacement="")
        joined = pc.utf8_slice_codeunits(pc.fill_null(joined, ""), 1)
        joined = pc.if_else(pc.equal(joined, ""), ".", joined)
        return pc.fill_null(pc.if_else(col.is_valid(), joined, pa.scalar(None, pa.string())), null)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array([null if v is None else v.hex() for v in col.to_pylist()], pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pc.fill_null(col, null)
    if (pa.types.is_fixed_size_list(t) or pa.types.is_map(t) or pa.types.is_union(t)
            or pa.types.is_list_view(t) or pa.types.is_large_list_view(t)):
        return pa.array([null if v is None else _text_value(v, null) for v in col.to_pylist()],
                        pa.string())
    return pc.fill_null(col.cast(pa.string()), null)


def write_text(stream, schema, batch_iter, fmt: str, header: bool) -> None:
    import json

    names = schema.names
    if fmt == "jsonl":
        for b in batch_iter:
            cols = _float32_tidy(b)
            stream.write("".join(
                json.dumps({n: _json_value(c[i]) for n, c in zip(names, cols)}, default=str) + "\n"
                for i in range(b.num_rows)))
        return
    if fmt == "csv":
        import io

        import pyarrow as pa
        import pyarrow.csv as pacsv

        first = True
        for b in batch_iter:
            table = pa.table([_text_array(c, "") for c in b.columns], names=names)
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=header and first,
                                                          quoting_style="needed"))
            stream.write(buf.getvalue().decode())
            first = False
        if first and header:
            stream.write(",".join(f'"{n}"' for n in names) + "\n")
        return
    import pyarrow.compute as pc

    if header:
        stream.write("\t".join(names) + "\n")
    for b in batch_iter:
        if not b.num_rows:
            continue
        if not names:
            stream.write("\n" * b.num_rows)
            continue
        texts = [_text_array(c, ".") for c in b.columns]
        lines = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "\t")
        stream.write("\n".join(lines.to_pylist()) + "\n")


def write_binary(target, schema, batch_iter, fmt: str) -> None:
    import pyarrow as pa

    if fmt == "arrow":
        with pa.ipc.new_stream(target, schema) as w:
            for b in batch_iter:
                w.write_batch(b)
        return
    import pyarrow.parquet as pq

    with pq.ParquetWriter(target, schema) as w:
        for b in batch_iter:
            w.write_batch(b)


# -- VCF output -----------------------------------------------------------------------------
def vcf_scanner(ds, args):
    """The scanner for VCF output: ``--columns`` plus the required columns the dataset has;
    struct children (``info.DP``, ``format.GT``) keep their dotted names, so the writer knows
    them as INFO/FORMAT keys."""
    from . import CliError

    cols = parse_columns(args.columns)
    if cols is not None:
        import pyarrow.compute as pc

        names = ds.schema.names
        extra = [c for c in VCF_REQUIRED if c in names and c not in cols]
        if "pos" not in names and "start" in names and "start" not in cols:
            extra.append("start")
        cols = {c: pc.field(*c.split(".")) if c not in names else pc.field(c)
                for c in extra + cols}
    try:
        return ds.scanner(columns=cols, filter=query_filter(ds, args),
                          use_threads=args.threads != 1)
    except KeyError as exc:
        raise CliError(exc.args[0] if exc.args else str(exc)) from None


def command_line(args, command: str) -> str:
    """The command as a ``##genomicframe_command=`` header line (reconstructed from ``args``)."""
    import shlex

    from .._version import __version__

    words = ["genomicframe", command, args.file]
    for flag, value in (("--filter", args.filter), ("--columns", args.columns),
                        ("--limit", getattr(args, "limit", None))):
        if value is not None:
            words += [flag, str(value)]
    for r in args.region or ():
        words += ["--region", r]
    return f"genomicframe_command={shlex.join(words)}; version={__version__}"


def write_vcf_output(ds, sc, target, it, args, command: str, header_only: bool = False) -> None:
    """Write the scan's batches ``it`` as VCF to ``target`` (a path, ``"-"``)."""
    from ..formats.vcf_writer import VcfWriter

    source = ds.files[0] if ds.format.name == "vcf" else False
    with VcfWriter(target, sc.projected_schema, header=source,
                   meta=[command_line(args, command)],
                   write_header=not getattr(args, "no_header", False),
                   threads=args.threads) as w:
        if header_only:
            w._header(next(iter(it), None))
            return
        for b in it:
            w.write_batch(b)


def run(args: argparse.Namespace) -> int:
    from . import CliError

    if args.limit is not None and args.limit < 0:
        raise CliError("--limit must be 0 or more")
    if args.threads is not None and args.threads < 1:
        raise CliError("--threads needs a positive number")
    fmt = output_format(args)
    if args.header_only and fmt != "vcf":
        raise CliError("--header-only is for --format vcf")
    if fmt in _BINARY and args.output is None and sys.stdout.isatty():
        raise CliError(f"{fmt} is binary: give -o OUT or redirect standard output")
    with Input(args.file) as inp:
        ds = open_dataset(inp.path, args.input_format)
        sc = vcf_scanner(ds, args) if fmt == "vcf" else scanner(ds, args)
        progress = Progress(len(sc.fragments()))
        it = batches(sc, args.limit, progress)
        schema = sc.projected_schema
        if fmt == "vcf":
            write_vcf_output(ds, sc, args.output or "-", it, args, "view", args.header_only)
        elif fmt in _BINARY:
            if args.output is None:
                sys.stdout.flush()
                import pyarrow as pa

                target = pa.PythonFile(sys.stdout.buffer, mode="w")
            else:
                target = args.output
            write_binary(target, schema, it, fmt)
        elif args.output is None:
            write_text(sys.stdout, schema, it, fmt, not args.no_header)
            sys.stdout.flush()
        else:
            with open(args.output, "w", newline="") as fh:
                write_text(fh, schema, it, fmt, not args.no_header)
        progress.close()
    return 0

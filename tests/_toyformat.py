"""A tiny tab-separated genomics format that tests the dataset layer on its own.

File layout (uncompressed text)::

    #toy info=AF:double,DB:bool,NOTE:string
    chr1<TAB>pos<TAB>end<TAB>qual<TAB>name<TAB>info
    ...

``pos`` is 1-based (``start = pos - 1``), ``end`` is 0-based exclusive, ``.`` is
null for qual, name and info; info is ``KEY=VALUE;FLAG`` like VCF.  Columns:
chrom string, pos/start/end int64, qual float32, name string, info struct.

An index beside the file (``<file>.toyidx``: lines ``chrom<TAB>first_byte<TAB>
end_byte``) lets :meth:`ToyFormat.make_fragments` answer regions with one
fragment per chromosome — holding every record of that chromosome, so records
outside the region come back too, as a real index's chunks do.  With the option
``split_regions=True`` each region is cut in two halves that both hold the whole
chromosome, so records overlapping both halves would come back twice unless the
dataset layer gives each record to one fragment.

Every ``read_batches`` call is recorded in :data:`CALLS` (fragment, columns,
pushdown, and how many batches were pulled from it) so tests can see what the
dataset layer asked for; rows failing the pushdown are dropped, as a real
parser may do.
"""
from __future__ import annotations

import os

import pyarrow as pa

from genomicframe import formats
from genomicframe.formats.base import FileFormat, FragmentSpec

#: every read_batches call: dicts with spec, columns, pushdown
CALLS: list = []

_TYPES = {"double": pa.float64(), "bool": pa.bool_(), "string": pa.string(), "int": pa.int64()}


def _info_type(header: str) -> pa.DataType:
    fields = []
    for part in header.split():
        if part.startswith("info="):
            for kv in filter(None, part[5:].split(",")):
                k, t = kv.split(":")
                fields.append(pa.field(k, _TYPES[t]))
    return pa.struct(fields)


def write_toy(path, rows, info: str = "AF:double,DB:bool", index: bool = False) -> str:
    """Write rows ``(chrom, pos, end, qual, name, info_text)`` to ``path``; optionally index it."""
    path = os.fspath(path)
    lines = [f"#toy info={info}\n"]
    for chrom, pos, end, qual, name, info_text in rows:
        q = "." if qual is None else repr(float(qual))
        lines.append(f"{chrom}\t{pos}\t{end}\t{q}\t{name or '.'}\t{info_text or '.'}\n")
    data = "".join(lines).encode()
    with open(path, "wb") as f:
        f.write(data)
    if index:
        spans: dict = {}
        off = len(lines[0].encode())
        for line in lines[1:]:
            b = line.encode()
            chrom = line.split("\t", 1)[0]
            lo, _ = spans.get(chrom, (off, off))
            spans[chrom] = (lo, off + len(b))
            off += len(b)
        with open(path + ".toyidx", "w") as f:
            for chrom, (lo, hi) in spans.items():
                f.write(f"{chrom}\t{lo}\t{hi}\n")
    return path


@formats.register
class ToyFormat(FileFormat):
    name = "toy"
    suffixes = (".toy",)
    pushdown_columns = frozenset({"chrom", "pos", "start", "end", "qual"})
    #: the option ``info_fields=(...)`` decodes only those INFO keys
    child_projection = {"info": "info_fields"}

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        return head.startswith(b"#toy")

    def _header(self, path) -> str:
        with open(path, "rb") as f:
            return f.readline().decode()

    def inspect(self, path) -> pa.Schema:
        return pa.schema([
            ("chrom", pa.string()), ("pos", pa.int64()), ("start", pa.int64()),
            ("end", pa.int64()), ("qual", pa.float32()), ("name", pa.string()),
            ("info", _info_type(self._header(path))),
        ])

    def make_fragments(self, path, *, regions=None, target_size=64 << 20, options=()):
        path = os.fspath(path)
        size = os.path.getsize(path)
        target = dict(options).get("target_size", target_size)
        idx = path + ".toyidx"
        if regions is not None and os.path.exists(idx):
            spans = {}
            with open(idx) as f:
                for line in f:
                    c, lo, hi = line.split("\t")
                    spans[c] = (int(lo), int(hi))
            split = dict(options).get("split_regions", False)
            out = []
            for chrom, start, end in regions:
                if chrom not in spans:
                    continue
                parts = [(start, end)]
                if split and end is not None and end - start > 1:
                    mid = (start + end) // 2
                    parts = [(start, mid), (mid, end)]
                elif split:
                    parts = [(start, start + 100), (start + 100, end)]
                for lo, hi in parts:
                    out.append(FragmentSpec(path, "toy", "plain", byte_range=spans[chrom],
                                            region=(chrom, lo, hi), options=options))
            return out
        cuts = list(range(0, size, max(1, target))) + [size]
        return [FragmentSpec(path, "toy", "plain", byte_range=(a, b), options=options)
                for a, b in zip(cuts, cuts[1:])] or [FragmentSpec(path, "toy", "plain")]

    def _lines(self, spec: FragmentSpec):
        with open(spec.path, "rb") as f:
            data = f.read()
        if spec.byte_range is None:
            a, b = 0, len(data)
        else:
            a, b = spec.byte_range
            if a > 0:  # skip through the first newline at or after a
                nl = data.find(b"\n", a - 1)
                a = len(data) if nl < 0 else nl + 1
            if b < len(data):
                nl = data.find(b"\n", b - 1)
                b = len(data) if nl < 0 else nl + 1
        for line in data[a:b].decode().splitlines():
            if line and not line.startswith("#"):
                yield line

    def _row(self, line: str, info_type: pa.DataType) -> dict:
        chrom, pos, end, qual, name, info = line.split("\t")
        rec = {}
        if info != ".":
            for item in info.split(";"):
                k, _, v = item.partition("=")
                rec[k] = v if v else True
        inf = {}
        for i in range(info_type.num_fields):
            f = info_type.field(i)
            v = rec.get(f.name)
            if f.type == pa.bool_():
                inf[f.name] = f.name in rec
            elif v is None:
                inf[f.name] = None
            elif f.type == pa.float64():
                inf[f.name] = float(v)
            elif f.type == pa.int64():
                inf[f.name] = int(v)
            else:
                inf[f.name] = v
        return {"chrom": chrom, "pos": int(pos), "start": int(pos) - 1, "end": int(end),
                "qual": None if qual == "." else float(qual),
                "name": None if name == "." else name, "info": None if info == "." else inf}

    def read_batches(self, fragment, *, columns=None, pushdown=None, batch_size=131_072,
                     threads=None):
        call = {"spec": fragment, "columns": None if columns is None else list(columns),
                "pushdown": pushdown, "batches": 0}
        CALLS.append(call)
        return self._read(fragment, columns, pushdown, batch_size, call)

    def _read(self, fragment, columns, pushdown, batch_size, call):
        schema = self.inspect(fragment.path)
        keep = fragment.option("info_fields")
        if keep is not None:
            info = schema.field("info").type
            schema = schema.set(schema.get_field_index("info"), pa.field("info", pa.struct(
                [info.field(k) for k in range(info.num_fields) if info.field(k).name in keep])))
        cols = schema.names if columns is None else list(columns)
        out_schema = pa.schema([schema.field(c) for c in cols])
        info_type = schema.field("info").type
        rows = []
        for line in self._lines(fragment):
            row = self._row(line, info_type)
            if pushdown is not None and not self._passes(row, pushdown):
                continue
            rows.append(row)
            if len(rows) == batch_size:
                call["batches"] += 1
                yield self._batch(rows, cols, out_schema)
                rows = []
        if rows:
            call["batches"] += 1
            yield self._batch(rows, cols, out_schema)

    @staticmethod
    def _passes(row, pd) -> bool:
        for c, allowed in pd.isin.items():
            if row[c] not in allowed:
                return False
        for c, rng in pd.ranges.items():
            if not rng.contains(row[c]):
                return False
        return all(row[c] is not None for c in pd.not_null)

    @staticmethod
    def _batch(rows, cols, schema) -> pa.RecordBatch:
        if not cols:  # no columns, but the row count still matters
            return pa.record_batch([pa.nulls(len(rows))], names=["_"]).select([])
        arrays = [pa.array([r[c] for r in rows], schema.field(c).type) for c in cols]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


def sample_rows(n: int = 300, seed: int = 7, chroms=("chr1", "chr2", "chrX")):
    """Deterministic rows sorted by chrom then pos, with nulls and a few long records."""
    import random

    rng = random.Random(seed)
    rows = []
    for chrom in chroms:
        pos = 0
        for _ in range(n // len(chroms)):
            pos += rng.randint(1, 40)
            length = rng.choice([1, 1, 1, 2, 5, 80])
            qual = None if rng.random() < 0.15 else round(rng.uniform(0, 60), 1)
            name = None if rng.random() < 0.2 else f"rs{rng.randint(1, 999)}"
            info = []
            if rng.random() < 0.8:
                info.append(f"AF={round(rng.random(), 3)}")
            if rng.random() < 0.3:
                info.append("DB")
            rows.append((chrom, pos, pos - 1 + length, qual, name, ";".join(info)))
    return rows

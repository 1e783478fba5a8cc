"""VCF (4.0–4.4) as Arrow: header -> schema, chunks of lines -> record batches.

Python decides here (schema, which columns and keys to decode, buffer
hand-off, error wording); the loops live in :mod:`genomicframe._parsers.vcf`.

Schema (see ``docs/vcf.md``): ``chrom``, ``pos`` (1-based, as written),
``start``/``end`` (0-based half-open; ``end`` from INFO/END, else from the REF
length), ``id`` (null for '.'; several IDs stay ``;``-joined as written),
``ref``, ``alt`` (list; empty for '.'), ``qual`` (float32, null for '.'),
``filter`` (list; empty for '.'), ``info`` (struct typed from the header) and
``format`` (struct of FORMAT keys, each a list over the selected samples; GT
is ``{alleles: list<int16>, phased: bool}``).

>>> import genomicframe as gf
>>> from genomicframe.formats import get
>>> fmt = get("vcf")
>>> fmt.name, "qual" in fmt.pushdown_columns
('vcf', True)
"""
from __future__ import annotations

import json
import os
import threading
from typing import Iterator

import numpy as np
import pyarrow as pa

from .. import _arrow, _threads
from .._parsers import vcf as _k
from .._parsers import vcf_gt as _kgt
from ..errors import VcfFormatError
from . import register
from .base import FileFormat, FragmentSpec, Pushdown, Range
from .vcf_header import FieldDef, VcfHeader, read_header

__all__ = ["VcfFormat", "vcf_schema", "genotype_array", "whole_file_fragment", "GT_TYPE"]

#: coordinate convention recorded in the schema metadata
COORDS = "0-based half-open"
#: Arrow type of one sample's genotype
GT_TYPE = pa.struct([pa.field("alleles", pa.list_(pa.int16())), pa.field("phased", pa.bool_())])
_ARROW = {"Integer": pa.int32(), "Float": pa.float32(), "Flag": pa.bool_(),
          "String": pa.string(), "Character": pa.string()}
_KIND = {"Integer": _k.K_INT, "Float": _k.K_FLOAT, "Flag": _k.K_FLAG, "String": _k.K_STR,
         "Character": _k.K_STR}
_WANT = {"chrom": _k.W_CHROM, "pos": _k.W_POS, "start": _k.W_POS, "end": _k.W_END,
         "id": _k.W_ID, "ref": _k.W_REF, "alt": _k.W_ALT, "qual": _k.W_QUAL,
         "filter": _k.W_FILTER}
#: sentinels the kernel stores for missing integers and floats (htslib's own values)
_MISSING_I32 = np.int32(-2**31)
_MISSING_F32 = np.uint32(0x7F800001)
#: bytes of data after the header scanned for INFO/FORMAT keys the header does not declare
DISCOVER_BYTES = 1 << 20
#: parsed headers kept, by (path, mtime, size), for all VcfFormat instances
HEADER_CACHE = 8
_HEADERS: dict = {}
_HEADERS_LOCK = threading.Lock()


# -- options ---------------------------------------------------------------------------------

def _opts(defaults: dict, fragment: FragmentSpec | None) -> dict:
    out = dict(defaults)
    if fragment is not None:
        for k, v in fragment.options:
            out[k] = v
    return out


def _select_samples(hdr: VcfHeader, samples) -> list[int]:
    """Header indices of the selected samples, in file order."""
    if samples is None:
        return list(range(len(hdr.samples)))
    if isinstance(samples, str):
        samples = [samples]
    index = {s: i for i, s in enumerate(hdr.samples)}
    missing = [s for s in samples if s not in index]
    if missing:
        raise KeyError(f"samples not in the VCF header: {', '.join(map(str, missing[:10]))}")
    return sorted({index[s] for s in samples})


def _subset(defs: dict, names, *, undeclared_ok: bool = False) -> dict:
    """The definitions of ``names`` (all when None).  With ``undeclared_ok`` a name the
    header does not declare is read as htslib reads undeclared keys: String, Number=."""
    if names is None:
        return defs
    missing = [n for n in names if n not in defs]
    if missing and not undeclared_ok:
        raise KeyError(f"keys not in the VCF header: {', '.join(missing)}")
    return {n: defs[n] if n in defs else FieldDef(n, ".", "String", declared=False)
            for n in names}


# -- schema ----------------------------------------------------------------------------------

def _field_meta(d: FieldDef) -> dict:
    return {"Number": d.number, "Type": d.type, "Description": d.description}


def _info_type(d: FieldDef) -> pa.DataType:
    t = _ARROW[d.type]
    return pa.list_(t) if d.is_list else t


def _format_type(d: FieldDef) -> pa.DataType:
    if d.id == "GT":
        return pa.list_(GT_TYPE)
    return pa.list_(_info_type(d))


def vcf_schema(hdr: VcfHeader, samples=None, info_fields=None, format_fields=None) -> pa.Schema:
    """The Arrow schema for ``hdr`` with the given sample and key selection.

    ``info`` is left out when the header declares no INFO key, and ``format``
    when no sample is selected or no FORMAT key is known.
    """
    fields = [
        pa.field("chrom", pa.string(), nullable=False),
        pa.field("pos", pa.int64(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("id", pa.string()),
        pa.field("ref", pa.string(), nullable=False),
        pa.field("alt", pa.list_(pa.string()), nullable=False),
        pa.field("qual", pa.float32()),
        pa.field("filter", pa.list_(pa.string()), nullable=False),
    ]
    info = _subset(hdr.info, info_fields, undeclared_ok=True)
    if info:
        fields.append(pa.field("info", pa.struct([
            pa.field(k, _info_type(d), nullable=d.type != "Flag", metadata=_field_meta(d))
            for k, d in info.items()])))
    sel = _select_samples(hdr, samples)
    fmt = _subset(hdr.format, format_fields, undeclared_ok=True)
    if sel and fmt:
        fields.append(pa.field("format", pa.struct([
            pa.field(k, _format_type(d), metadata=_field_meta(d)) for k, d in fmt.items()])))
    meta = {
        "genomicframe.format": "vcf",
        "genomicframe.coords": COORDS,
        "genomicframe.vcf.fileformat": hdr.fileformat,
        "genomicframe.vcf.samples": json.dumps([hdr.samples[i] for i in sel]),
    }
    return pa.schema(fields, metadata=meta)


def _discover(hdr: VcfHeader, data: bytes) -> None:
    """Add INFO/FORMAT keys used in ``data`` but not declared, as String, Number=. (list).

    htslib reads them as Type=String too; a bare key (no ``=``) is then null."""
    data = data[:DISCOVER_BYTES]
    if len(data) == DISCOVER_BYTES:
        data = data[:data.rfind(b"\n") + 1]  # whole lines only
    info: list = []
    fmt: dict = {}
    for raw in data.split(b"\n"):
        if raw[:1] in (b"#", b""):
            continue
        cols = raw.split(b"\t", 9)
        if len(cols) < 8:
            continue
        info.append(cols[7])
        if len(cols) > 8:
            fmt[cols[8]] = None
    # one split over all INFO columns rather than one per line; dicts keep first-seen order
    info_seen = dict.fromkeys(item.partition(b"=")[0].rstrip(b"\r")
                              for item in b";".join(info).split(b";"))
    fmt_seen = dict.fromkeys(k.rstrip(b"\r") for f in fmt for k in f.split(b":"))
    for seen in (info_seen, fmt_seen):
        seen.pop(b".", None)
        seen.pop(b"", None)
    info_seen = [k.decode("utf-8", "replace") for k in info_seen]
    fmt_seen = [k.decode("utf-8", "replace") for k in fmt_seen]
    for key in info_seen:
        if key not in hdr.info:
            hdr.info[key] = FieldDef(key, ".", "String", declared=False)
    if hdr.samples:
        for key in fmt_seen:
            if key not in hdr.format:
                hdr.format[key] = FieldDef(key, ".", "String", declared=False)


# -- chunk sources ---------------------------------------------------------------------------

class _Chunk:
    __slots__ = ("data", "line", "uoffset")

    def __init__(self, data, line, uoffset):
        self.data = data
        self.line = line
        self.uoffset = uoffset


def _chunks(fragment: FragmentSpec, threads: int | None) -> Iterator:
    """Line-aligned chunks of the fragment (``.data``, ``.line`` or None, ``.uoffset``)."""
    if fragment.byte_range is None and fragment.voffset_ranges is None:
        from ..bgzf.reader import Reader

        with Reader(fragment.path, threads=threads) as r:
            line = 1
            for c in r.chunks():
                yield _Chunk(c.data, line, c.uoffset)
                line = None  # filled in by the caller from the parsed line counts
        return
    from . import text

    yield from text.iter_fragment_chunks(fragment, threads=threads)


_ploidy_lock = threading.Lock()


# -- errors ----------------------------------------------------------------------------------

#: inflated bytes parsed as one unit (one kernel call sequence, one record batch)
GROUP_BYTES = 4 << 20


def _groups(chunks, target: int = GROUP_BYTES):
    """Consecutive chunks gathered into lists of about ``target`` bytes (no copies)."""
    group: list = []
    size = 0
    for c in chunks:
        group.append(c)
        size += len(c.data)
        if size >= target:
            yield group
            group, size = [], 0
    if group:
        yield group


class _Result:
    """What a worker returns for one group: status, line counts and the payload."""

    __slots__ = ("status", "lines", "err_line", "err_start", "err_end", "err_value", "piece",
                 "payload", "unknown")

    def __init__(self, status=0, lines=0, err_line=0, err_start=0, err_end=0, err_value=0,
                 piece=0, payload=None, unknown=()):
        self.status = status
        self.lines = lines
        self.err_line = err_line
        self.err_start = err_start
        self.err_end = err_end
        self.err_value = err_value
        self.piece = piece
        self.payload = payload
        self.unknown = unknown


def _run(path, names, groups, threads: int, work) -> Iterator:
    """Run ``work`` over groups in order; raise on the first malformed line; yield payloads."""
    line = None
    warned: set = set()
    for group, res in _threads.ordered(work, groups, threads, "vcf", threads * 2 + 1):
        base = group[0].line if group[0].line is not None else line
        if res.status:
            _raise(res.status, path, group[res.piece], base, res.err_line, res.err_start,
                   res.err_end, res.err_value, names)
        for kind, key, at in res.unknown:
            if (kind, key) not in warned:
                warned.add((kind, key))
                _warn_unknown(path, kind, key, None if base is None else base + at, group[0])
        line = base + res.lines if base is not None else None
        yield res.payload


def _warn_unknown(path, kind: str, key: bytes, line, chunk) -> None:
    import warnings

    from ..errors import UndeclaredKeyWarning

    where = f"line {line}" if line is not None else f"the block at uncompressed offset {chunk.uoffset}"
    name = key.decode("utf-8", "replace")
    warnings.warn(UndeclaredKeyWarning(
        f"{os.fspath(path)}: {where}: {kind} key {name!r} is not declared in the header and "
        f"was not among the undeclared keys found in the first MiB of records, so its values "
        f"are not read; declare it with an ##{kind} line, or name it in "
        f"{kind.lower()}_fields=[...] to read it as String"), stacklevel=2)


def _raise(status: int, path, chunk, line_base, err_line, start, end, value, names=None):
    data = chunk.data
    token = bytes(data[start:end])[:200].decode("utf-8", "replace")
    line = line_base + err_line if line_base is not None else None
    offset = None
    where = ""
    if line is None:
        where, offset = _locate(path, chunk, start)
    S = _k.Status
    if status == S.ST_FEW_COLUMNS:
        msg = (f"data line has {value} tab-separated column{'s' if value != 1 else ''}; a VCF "
               "data line needs at least 8 (CHROM POS ID REF ALT QUAL FILTER INFO)")
    elif status == S.ST_BAD_POS:
        msg = f"POS {token!r} is not a non-negative integer"
    elif status == S.ST_BAD_QUAL:
        msg = f"QUAL {token!r} is not a number or '.'"
    elif status == S.ST_BAD_INFO:
        key, typ, num = names[value] if names else ("?", "?", "?")
        msg = f"INFO {token!r} does not match the header's Number={num}, Type={typ} for {key}"
    elif status == S.ST_BAD_FORMAT:
        key, typ, num = names[value] if names else ("?", "?", "?")
        msg = (f"FORMAT {key} value {token!r} does not match the header's Number={num}, "
               f"Type={typ}")
    elif status == S.ST_BAD_GT:
        msg = (f"genotype {token!r} is not allele indices separated by '/' or '|' "
               "(e.g. 0/1, 1|0, ./.)")
    elif status == S.ST_BLANK_LINE:
        msg = "blank line in the data section (htslib rejects it too); remove empty lines"
    elif status == S.ST_SAMPLE_FIELDS:
        msg = f"sample {token!r} has more ':'-separated values than the FORMAT column has keys"
    elif status == S.ST_TOO_MANY_SAMPLES:
        msg = "data line has more sample columns than the #CHROM line names"
    elif status == S.ST_BAD_CHROM:
        msg = f"CHROM {token!r} is not a valid contig name (empty, starts with '<', '*' or '=', " \
              "or contains ',')"
    elif status == S.ST_DUP_FORMAT:
        msg = f"FORMAT {token!r} repeats a key"
    elif status == S.ST_GT_NOT_FIRST:
        msg = f"FORMAT {token!r}: GT must be the first key when present"
    elif status == S.ST_ALLELE_RANGE:
        msg = (f"allele index {value} does not fit in int8; pass dtype=numpy.int16 to "
               "genotype_array for sites with more than 127 alternate alleles")
    elif status == S.ST_NOMEM:
        raise MemoryError("out of memory while parsing VCF data")
    else:  # pragma: no cover - every status is named above
        msg = f"cannot parse data line (status {status})"
    raise VcfFormatError(msg + where, path=path, line=line, offset=offset)


def _locate(path, chunk, start: int):
    """Where a malformed line is when its line number is unknown (a fragment that starts
    mid-file): ``(message suffix, offset)``; only runs on the error path."""
    voffset = getattr(chunk, "voffset", None)
    if chunk.uoffset is not None and chunk.uoffset >= 0 and voffset is None:
        return "", chunk.uoffset + start
    if voffset is None:
        return "", None
    from ..bgzf.blocks import scan_file

    table = scan_file(path)
    i = int(np.searchsorted(table.coffset, voffset >> 16))
    u = int(table.uoffset[i]) + (voffset & 0xFFFF) + start
    v = int(table.virtual_offset(u))
    return (f" (uncompressed byte {u}, BGZF virtual offset {v}; the fragment does not start "
            "at the beginning of the file, so the line number is not known)"), v >> 16


# -- Arrow assembly --------------------------------------------------------------------------

def _i32(owned) -> np.ndarray:
    return np.frombuffer(owned, dtype=np.int32)


def _valid(owned):
    """A validity mask from the kernel, or None: it writes none while all are valid."""
    return np.frombuffer(owned, dtype=np.bool_) if len(owned) else None


def _leaf(kind: int, b: dict) -> pa.Array:
    if kind == _k.K_FLAG:
        return _arrow.booleans(np.frombuffer(b["vals"], dtype=np.bool_))
    if kind == _k.K_STR:
        return _arrow.strings(_i32(b["voff"]), b["vals"], _valid(b["vvalid"]))
    if kind == _k.K_INT:
        vals = np.frombuffer(b["vals"], dtype=np.int32)
        return _arrow.primitive(vals, vals != _MISSING_I32)
    vals = np.frombuffer(b["vals"], dtype=np.float32)
    return _arrow.primitive(vals, vals.view(np.uint32) != _MISSING_F32)


def _value_array(kind: int, is_list: bool, b: dict) -> pa.Array:
    """One value per row (INFO) or per sample (FORMAT)."""
    if kind == _k.K_GT:
        alleles = _arrow.lists(_i32(b["loff"]),
                               _arrow.primitive(np.frombuffer(b["vals"], dtype=np.int16)))
        phased = _arrow.booleans(np.frombuffer(b["phased"], dtype=np.bool_))
        return _arrow.structs({"alleles": alleles, "phased": phased}, valid=_valid(b["lvalid"]))
    leaf = _leaf(kind, b)
    if is_list:
        return _arrow.lists(_i32(b["loff"]), leaf, _valid(b["lvalid"]))
    return leaf


def _is_ascii(data) -> bool:
    """True when ``data`` (a memoryview) is pure ASCII; checks the bytes object it views."""
    obj = data.obj if isinstance(data, memoryview) else data
    if isinstance(obj, (bytes, bytearray)):
        return obj.isascii()
    return bytes(data).isascii()


class _Plan:
    """Everything decided once per read: the kernel Config and how to assemble batches."""

    def __init__(self, fmt: "VcfFormat", fragment: FragmentSpec, columns, pushdown):
        opts = _opts(fmt._defaults, fragment)
        self.path = fragment.path
        hdr = fmt.header(fragment.path)
        self.header = hdr
        schema = vcf_schema(hdr, opts.get("samples"), opts.get("info_fields"),
                            opts.get("format_fields"))
        names = schema.names
        if columns is None:
            columns = list(names)
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise KeyError(f"no such VCF column(s): {', '.join(map(str, unknown))}; "
                           f"available: {', '.join(names)}")
        self.columns = list(columns)
        self.schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
        want = 0
        for c in columns:
            want |= _WANT.get(c, 0)
        pd = (pushdown or Pushdown()).restrict(VcfFormat.pushdown_columns)
        self.empty = pd.is_empty_result()
        ranges = dict(pd.ranges)
        if "qual" in pd.not_null and "qual" not in ranges:
            ranges["qual"] = Range()
        need_end = "end" in columns or "end" in ranges
        info = {}
        if "info" in columns:
            info = _subset(hdr.info, opts.get("info_fields"), undeclared_ok=True)
        fmt_defs = {}
        self.sel = _select_samples(hdr, opts.get("samples"))
        if "format" in columns:
            fmt_defs = _subset(hdr.format, opts.get("format_fields"), undeclared_ok=True)
        self.info = [(k, _KIND[d.type], d.is_list) for k, d in info.items()]
        self.fmt = [(k, _k.K_GT if k == "GT" else _KIND[d.type], d.is_list)
                    for k, d in fmt_defs.items()]
        self.names = [(k, d.type, d.number) for k, d in info.items()] + \
                     [(k, d.type, d.number) for k, d in fmt_defs.items()]
        slots = [-1] * len(hdr.samples)
        for j, i in enumerate(self.sel):
            slots[i] = j
        enc = lambda vals: [str(v).encode() for v in vals]  # noqa: E731
        end_def = hdr.info.get("END")
        has_end = end_def is not None and end_def.type == "Integer" and not end_def.is_list
        # END is read from the decoded INFO column unless the end pushdown needs it first
        end_col = -1
        if has_end and "end" not in ranges:
            end_col = next((i for i, (k, _, _) in enumerate(self.info) if k == "END"), -1)
        self._hint = None
        self.config = _k.Config(
            want, need_end,
            [(k.encode(), kind, lst) for k, kind, lst in self.info],
            [(k.encode(), kind, lst) for k, kind, lst in self.fmt],
            len(hdr.samples), slots,
            chroms=enc(pd.isin["chrom"]) if "chrom" in pd.isin else None,
            filters=enc(pd.isin["filter"]) if "filter" in pd.isin else None,
            pos=ranges.get("pos"), start=ranges.get("start"), end=ranges.get("end"),
            qual=ranges.get("qual"), has_end=has_end, end_col=end_col,
            skip_info=[k.encode() for k in hdr.info if k not in info] if info else (),
            skip_fmt=[k.encode() for k in hdr.format if k not in fmt_defs] if fmt_defs else ())

    def work(self, group) -> _Result:
        """Parse a group of chunks and assemble its record batch (runs on a worker thread)."""
        r = _k.Parsed(self.config)
        nbytes = sum(len(c.data) for c in group)
        r.reserve(nbytes, self._hint)
        for i, chunk in enumerate(group):
            r = _k.parse_chunk(self.config, chunk.data, r)
            if r.status:
                return _Result(r.status, r.lines, r.err_line, r.err_start, r.err_end,
                               r.err_value, i)
        unknown = ([("INFO", k, at) for k, at in r.unknown_info()]
                   + [("FORMAT", k, at) for k, at in r.unknown_format()])
        if not r.nrows:
            return _Result(lines=r.lines, unknown=unknown)
        # buffer sizes per input byte, to pre-size the next groups' buffers (no realloc copies)
        self._hint = r.size_hint(nbytes)
        b = self.batch(r)
        if not all(_is_ascii(c.data) for c in group):
            try:  # Arrow strings must be UTF-8; only non-ASCII text needs the full check
                b.validate(full=True)
            except pa.ArrowInvalid:
                raise VcfFormatError(
                    "text is not valid UTF-8 (Arrow strings must be); convert the file, e.g. "
                    "`iconv -f latin1 -t utf-8`", path=self.path) from None
        return _Result(lines=r.lines, payload=b, unknown=unknown)

    def batch(self, r) -> pa.RecordBatch:
        n = r.nrows
        cols = {}
        pos = None
        for name in self.columns:
            if name == "chrom":
                off, data = r.fixed("chrom")
                cols[name] = _arrow.strings(_i32(off), data)
            elif name in ("pos", "start"):
                if pos is None:
                    pos = np.frombuffer(r.fixed("pos"), dtype=np.int64)
                cols[name] = _arrow.primitive(pos if name == "pos" else pos - 1)
            elif name == "end":
                cols[name] = _arrow.primitive(np.frombuffer(r.fixed("end"), dtype=np.int64))
            elif name == "id":
                off, data, valid = r.fixed("id")
                cols[name] = _arrow.strings(_i32(off), data, _valid(valid))
            elif name == "ref":
                off, data = r.fixed("ref")
                cols[name] = _arrow.strings(_i32(off), data)
            elif name in ("alt", "filter"):
                loff, soff, data = r.fixed(name)
                cols[name] = _arrow.lists(_i32(loff), _arrow.strings(_i32(soff), data))
            elif name == "qual":
                vals, valid = r.fixed("qual")
                cols[name] = _arrow.primitive(np.frombuffer(vals, dtype=np.float32), _valid(valid))
            elif name == "info":
                cols[name] = _arrow.structs(
                    {k: _value_array(kind, lst, r.column(i))
                     for i, (k, kind, lst) in enumerate(self.info)}, length=n,
                    type=self.schema.field(name).type)
            elif name == "format":
                base = len(self.info)
                children = {}
                for j, (k, kind, lst) in enumerate(self.fmt):
                    b = r.column(base + j)
                    children[k] = _arrow.lists(_i32(b["soff"]), _value_array(kind, lst, b),
                                               _valid(b["svalid"]))
                cols[name] = _arrow.structs(children, length=n,
                                            type=self.schema.field(name).type)
        if not self.columns:
            empty = pa.RecordBatch.from_struct_array(_arrow.structs({}, length=n))
            return empty.replace_schema_metadata(self.schema.metadata)
        return pa.RecordBatch.from_arrays([cols[c] for c in self.columns], schema=self.schema)


# -- the format ------------------------------------------------------------------------------

def whole_file_fragment(path, options: tuple = ()) -> FragmentSpec:
    """One fragment covering the whole file (compression from the magic bytes)."""
    from ..bgzf.reader import detect_compression

    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    return FragmentSpec(path=path, format="vcf", compression=detect_compression(head),
                        options=tuple(options))


@register
class VcfFormat(FileFormat):
    """VCF 4.0–4.4, plain, gzip or BGZF.

    Parameters
    ----------
    samples : None, list of str, or ()
        Samples whose FORMAT data is read: ``None`` (default) reads all, ``()``
        none (fastest: sample columns are skipped with one ``memchr``).
    info_fields, format_fields : list of str, optional
        Read only these INFO / FORMAT keys (default: all the header declares).
    """

    name = "vcf"
    suffixes = (".vcf",)
    pushdown_columns = frozenset({"chrom", "pos", "start", "end", "qual", "filter"})
    #: struct column -> the option that limits its children (the dataset layer decodes only
    #: the INFO/FORMAT keys a scan uses)
    child_projection = {"info": "info_fields", "format": "format_fields"}

    def __init__(self, samples=None, info_fields=None, format_fields=None) -> None:
        self._defaults = {"samples": samples, "info_fields": info_fields,
                          "format_fields": format_fields}

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        return head.startswith(b"##fileformat=VCF") or head[:3] == b"BCF"

    def header(self, path) -> VcfHeader:
        """The parsed header of ``path`` (cached while the file is unchanged).

        The cache is shared by all instances: a dataset and each of its scans make
        their own format object, and reading a header costs tens of milliseconds."""
        path = os.fspath(path)
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        hdr = _HEADERS.get(key)
        if hdr is None:
            hdr, data = read_header(path)
            _discover(hdr, data)
            with _HEADERS_LOCK:
                while len(_HEADERS) >= HEADER_CACHE:
                    del _HEADERS[next(iter(_HEADERS))]
                _HEADERS[key] = hdr
        return hdr

    def inspect(self, path) -> pa.Schema:
        d = self._defaults
        return vcf_schema(self.header(path), d["samples"], d["info_fields"], d["format_fields"])

    def schema_for(self, fragment: FragmentSpec) -> pa.Schema:
        """The schema of ``fragment`` with its options applied."""
        o = _opts(self._defaults, fragment)
        return vcf_schema(self.header(fragment.path), o.get("samples"), o.get("info_fields"),
                          o.get("format_fields"))

    def make_fragments(self, path, *, regions=None, target_size: int = 64 << 20,
                       options: tuple = ()) -> list[FragmentSpec]:
        from ..index.plan import index_fragments  # index chunks for regions, else block ranges

        return index_fragments(path, regions, tuple(options), format=self.name,
                               target_size=target_size)

    def read_batches(self, fragment: FragmentSpec, *, columns=None, pushdown=None,
                     batch_size: int = 131_072, threads: int | None = None
                     ) -> Iterator[pa.RecordBatch]:
        plan = _Plan(self, fragment, columns, pushdown)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        from ..bgzf.reader import resolve_threads

        nthreads = resolve_threads(threads)
        return self._batches(plan, fragment, batch_size, nthreads, threads)

    def _batches(self, plan, fragment, batch_size, nthreads, threads):
        if plan.empty:
            return
        for b in _run(plan.path, plan.names, _groups(_chunks(fragment, threads)), nthreads,
                      plan.work):
            if b is None:
                continue
            if b.num_rows <= batch_size:
                yield b
            else:
                for i in range(0, b.num_rows, batch_size):
                    yield b.slice(i, batch_size)

    def count_rows(self, fragment, pushdown=None, threads=None) -> int:
        return sum(b.num_rows for b in self.read_batches(fragment, columns=[],
                                                         pushdown=pushdown, threads=threads))


def genotype_array(source, samples=None, *, threads: int | None = None,
                   ploidy: int = 2, dtype=np.int8) -> np.ndarray:
    """Genotypes as a numpy int8 array of shape ``(variants, samples, ploidy)``.

    Only GT is tokenized.  Allele indices as written; ``-1`` for a missing
    allele ('.') and for a sample without GT; ``-2`` pads genotypes of lower
    ploidy than the widest one in the file (a haploid ``1`` in a diploid file is
    ``[1, -2]``).  ``samples`` selects columns (in file order); the array grows
    its last axis when a genotype has more than ``ploidy`` alleles.

    Parameters
    ----------
    source : str, os.PathLike or FragmentSpec
    samples : list of str, optional
        Default: every sample in the header.
    threads : int, optional
        Inflate and tokenizer threads (default one per core).
    ploidy : int
        Initial size of the last axis (it grows to the widest genotype).
    dtype : numpy.int8 or numpy.int16
        ``int16`` for sites with more than 127 alternate alleles.

    Raises
    ------
    VcfFormatError
        A malformed GT or data line (naming the line), or an allele index above
        127 with ``dtype=int8``.
    """
    from ..bgzf.reader import resolve_threads

    fragment = source if isinstance(source, FragmentSpec) else whole_file_fragment(source)
    fmt = VcfFormat()
    hdr = fmt.header(fragment.path)
    sel = _select_samples(hdr, samples if samples is not None else fragment.option("samples"))
    slots = np.full(len(hdr.samples), -1, dtype=np.int32)
    slots[sel] = np.arange(len(sel), dtype=np.int32)
    nsel = len(sel)
    nthreads = resolve_threads(threads)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.int8), np.dtype(np.int16)):
        raise ValueError(f"dtype must be int8 or int16, not {dtype}")
    wide = dtype == np.dtype(np.int16)
    state = {"ploidy": max(1, int(ploidy))}

    def work(group) -> _Result:
        out = []
        lines = 0
        for i, chunk in enumerate(group):
            while True:
                p = state["ploidy"]
                st, n, nl, eline, estart, eend, evalue, buf = _kgt.gt_chunk(chunk.data, slots, nsel,
                                                                         p, wide)
                if st == _k.Status.ST_PLOIDY:
                    with _ploidy_lock:
                        state["ploidy"] = max(state["ploidy"], evalue)
                    continue
                break
            if st:
                return _Result(st, lines + nl, lines + eline, estart, eend, evalue, i)
            lines += nl
            out.append(np.frombuffer(buf, dtype=dtype).reshape(n, nsel, p))
        return _Result(lines=lines, payload=out)

    parts = [a for out in _run(fragment.path, None, _groups(_chunks(fragment, threads)),
                               nthreads, work) for a in out]
    width = state["ploidy"]
    if not parts:
        return np.empty((0, nsel, width), dtype=dtype)
    parts = [a if a.shape[2] == width else
             np.pad(a, ((0, 0), (0, 0), (0, width - a.shape[2])), constant_values=-2)
             for a in parts]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)

"""Write Arrow data in the VCF schema back out as VCF text (plain or BGZF).

The inverse of :mod:`genomicframe.formats.vcf`: every text column is built
with ``pyarrow.compute`` over a whole batch (casts, ``binary_join`` for lists,
``binary_join_element_wise`` for fields and lines), never with a Python loop
per record, and batches stream to the output one at a time.

>>> import genomicframe as gf, pyarrow as pa, io
>>> t = pa.table({"chrom": ["chr1"], "pos": [10], "ref": ["A"], "alt": [["C", "<DEL>"]],
...               "qual": pa.array([30.5], pa.float32())})
>>> out = io.BytesIO()
>>> gf.write_vcf(t, out)
1
>>> out.getvalue().decode().splitlines()[-1].split(chr(9))
['chr1', '10', '.', 'A', 'C,<DEL>', '30.5', '.', '.']

What is written (see ``docs/vcf.md``, "Writing VCF"): ``pos`` (1-based; or
``start + 1`` when only ``start`` is there), nulls as ``.`` (also inside
lists), true flags as the bare key, INFO and FORMAT keys in schema order
(``GT`` first), floats as the shortest text that reads back to the same
float32, GT rebuilt from allele indices and phasing, trailing missing FORMAT
values of a sample left out.  ``chrom``, ``pos`` (or ``start``) and ``ref``
are required (:class:`VcfWriteError` names what is missing); every other
column may be absent and is then written as ``.``.
"""
from __future__ import annotations

import json
import os
import sys
from collections import deque
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import VcfWriteError
from .vcf_header import FieldDef, VcfHeader, _structured, parse_header, read_header

__all__ = ["VcfWriteError", "VcfWriter", "format_batch", "write_vcf"]

#: VCF version of a synthesized header (one read from the data's schema metadata wins)
DEFAULT_FILEFORMAT = "VCFv4.3"
#: about this many text cells (rows x (8 + samples x FORMAT keys)) are formatted per task
_PIECE_CELLS = 1 << 21

_NULL = pa.scalar(None, pa.string())
_FIXED = ("chrom", "pos", "id", "ref", "alt", "qual", "filter")


# -- what to write: the layout, decided once from the schema -----------------------------------

@dataclass
class _Key:
    """One INFO or FORMAT key: where its values are and how the header declares it."""

    id: str
    column: str           # top-level column ("info", "format", or "info.DP"-style)
    child: int | None     # struct child index, None for a top-level column
    number: str
    type: str
    description: str
    gt: bool = False      # FORMAT GT as {alleles, phased}
    from_end: bool = False  # INFO/END taken from the ``end`` column where it says more

    def header_line(self, kind: str) -> str:
        desc = self.description.replace("\\", "\\\\").replace('"', '\\"')
        return f'{kind}=<ID={self.id},Number={self.number},Type={self.type},Description="{desc}">'


def _is_list(t) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
            or pa.types.is_list_view(t) or pa.types.is_large_list_view(t))


def _base(t):
    while pa.types.is_dictionary(t):
        t = t.value_type
    return t


def _vcf_type(t, info: bool) -> str:
    t = _base(t)
    if pa.types.is_boolean(t):
        return "Flag" if info else "Integer"
    if pa.types.is_integer(t):
        return "Integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "Float"
    return "String"


def _fits(d, t, info: bool) -> bool:
    """Does the definition ``d`` (FieldDef-like) describe values of Arrow type ``t``?"""
    typ, number = d.type, d.number
    t = _base(t)
    if typ == "Flag":
        return info and pa.types.is_boolean(t)
    if _is_list(t) == (number == "1"):
        return False
    leaf = _base(t.value_type) if _is_list(t) else t
    if typ == "Integer":
        return pa.types.is_integer(leaf)
    if typ == "Float":
        return pa.types.is_integer(leaf) or pa.types.is_floating(leaf)
    return typ in ("String", "Character") and not pa.types.is_boolean(leaf)


def _is_gt(t) -> bool:
    t = _base(t)
    return (pa.types.is_struct(t) and t.get_field_index("alleles") >= 0
            and _is_list(t.field("alleles").type))


def _key(kid: str, column: str, child, field: pa.Field, value_type, source: dict, info: bool):
    """The declaration of one key: the source header's if it fits the data, else the field
    metadata our reader records, else one inferred from the Arrow type."""
    d = source.get(kid)
    meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
    if not info and kid == "GT" and _is_gt(value_type):
        # keep the declaration the data came with (an undeclared GT reads as Number=.)
        got = d if d is not None else FieldDef(kid, meta.get("Number", "1"),
                                               meta.get("Type", "String"),
                                               meta.get("Description", "Genotype"))
        number = got.number if got.type == "String" else "1"
        return _Key(kid, column, child, number, "String", got.description, gt=True)
    if d is not None and _fits(d, value_type, info):
        return _Key(kid, column, child, d.number, d.type, d.description)
    if meta.get("Type") and meta.get("Number"):
        d = FieldDef(kid, meta["Number"], meta["Type"], meta.get("Description", ""))
        if _fits(d, value_type, info):
            return _Key(kid, column, child, d.number, d.type, d.description)
    typ = _vcf_type(value_type.value_type if _is_list(value_type) else value_type, info)
    if _is_list(value_type) and _vcf_type(value_type.value_type, info) == "Flag":
        typ = "Integer"
    number = "0" if typ == "Flag" else ("." if _is_list(value_type) else "1")
    return _Key(kid, column, child, number, typ, meta.get("Description", ""))


class _Layout:
    """Which columns hold what: fixed columns, INFO keys, FORMAT keys, samples."""

    def __init__(self, schema: pa.Schema, source: VcfHeader | None, samples=None):
        names = schema.names
        self.schema = schema
        missing = []
        if "chrom" not in names:
            missing.append("chrom")
        if "pos" not in names and "start" not in names:
            missing.append("pos (or start)")
        if "ref" not in names:
            missing.append("ref")
        if missing:
            raise VcfWriteError(
                f"cannot write VCF without the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}: a VCF data line needs CHROM, POS and REF; the data has "
                f"{', '.join(names) or 'no columns'}")
        self.pos = "pos" if "pos" in names else "start"
        self.fixed = [c for c in _FIXED if c in names]
        src_info = source.info if source is not None else {}
        src_fmt = source.format if source is not None else {}
        self.info: list[_Key] = []
        self.fmt: list[_Key] = []
        seen_info: set = set()
        seen_fmt: set = set()
        for f in schema:
            if f.name in ("info", "format") and pa.types.is_struct(f.type):
                info = f.name == "info"
                for j in range(f.type.num_fields):
                    child = f.type.field(j)
                    self._add(child.name, f.name, j, child, info, src_info if info else src_fmt,
                              seen_info if info else seen_fmt)
            elif f.name.startswith(("info.", "format.")):
                col, _, kid = f.name.partition(".")
                info = col == "info"
                if kid:
                    self._add(kid, f.name, None, f, info, src_info if info else src_fmt,
                              seen_info if info else seen_fmt)
        self.fmt.sort(key=lambda k: not k.gt)  # GT must come first
        # ``end`` (0-based exclusive = INFO/END) is written as END where it is not the REF span;
        # data with INFO keys but no END keeps to the keys it has
        self.end = "end" in names and pa.types.is_integer(schema.field("end").type)
        has_info = "info" in names or any(n.startswith("info.") for n in names)
        if self.end and not has_info and (source is None or "END" in src_info):
            self.info.append(_Key("END", "end", None, "1", "Integer",
                                  "End position of the variant", from_end=True))
        self.samples = self._samples(schema, source, samples)

    def _add(self, kid, column, child, field, info, source, seen):
        if kid in seen:
            raise VcfWriteError(f"the {'INFO' if info else 'FORMAT'} key {kid!r} appears twice "
                                "in the data (as a struct child and as a column)")
        seen.add(kid)
        t = field.type
        if not info:
            if not _is_list(t):
                raise VcfWriteError(f"FORMAT {kid}: expected a list with one value per sample, "
                                    f"got {t}")
            t = t.value_type
        if pa.types.is_struct(_base(t)) and not (not info and kid == "GT" and _is_gt(t)):
            raise VcfWriteError(f"{'INFO' if info else 'FORMAT'} {kid}: a {t} has no VCF form")
        (self.info if info else self.fmt).append(_key(kid, column, child, field, t, source, info))

    def _samples(self, schema, source, samples):
        if not self.fmt:
            return []
        if samples is not None:
            return list(samples)
        raw = (schema.metadata or {}).get(b"genomicframe.vcf.samples")
        if raw is not None:
            return list(json.loads(raw))
        if source is not None and source.samples:
            return list(source.samples)
        return None  # named from the data: sample_1, sample_2, ...


# -- text of values ------------------------------------------------------------------------------

def _list_parts(arr):
    """(offsets starting at 0, values of just this slice, validity mask or None) of a list array."""
    if pa.types.is_fixed_size_list(arr.type) or pa.types.is_list_view(arr.type) \
            or pa.types.is_large_list_view(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    off = arr.offsets
    o0 = off[0].as_py()
    o1 = off[len(off) - 1].as_py()
    if o0:
        off = pc.subtract(off, pa.scalar(o0, off.type))
    mask = arr.is_null() if arr.null_count else None
    return off, arr.values.slice(o0, o1 - o0), mask


def _scalar_text(arr) -> pa.Array:
    """Scalars as text, nulls kept."""
    t = arr.type
    if pa.types.is_dictionary(t):
        return _scalar_text(arr.dictionary_decode())
    if pa.types.is_string(t):
        return arr
    if pa.types.is_boolean(t):
        arr = arr.cast(pa.int8())
    elif pa.types.is_float16(t):
        arr = arr.cast(pa.float32())
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise VcfWriteError(f"values of type {t} have no VCF text form") from None


def _value_text(arr) -> pa.Array:
    """One VCF value per slot: scalars as text, lists ``,``-joined (null items ``.``); nulls kept.

    An empty list is the empty string (``KEY=`` reads back as an empty list)."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not _is_list(arr.type):
        return _scalar_text(arr)
    off, values, mask = _list_parts(arr)
    items = pc.fill_null(_scalar_text(values), ".")
    return pc.binary_join(pa.ListArray.from_arrays(off, items, mask=mask), ",")


def _gt_text(arr) -> pa.Array:
    """``{alleles, phased}`` genotypes as ``0/1``, ``1|0``, ``./.``, ``|1`` (phased haploid, VCF
    4.4); a missing allele (-1 or null) is ``.``; null genotypes stay null."""
    alleles = pc.struct_field(arr, "alleles")
    if arr.type.get_field_index("phased") >= 0:
        phased = pc.fill_null(pc.struct_field(arr, "phased"), False)
    else:
        phased = pa.array(np.zeros(len(arr), dtype=bool))
    off, values, mask = _list_parts(alleles)
    vals = values.cast(pa.int64()) if not pa.types.is_integer(values.type) else values
    items = pc.if_else(pc.fill_null(pc.less(vals, 0), True), ".", vals.cast(pa.string()))
    lists = pa.ListArray.from_arrays(off, items, mask=mask)
    sep = pc.if_else(phased, "|", "/")
    text = pc.binary_join(lists, sep)
    n = pc.list_value_length(lists)
    lead = pc.and_(phased, pc.equal(n, 1))
    if pc.any(lead).as_py():
        text = pc.if_else(lead, pc.binary_join_element_wise("|", text, ""), text)
    return pc.if_else(pc.equal(n, 0), ".", text)


def _column(batch: pa.RecordBatch, name: str):
    return batch.column(batch.schema.get_field_index(name))


def _key_values(batch, key: _Key):
    col = _column(batch, key.column)
    if key.child is None:
        return col
    return pc.struct_field(col, [key.child])


def _concat_prefixed(parts: list) -> pa.Array:
    """Concatenate ``parts`` element-wise, nulls left out, each part starting with the same
    one-character separator; the first separator is dropped.  Null where every part is null.

    (``binary_join_element_wise(..., null_handling="skip")`` would do this, but it drops the
    rows where every input is null instead of emitting them.)"""
    text = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(
        *parts, "", null_handling="replace", null_replacement="")
    text = pc.utf8_slice_codeunits(text, 1)
    return pc.if_else(pc.equal(text, ""), _NULL, text)


def _all_null(arr) -> bool:
    return arr.null_count == len(arr)


# -- one batch -> text ---------------------------------------------------------------------------

def _fixed_text(batch, layout: _Layout) -> list:
    n = batch.num_rows
    out = []
    chrom = _column(batch, "chrom")
    if chrom.null_count:
        raise VcfWriteError("chrom has null values; every VCF record needs a CHROM")
    out.append(_scalar_text(chrom))
    pos = _column(batch, layout.pos)
    if pos.null_count:
        raise VcfWriteError(f"{layout.pos} has null values; every VCF record needs a POS")
    if layout.pos == "start":
        pos = pc.add(pos, 1)
    out.append(_scalar_text(pos))
    dot = pa.array(["."] * n, pa.string()) if n else pa.array([], pa.string())
    for name in ("id", "ref", "alt", "qual", "filter"):
        if name not in layout.fixed:
            out.append(dot)
            continue
        col = _column(batch, name)
        if name == "ref" and col.null_count:
            raise VcfWriteError("ref has null values; every VCF record needs a REF")
        if _is_list(col.type):
            off, values, mask = _list_parts(col)
            items = pc.fill_null(_scalar_text(values), ".")
            text = pc.binary_join(pa.ListArray.from_arrays(off, items, mask=mask),
                                  ";" if name == "filter" else ",")
            text = pc.if_else(pc.equal(text, ""), ".", text)
        else:
            text = _scalar_text(col)
            if name == "id":
                text = pc.if_else(pc.equal(text, ""), _NULL, text)
        out.append(pc.fill_null(text, "."))
    return out


def _end_values(batch, layout: _Layout, vals):
    """INFO/END: ``vals`` (the INFO values), else ``end`` where it differs from the REF span."""
    end = _column(batch, "end")
    pos = _column(batch, layout.pos)
    start = pc.subtract(pos, 1) if layout.pos == "pos" else pos
    span = pc.add(start, pc.binary_length(_column(batch, "ref")).cast(pa.int64()))
    differs = pc.fill_null(pc.not_equal(end, span), False)
    if not pc.any(differs).as_py():
        return vals
    extra = pc.if_else(differs, end.cast(pa.int64()), pa.scalar(None, pa.int64()))
    return extra if vals is None else pc.coalesce(vals.cast(pa.int64()), extra)


def _info_text(batch, layout: _Layout) -> pa.Array:
    parts = []
    for key in layout.info:
        if key.from_end:
            vals = _end_values(batch, layout, None)
        else:
            vals = _key_values(batch, key)
            if layout.end and key.id == "END" and key.type == "Integer" and key.number == "1":
                vals = _end_values(batch, layout, vals)
        if _all_null(vals):
            continue
        if key.type == "Flag":
            vals = pc.fill_null(vals, False)
            if not pc.any(vals).as_py():
                continue
            parts.append(pc.if_else(vals, ";" + key.id, _NULL))
        else:
            parts.append(pc.binary_join_element_wise(";" + key.id, _value_text(vals), "="))
    if not parts:
        return pa.array(["."] * batch.num_rows, pa.string())
    return pc.fill_null(_concat_prefixed(parts), ".")


def _per_sample(outer, nsamples: int, text_fn):
    """A FORMAT key's per-sample list (one list per record) as ``rows x samples`` texts (row
    major), null where the record lacks the key or the sample has no value."""
    n = len(outer)
    off, values, _ = _list_parts(outer)
    text = text_fn(values)
    if not outer.null_count and len(text) == n * nsamples:
        lens = np.diff(np.frombuffer(off.buffers()[1], dtype=np.int32, count=n + 1,
                                     offset=off.offset * 4))
        if (lens == nsamples).all():
            return text
    o = off.to_numpy(zero_copy_only=False).astype(np.int64)
    lens = np.diff(o)
    if (lens > nsamples).any():
        raise VcfWriteError(f"a FORMAT list has {int(lens.max())} values but the data names "
                            f"{nsamples} sample(s)")
    valid = ~outer.is_null().to_numpy(zero_copy_only=False)
    idx = o[:-1, None] + np.arange(nsamples)[None, :]
    keep = (np.arange(nsamples)[None, :] < lens[:, None]) & valid[:, None]
    return text.take(pa.array(idx.ravel(), mask=~keep.ravel()))


def _format_text(batch, layout: _Layout, nsamples: int):
    """(FORMAT column, the sample columns joined by tabs), one entry per record."""
    n = batch.num_rows
    present = []
    texts = []
    for key in layout.fmt:
        outer = _key_values(batch, key)
        if _all_null(outer):
            continue
        fn = _gt_text if key.gt else _value_text
        present.append((key, outer.is_valid()))
        texts.append(_per_sample(outer, nsamples, fn))
    if not present:
        dots = pa.array(["."] * n, pa.string())
        samples = "\t".join(["."] * nsamples)
        return dots, pa.array([samples] * n, pa.string())
    fmt = pc.fill_null(_concat_prefixed([pc.if_else(v, ":" + k.id, _NULL) for k, v in present]),
                       ".")
    if all(not t.null_count for t in texts) and all(not v.null_count and pc.all(v).as_py()
                                                    for _, v in present):
        acc = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, ":")
        rows = pa.ListArray.from_arrays(
            pa.array(np.arange(0, n * nsamples + 1, nsamples, dtype=np.int32)), acc)
        return fmt, pc.binary_join(rows, "\t")
    # build each sample's text from its last key back, so trailing missing values are left out
    acc = None  # per sample: the text of the keys after this one, null when all are missing
    for (_, valid), text in zip(reversed(present), reversed(texts)):
        if acc is None:
            new = text
        else:
            new = pc.coalesce(pc.binary_join_element_wise(pc.fill_null(text, "."), acc, ":"),
                              text)
        if valid.null_count or not pc.all(valid).as_py():
            # records without this key: it is not in their FORMAT, so nothing changes
            here = pa.array(np.repeat(pc.fill_null(valid, False).to_numpy(zero_copy_only=False),
                                      nsamples))
            new = pc.if_else(here, new, acc if acc is not None else _NULL)
        acc = new
    acc = pc.fill_null(acc, ".")
    rows = pa.ListArray.from_arrays(pa.array(np.arange(0, n * nsamples + 1, nsamples,
                                                       dtype=np.int32)), acc)
    return fmt, pc.binary_join(rows, "\t")


def format_batch(batch: pa.RecordBatch, layout: _Layout, nsamples: int = 0) -> pa.Buffer:
    """The VCF data lines of ``batch`` (one per row, each ending in ``\\n``) as one buffer."""
    n = batch.num_rows
    if n == 0:
        return pa.py_buffer(b"")
    cols = _fixed_text(batch, layout)
    cols.append(_info_text(batch, layout))
    if layout.fmt and nsamples:
        cols.extend(_format_text(batch, layout, nsamples))
    cols[-1] = pc.binary_join_element_wise(cols[-1], "\n", "")
    lines = pc.binary_join_element_wise(*cols, "\t")
    if lines.null_count:  # pragma: no cover - every column above is filled
        raise VcfWriteError("internal error: a VCF field came out null")
    bufs = lines.buffers()
    off = np.frombuffer(bufs[1], dtype=np.int32, count=n + 1, offset=lines.offset * 4)
    start, end = int(off[0]), int(off[n])
    return bufs[2].slice(start, end - start)


# -- header ----------------------------------------------------------------------------------------

def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def header_text(layout: _Layout, source: VcfHeader | None, *, contigs=(), filters=(),
                fileformat=None, meta=()) -> str:
    """The header: the source's meta lines (minus INFO/FORMAT definitions the data lacks) or a
    synthesized one, then ``meta`` lines, then the ``#CHROM`` line."""
    info = {k.id: k for k in layout.info}
    fmt = {k.id: k for k in layout.fmt}
    lines = []
    if source is not None:
        lines.append(f"fileformat={source.fileformat}")
        done = {"INFO": set(), "FORMAT": set()}
        last_def = None
        for body in source.meta:
            kind, eq, value = body.partition("=")
            if kind == "fileformat":
                continue
            if eq and kind in ("INFO", "FORMAT"):
                d = _structured(value) or {}
                keys = info if kind == "INFO" else fmt
                k = keys.get(d.get("ID"))
                if k is None or d["ID"] in done[kind]:
                    continue
                done[kind].add(k.id)
                src = (source.info if kind == "INFO" else source.format).get(k.id)
                same = src is not None and src.number == k.number and src.type == k.type
                lines.append(body if same else k.header_line(kind))
                last_def = len(lines)
                continue
            lines.append(body)
        extra = [k.header_line("INFO") for k in layout.info if k.id not in done["INFO"]]
        extra += [k.header_line("FORMAT") for k in layout.fmt if k.id not in done["FORMAT"]]
        at = last_def if last_def is not None else len(lines)
        lines[at:at] = extra
    else:
        lines.append(f"fileformat={fileformat or DEFAULT_FILEFORMAT}")
        lines.append('FILTER=<ID=PASS,Description="All filters passed">')
        lines += [f'FILTER=<ID={f},Description="{_quote(f)}">' for f in filters if f != "PASS"]
        lines += [k.header_line("INFO") for k in layout.info]
        lines += [k.header_line("FORMAT") for k in layout.fmt]
        lines += [f"contig=<ID={c}>" for c in contigs]
    lines += list(meta)
    cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if layout.fmt and layout.samples:
        cols += ["FORMAT", *layout.samples]
    return "".join(f"##{x}\n" for x in lines) + "\t".join(cols) + "\n"


def _seen(batch, layout: _Layout) -> tuple[list, list]:
    """Contigs and FILTER values of ``batch``, in order of first appearance."""
    contigs = pc.unique(_column(batch, "chrom")).to_pylist() if batch.num_rows else []
    filters = []
    if "filter" in layout.fixed and batch.num_rows:
        col = _column(batch, "filter")
        if _is_list(col.type):
            filters = [f for f in pc.unique(pc.list_flatten(col)).to_pylist() if f]
    return [c for c in contigs if c is not None], filters


def _load_header(header) -> VcfHeader | None:
    if header is None or header is False:
        return None
    if isinstance(header, VcfHeader):
        return header
    if isinstance(header, bytes):
        header = header.decode()
    if isinstance(header, str) and header.startswith("##"):
        text = header if "\n#CHROM" in header else header.rstrip("\n") + \
            "\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        return parse_header(text.encode())
    if isinstance(header, (str, os.PathLike)):
        return read_header(header)[0]
    raise TypeError("header must be a VCF path, header text, a VcfHeader, False or None")


# -- the writer ------------------------------------------------------------------------------------

def _open(where, compression, level: int, threads):
    """(binary stream, close it when done?)."""
    if compression not in (None, "bgzf", "none", False):
        raise ValueError(f"compression must be None (from the name), 'bgzf' or 'none', not "
                         f"{compression!r}")
    is_path = isinstance(where, (str, bytes, os.PathLike))
    name = os.fspath(where) if is_path else ""
    if isinstance(name, bytes):
        name = name.decode()
    if compression is None:
        compression = "bgzf" if is_path and name.lower().endswith((".gz", ".bgz", ".bgzf")) \
            else "none"
    if compression == "bgzf":
        from ..bgzf.writer import Writer

        return Writer(where, level=level, threads=threads), True
    if is_path:
        if name == "-":
            sys.stdout.flush()
            return sys.stdout.buffer, False
        return open(name, "wb"), True
    return where, False


class VcfWriter:
    """Write record batches in the VCF schema as VCF, one batch at a time.

    Parameters
    ----------
    where : str, os.PathLike or binary file object
        ``"-"`` is standard output.  A name ending in ``.gz``/``.bgz`` is
        written as BGZF (so ``tabix`` and :func:`genomicframe.index.build.write_index`
        can index it) unless ``compression`` says otherwise.
    schema : pyarrow.Schema
        The schema of the batches (see :func:`write_vcf` for what it may hold).
    header, samples, compression, level, threads, meta, write_header
        As in :func:`write_vcf`.

    The header is written with the first batch (or on :meth:`close`): a
    synthesized header lists the contigs and FILTER values of that first batch.
    """

    def __init__(self, where, schema: pa.Schema, *, header=None, samples=None,
                 compression=None, level: int = -1, threads: int | None = None, meta=(),
                 write_header: bool = True, contigs=None, filters=None) -> None:
        from ..bgzf.reader import resolve_threads

        self.source = _load_header(header)
        self.layout = _Layout(schema, self.source, samples)
        self.schema = schema
        self.meta = [m.removeprefix("##") for m in meta]
        self._write_header = write_header
        self._contigs, self._filters = contigs, filters
        self._fh, self._owns = _open(where, compression, level, threads)
        self.threads = resolve_threads(threads)
        self._pending: deque = deque()
        self._header_done = False
        self.rows = 0
        self.closed = False

    def _header(self, first=None) -> None:
        if self._header_done:
            return
        self._header_done = True
        lay = self.layout
        if lay.fmt and lay.samples is None:
            lay.samples = [f"sample_{i + 1}" for i in range(_widest(first, lay))]
        if not self._write_header:
            return
        contigs, filters = self._contigs, self._filters
        if self.source is None and (contigs is None or filters is None) and first is not None:
            c, f = _seen(first, lay)
            contigs = c if contigs is None else contigs
            filters = f if filters is None else filters
        md = self.schema.metadata or {}
        ff = md.get(b"genomicframe.vcf.fileformat")
        text = header_text(lay, self.source, contigs=contigs or (), filters=filters or (),
                           fileformat=ff.decode() if ff else None, meta=self.meta)
        self._fh.write(text.encode())

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Format ``batch`` (on a worker thread when ``threads > 1``) and write it."""
        if self.closed:
            raise ValueError("write to a closed VcfWriter")
        if not batch.schema.equals(self.schema, check_metadata=False):
            if batch.schema.names != self.schema.names:
                raise ValueError("the batch's columns differ from the writer's schema")
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        if not self._header_done:
            self._header(batch)
        if not batch.num_rows:
            return
        nsamples = len(self.layout.samples or ())
        cells = 8 + nsamples * max(1, len(self.layout.fmt))
        step = max(1, _PIECE_CELLS // cells)
        for i in range(0, batch.num_rows, step):
            piece = batch.slice(i, step)
            self.rows += piece.num_rows
            if self.threads <= 1:
                self._fh.write(format_batch(piece, self.layout, nsamples))
                continue
            from .. import _threads

            pool = _threads.pool(self.threads, "vcf-write")
            self._pending.append(pool.submit(format_batch, piece, self.layout, nsamples))
            while len(self._pending) > self.threads:
                self._fh.write(self._pending.popleft().result())

    def write_table(self, table: pa.Table) -> None:
        for b in table.to_batches():
            self.write_batch(b)

    def close(self) -> None:
        """Write what is pending (the header too, for no data) and close the file if owned."""
        if self.closed:
            return
        self.closed = True
        try:
            while self._pending:
                self._fh.write(self._pending.popleft().result())
            self._header(None)
        finally:
            for fut in self._pending:
                fut.cancel()
            if self._owns:
                self._fh.close()
            else:
                self._fh.flush()

    def __enter__(self) -> "VcfWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.closed = True
            for fut in self._pending:
                fut.cancel()
            self._pending.clear()
            if self._owns:
                if hasattr(self._fh, "block_sizes"):  # BGZF: close without the EOF marker
                    self._fh.__exit__(exc_type, None, None)
                else:
                    self._fh.close()


def _widest(batch, layout: _Layout) -> int:
    """Samples in the data when their names are unknown: the longest FORMAT list of ``batch``."""
    if batch is None or not batch.num_rows:
        return 0
    widest = 0
    for key in layout.fmt:
        lens = pc.list_value_length(_key_values(batch, key))
        m = pc.max(lens).as_py()
        widest = max(widest, m or 0)
    return widest


# -- the public function ---------------------------------------------------------------------------

def _source_of(data):
    """(schema, batch iterator, VCF path the data came from or None, whole Table or None)."""
    from ..dataset import Dataset, Scanner
    from ..scan import LazyScan

    if isinstance(data, LazyScan):
        return data.schema, iter(data.to_batches()), _vcf_path(data.dataset.files,
                                                                data.dataset), None
    if isinstance(data, Dataset):
        return data.schema, iter(data.to_batches()), _vcf_path(data.files, data), None
    if isinstance(data, Scanner):
        frags = data.fragments()
        path = frags[0].path if frags and frags[0].spec.format == "vcf" else None
        return data.projected_schema, iter(data.to_batches()), path, None
    if isinstance(data, pa.Table):
        return data.schema, iter(data.to_batches()), None, data
    if isinstance(data, pa.RecordBatch):
        return data.schema, iter([data]), None, pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.schema, iter(data), None, None
    if hasattr(data, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(data)
        return reader.schema, iter(reader), None, None
    it = iter(data)
    first = next(it, None)
    if first is None:
        raise ValueError("write_vcf: no record batches to take the schema from; pass a "
                         "pyarrow Table or RecordBatchReader")
    if isinstance(first, pa.Table):
        raise TypeError("write_vcf takes an iterable of RecordBatches, not of Tables")

    def chain():
        yield first
        yield from it

    return first.schema, chain(), None, None


def _vcf_path(files, ds):
    try:
        return files[0] if files and ds.format.name == "vcf" else None
    except (AttributeError, IndexError):
        return None


def write_vcf(data, where, *, header=None, samples=None, compression=None, level: int = -1,
              threads: int | None = None, meta=(), write_header: bool = True,
              header_only: bool = False) -> int:
    """Write ``data`` as VCF text to ``where``; returns the number of records written.

    Parameters
    ----------
    data : pyarrow.Table, RecordBatch, RecordBatchReader, iterable of RecordBatch, or a
        genomicframe Dataset, Scanner or ``gf.scan(...)`` plan
        Columns in the VCF schema (``docs/vcf.md``), possibly a subset: ``chrom``,
        ``pos`` (or ``start``, 0-based) and ``ref`` are required; ``id``, ``alt``,
        ``qual``, ``filter``, ``info`` (a struct; or ``info.KEY`` columns) and
        ``format`` (a struct of per-sample lists; or ``format.KEY`` columns) are
        optional; other columns (``start``, ``end``, anything else) are ignored.
    where : str, os.PathLike or binary file object
        ``"-"`` for standard output.
    header : path, header text, VcfHeader, False or None
        The header to start from.  ``None``: the header of the VCF file the data
        was read from (Dataset, Scanner or scan input), else a synthesized one;
        ``False``: always synthesize.  A source header keeps its meta lines but
        loses the INFO/FORMAT definitions of keys the data does not have; keys
        it does not declare get a definition from the field metadata our reader
        records (``Number``, ``Type``, ``Description``) or from the Arrow type.
        A synthesized header has ``##fileformat`` (from the schema metadata, else
        VCFv4.3), PASS and the FILTER values seen, the INFO/FORMAT definitions
        and ``##contig`` lines for the contigs seen (for a Table: all of it;
        for a stream: its first batch).
    samples : list of str, optional
        Sample names for the ``#CHROM`` line (default: the schema metadata
        ``genomicframe.vcf.samples`` our reader writes, else the source header's).
    compression : None, "bgzf" or "none"
        Default: BGZF when ``where`` is a name ending in ``.gz``/``.bgz``.
    level, threads
        BGZF level (-1 default, 0-9) and worker threads (formatting and compression;
        default: one per core).
    meta : list of str
        Extra ``##`` lines appended to the header (e.g. the command that wrote the file).
    write_header, header_only : bool
        Leave the header out / write only the header.

    Raises
    ------
    VcfWriteError
        A required column is missing or null, or a column has no VCF form.
    """
    schema, batches, path, table = _source_of(data)
    if header is None and path is not None:
        header = path
    contigs = filters = None
    if table is not None and header in (None, False):
        lay = _Layout(schema, None, samples)
        contigs, filters = [], []
        for b in table.to_batches():
            c, f = _seen(b, lay)
            contigs += [x for x in c if x not in contigs]
            filters += [x for x in f if x not in filters]
    w = VcfWriter(where, schema, header=header, samples=samples, compression=compression,
                  level=level, threads=threads, meta=meta, write_header=write_header,
                  contigs=contigs, filters=filters)
    with w:
        if not header_only:
            for b in batches:
                w.write_batch(b)
        else:
            first = next(batches, None)
            if first is not None:
                w._header(first)
    return w.rows

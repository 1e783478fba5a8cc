"""VCF header: meta-information lines and the ``#CHROM`` line -> :class:`VcfHeader`.

The header decides the Arrow schema: every ``##INFO`` and ``##FORMAT`` line
becomes a typed field (see :func:`genomicframe.formats.vcf.vcf_schema`).  The
checks follow htslib where htslib refuses a file: an empty file, a missing or
empty ``##fileformat``, a header line that does not start with ``##``, a
``#CHROM`` line with wrong column names, ``FORMAT`` without samples, and
repeated sample names are errors; unusual but harmless meta lines are kept.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import VcfFormatError

__all__ = ["FieldDef", "VcfHeader", "parse_header", "read_header", "FIXED_COLUMNS"]

#: the eight mandatory columns of the ``#CHROM`` line
FIXED_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")

_TYPES = {"Integer", "Float", "Flag", "String", "Character"}


@dataclass(frozen=True)
class FieldDef:
    """One ``##INFO`` or ``##FORMAT`` definition.

    ``number`` is the header text (``"1"``, ``"A"``, ``"R"``, ``"G"``, ``"."``,
    ``"2"``, ...); ``declared`` is False for keys found only in the data, which
    are read as ``Type=String, Number=1`` (as htslib does).
    """

    id: str
    number: str
    type: str
    description: str = ""
    declared: bool = True

    @property
    def is_list(self) -> bool:
        return self.type != "Flag" and self.number != "1"


@dataclass
class VcfHeader:
    """A parsed VCF header.

    Attributes
    ----------
    fileformat : str
        e.g. ``"VCFv4.3"``.
    meta : list[str]
        Every ``##`` line, without the ``##`` and the line end.
    info, format : dict[str, FieldDef]
        Definitions in header order.
    filters : list[str]
    contigs : list[tuple[str, int | None]]
        ``(name, length)``; length None when not given.
    samples : list[str]
    n_lines : int
        Header lines, the ``#CHROM`` line included (data starts on line ``n_lines + 1``).
    n_bytes : int
        Uncompressed bytes of the header.
    """

    fileformat: str
    meta: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    format: dict = field(default_factory=dict)
    filters: list = field(default_factory=list)
    contigs: list = field(default_factory=list)
    samples: list = field(default_factory=list)
    n_lines: int = 0
    n_bytes: int = 0


def _structured(text: str) -> dict | None:
    """``<ID=AF,Number=A,Description="x, y">`` -> dict (None when not structured)."""
    if not (text.startswith("<") and text.rstrip().endswith(">")):
        return None
    body = text.rstrip()[1:-1]
    out: dict = {}
    i, n = 0, len(body)
    while i < n:
        eq = body.find("=", i)
        if eq < 0:
            break
        key = body[i:eq].strip()
        j = eq + 1
        if j < n and body[j] == '"':
            j += 1
            buf = []
            while j < n and body[j] != '"':
                if body[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(body[j])
                j += 1
            value = "".join(buf)
            j += 1
            comma = body.find(",", j)
            j = n if comma < 0 else comma
        else:
            comma = body.find(",", j)
            end = n if comma < 0 else comma
            value = body[j:end]
            j = end
        out.setdefault(key, value)
        i = j + 1
    return out


def _definition(d: dict, kind: str) -> FieldDef | None:
    fid = d.get("ID")
    if not fid:
        return None
    typ = d.get("Type", "String")
    if typ not in _TYPES:
        typ = "String"
    number = d.get("Number")
    if typ == "Flag":
        number = "0"
    elif not number:
        number = "."
    if kind == "FORMAT" and typ == "Flag":  # not allowed in FORMAT: read the text
        typ, number = "String", "1"
    return FieldDef(fid, number, typ, d.get("Description", ""))


def parse_header(text: bytes, path=None) -> VcfHeader:
    """Parse the header lines at the start of ``text`` (which must hold the ``#CHROM`` line).

    Raises
    ------
    VcfFormatError
        For the problems listed in the module docstring, naming the line.
    """
    if not text.strip():
        raise VcfFormatError("the file is empty; a VCF starts with a ##fileformat line",
                             path=path, line=1)
    pos = 0
    lineno = 0
    hdr = None
    while True:
        if pos >= len(text):
            raise VcfFormatError("the header has no #CHROM line (column names); the file is "
                                 "truncated or not a VCF", path=path, line=lineno)
        nl = text.find(b"\n", pos)
        if nl < 0:
            raw = text[pos:]
            nxt = len(text)
        else:
            raw = text[pos:nl]
            nxt = nl + 1
        lineno += 1
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if lineno == 1:
            if not line.startswith("##fileformat="):
                raise VcfFormatError("the first line must be ##fileformat=VCFv4.x; this is not "
                                     "a VCF file", path=path, line=1)
            version = line[len("##fileformat="):].strip()
            if not version:
                raise VcfFormatError("##fileformat is empty; it should name the VCF version "
                                     "(e.g. VCFv4.3)", path=path, line=1)
            hdr = VcfHeader(fileformat=version)
        if line.startswith("##"):
            body = line[2:]
            hdr.meta.append(body)
            key, eq, value = body.partition("=")
            if eq:
                d = _structured(value)
                if d is not None:
                    if key in ("INFO", "FORMAT"):
                        fd = _definition(d, key)
                        if fd is not None:
                            getattr(hdr, key.lower()).setdefault(fd.id, fd)
                    elif key == "FILTER" and d.get("ID"):
                        if d["ID"] not in hdr.filters:
                            hdr.filters.append(d["ID"])
                    elif key == "contig" and d.get("ID"):
                        length = d.get("length")
                        hdr.contigs.append((d["ID"], int(length) if (length or "").isdigit()
                                            else None))
        elif line.startswith("#"):
            _chrom_line(hdr, line, path, lineno)
            hdr.n_lines = lineno
            hdr.n_bytes = nxt
            if "PASS" not in hdr.filters:
                hdr.filters.insert(0, "PASS")
            return hdr
        else:
            raise VcfFormatError(
                "header line does not start with '##' (meta-information) or '#CHROM' (column "
                "names); the header is damaged", path=path, line=lineno)
        if nl < 0:
            raise VcfFormatError("the header has no #CHROM line (column names); the file is "
                                 "truncated or not a VCF", path=path, line=lineno)
        pos = nxt


def _chrom_line(hdr: VcfHeader, line: str, path, lineno: int) -> None:
    cols = line[1:].split("\t")
    if tuple(cols[:8]) != FIXED_COLUMNS:
        raise VcfFormatError(
            "the #CHROM line must name the columns CHROM POS ID REF ALT QUAL FILTER INFO "
            f"(tab-separated), found {' '.join(cols[:8])!r}", path=path, line=lineno)
    if len(cols) > 8:
        if cols[8] != "FORMAT":
            raise VcfFormatError(f"the ninth column must be FORMAT, found {cols[8]!r}",
                                 path=path, line=lineno)
        samples = cols[9:]
        if not samples:
            raise VcfFormatError("the #CHROM line has a FORMAT column but no sample columns",
                                 path=path, line=lineno)
        if len(set(samples)) != len(samples):
            seen, dups = set(), []
            for s in samples:
                if s in seen:
                    dups.append(s)
                seen.add(s)
            raise VcfFormatError(f"sample names must be unique; repeated: {', '.join(dups)}",
                                 path=path, line=lineno)
        hdr.samples = samples


def read_header(path, max_bytes: int = 1 << 30) -> tuple[VcfHeader, bytes]:
    """Read and parse the header of ``path``; also return the data bytes read after it.

    Raises :class:`~genomicframe.errors.BcfNotSupportedError` for BCF input.
    """
    from ..bgzf.reader import Reader

    parts: list = []
    size = 0
    with Reader(path, threads=1, check_eof=False) as r:
        for _, data in r.pieces():
            parts.append(bytes(data))
            size += len(data)
            if size >= 4 and parts[0][:3] == b"BCF":
                _bcf(path)
            text = b"".join(parts) if len(parts) > 1 else parts[0]
            if _has_chrom_line(text) or size > max_bytes:
                break
    text = b"".join(parts)
    if text[:3] == b"BCF":
        _bcf(path)
    hdr = parse_header(text, path=os.fspath(path))
    return hdr, text[hdr.n_bytes:]


def _has_chrom_line(text: bytes) -> bool:
    i = 0 if text.startswith(b"#CHROM") else text.find(b"\n#CHROM")
    return i >= 0 and text.find(b"\n", i + 1) >= 0


def _bcf(path):
    from ..errors import BcfNotSupportedError

    raise BcfNotSupportedError("BCF is not supported yet; convert it to VCF with "
                               "`bcftools view -Oz -o out.vcf.gz in.bcf`", path=path)

"""One-pass VCF summary statistics, equal to ``bcftools stats`` SN and TSTV numbers.

:class:`VcfStats` consumes record batches with the columns ``chrom``, ``ref``,
``alt`` (list), ``qual`` and ``filter`` (list) and is mergeable, so fragments
can be summarised independently and combined with ``+``.  Everything is
vectorised over the alleles of a batch (numpy and pyarrow.compute).

Variant classes follow htslib's per-allele rules (``bcf_set_variant_type``)
as ``bcftools stats`` 1.16 applies them, checked against it here:

* an allele is compared with REF after removing their common prefix (case-
  insensitively), then their common suffix (keeping one base of each);
  single-base REF and ALT compare case-sensitively; ``.``, ``X``, ``<X>``,
  ``<*>``, ``<NON_REF>`` and an ALT equal to REF are reference alleles; ``*``
  is an overlapping-deletion allele, ``[``/``]`` breakends are breakends, and
  other ``<...>`` symbolic alleles are "others";
* a record counts once in each class any of its alleles has ("number of
  SNPs" = records with at least one SNP allele); records whose alleles are all
  reference alleles are the "no-ALTs"; ``*`` and breakend alleles count in no
  class;
* multiallelic sites have more than one ALT; multiallelic SNP sites are those
  whose only class is SNP;
* Ts/Tv counts every SNP allele whose first REF and ALT bases are different
  A/C/G/T (A<->G and C<->T are transitions), and separately the first ALT only.

Insertions and deletions are counted per allele (the totals of bcftools'
IDD section).  QUAL, FILTER and per-chromosome counts are genomicframe's own.

Examples
--------
>>> import pyarrow as pa
>>> batch = pa.record_batch({
...     "chrom": ["1", "1", "2"], "ref": ["A", "C", "AT"],
...     "alt": [["G"], ["T", "A"], ["A"]], "qual": pa.array([10.0, None, 30.0], pa.float32()),
...     "filter": [["PASS"], [], ["q10"]]})
>>> s = VcfStats().update(batch)
>>> s.records, s.snps, s.indels, s.multiallelic, s.ts, s.tv
(3, 2, 1, 1, 2, 1)
>>> s.to_dict()["chrom"]["1"]["records"]
2
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["VcfStats", "classify_alleles", "COLUMNS",
           "REF", "SNP", "MNP", "INDEL", "OTHER", "BND", "OVERLAP", "INS", "DEL"]

#: columns a :class:`VcfStats` needs
COLUMNS = ("chrom", "ref", "alt", "qual", "filter")

# allele classes (bit flags, as htslib numbers them)
REF, SNP, MNP, INDEL, OTHER, BND, OVERLAP, INS, DEL = 0, 1, 2, 4, 8, 16, 32, 64, 128

_A, _C, _G, _T = (ord(c) for c in "ACGT")


def _upper(c: np.ndarray) -> np.ndarray:
    return np.where((c >= 97) & (c <= 122), c - 32, c)


def _buffers(arr):
    """``(offsets, data)`` numpy views of a string array without nulls."""
    import pyarrow as pa

    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        dtype = np.int64
    else:
        dtype = np.int32
    bufs = arr.buffers()
    itemsize = np.dtype(dtype).itemsize
    offsets = np.frombuffer(bufs[1], dtype=dtype, count=len(arr) + 1,
                            offset=arr.offset * itemsize).astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and bufs[2].size else \
        np.zeros(1, dtype=np.uint8)
    return offsets, data


def _at(data: np.ndarray, offsets: np.ndarray, length: np.ndarray, i: np.ndarray,
        k: np.ndarray | int) -> np.ndarray:
    """Byte ``k`` of strings ``i`` (0 where the string is shorter)."""
    k = np.broadcast_to(k, i.shape)
    ok = k < length[i]
    out = np.zeros(len(i), dtype=np.int16)
    out[ok] = data[offsets[i[ok]] + k[ok]]
    return out


def classify_alleles(ref, alt) -> np.ndarray:
    """htslib's class flags for each (REF, ALT) pair of two equal-length string arrays.

    Null ALT entries are read as ``.``.  Returns an int16 array of
    :data:`SNP`/:data:`MNP`/:data:`INDEL`... flags (0 for a reference allele).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ref = pc.fill_null(pa.array(ref) if not isinstance(ref, pa.Array) else ref, "")
    alt = pc.fill_null(pa.array(alt) if not isinstance(alt, pa.Array) else alt, ".")
    m = len(alt)
    ro, rd = _buffers(ref)
    ao, ad = _buffers(alt)
    lr = np.diff(ro)
    la = np.diff(ao)
    every = np.arange(m)
    r0 = _at(rd, ro, lr, every, 0)
    a0 = _at(ad, ao, la, every, 0)
    kind = np.zeros(m, dtype=np.int16)
    done = np.zeros(m, dtype=bool)

    star = (la == 1) & (a0 == ord("*"))
    kind[star] = OVERLAP
    done |= star

    single = ~done & (lr == 1) & (la == 1)
    ref_like = (a0 == ord(".")) | (r0 == a0) | (a0 == ord("X"))
    kind[single & ~ref_like] = SNP
    done |= single

    sym = ~done & (a0 == ord("<"))
    if sym.any():
        i = np.flatnonzero(sym)
        a1 = _at(ad, ao, la, i, 1)
        a2 = _at(ad, ao, la, i, 2)
        is_ref = ((a1 == ord("X")) | (a1 == ord("*"))) & (a2 == ord(">"))
        is_ref |= pc.equal(alt.take(pa.array(i)), "<NON_REF>").to_numpy(zero_copy_only=False)
        kind[i[~is_ref]] = OTHER
        done |= sym

    lead_bnd = ~done & ((a0 == ord("[")) | (a0 == ord("]")))
    kind[lead_bnd] = BND
    done |= lead_bnd

    rest = np.flatnonzero(~done)
    if len(rest):
        _classify_rest(kind, rest, rd, ro, lr, ad, ao, la)
    return kind


def _classify_rest(kind, rest, rd, ro, lr, ad, ao, la) -> None:
    """Prefix/suffix comparison for the alleles the quick tests did not settle."""
    lr_r, la_r = lr[rest], la[rest]
    shortest = np.minimum(lr_r, la_r)
    p = np.zeros(len(rest), dtype=np.int64)
    active = np.flatnonzero(shortest > 0)
    k = 0
    while len(active):
        i = rest[active]
        eq = _upper(_at(rd, ro, lr, i, k)) == _upper(_at(ad, ao, la, i, k))
        p[active[eq]] += 1
        active = active[eq & (k + 1 < shortest[active])]
        k += 1

    ins = (p == lr_r) & (p < la_r)
    if ins.any():
        j = np.flatnonzero(ins)
        c = _at(ad, ao, la, rest[j], p[j])
        kind[rest[j]] = np.where((c == ord("[")) | (c == ord("]")), BND, INDEL | INS)
    dele = (p == la_r) & (p < lr_r)
    kind[rest[dele]] = INDEL | DEL
    # p == lr == la: identical alleles stay REF

    core = np.flatnonzero((p < lr_r) & (p < la_r))
    if not len(core):
        return
    i = rest[core]
    pc_ = p[core]
    cr = lr_r[core] - pc_
    ca = la_r[core] - pc_
    limit = np.minimum(cr, ca) - 1  # suffix trimming keeps one base of each
    s = np.zeros(len(core), dtype=np.int64)
    active = np.flatnonzero(limit > 0)
    k = 0
    while len(active):
        ii = i[active]
        eq = (_upper(_at(rd, ro, lr, ii, lr[ii] - 1 - k))
              == _upper(_at(ad, ao, la, ii, la[ii] - 1 - k)))
        s[active[eq]] += 1
        active = active[eq & (k + 1 < limit[active])]
        k += 1
    rr = cr - s
    ra = ca - s
    re_c = _upper(_at(rd, ro, lr, i, pc_ + rr - 1))
    ae_c = _upper(_at(ad, ao, la, i, pc_ + ra - 1))
    out = np.full(len(core), OTHER, dtype=np.int16)
    one_alt = ra == 1
    one_ref = rr == 1
    out[one_alt & one_ref] = SNP
    out[one_alt & ~one_ref & (re_c == ae_c)] = INDEL | DEL
    out[~one_alt & one_ref & (re_c == ae_c)] = INDEL | INS
    out[~one_alt & ~one_ref & (rr == ra)] = MNP
    kind[i] = out


def _merge_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


_CHROM_KEYS = ("records", "snps", "mnps", "indels", "others")


@dataclass
class VcfStats:
    """Summary counts of VCF records, built with :meth:`update` and combined with ``+``.

    Attributes
    ----------
    records, no_alts, snps, mnps, indels, others : int
        Records (with at least one allele of the class), as ``bcftools stats`` SN.
    multiallelic, multiallelic_snps : int
        Records with more than one ALT; those whose only class is SNP.
    insertions, deletions : int
        Insertion and deletion ALT alleles.
    ts, tv, ts_first_alt, tv_first_alt : int
        Transitions and transversions over SNP alleles (all ALTs; first ALT only).
    qual_count, qual_missing : int
        Records with a QUAL, and with QUAL ``.`` (or a non-finite value).
    qual_sum : float
    qual_hist : dict[int, int]
        Records per ``floor(QUAL)``.
    filters : dict[str, int]
        Records per FILTER value (a record with several counts once for each);
        ``"."`` for records without one.
    chrom : dict[str, dict[str, int]]
        Per chromosome: records, snps, mnps, indels, others.
    """

    records: int = 0
    no_alts: int = 0
    snps: int = 0
    mnps: int = 0
    indels: int = 0
    others: int = 0
    multiallelic: int = 0
    multiallelic_snps: int = 0
    insertions: int = 0
    deletions: int = 0
    ts: int = 0
    tv: int = 0
    ts_first_alt: int = 0
    tv_first_alt: int = 0
    qual_count: int = 0
    qual_missing: int = 0
    qual_sum: float = 0.0
    qual_hist: dict = field(default_factory=dict)
    filters: dict = field(default_factory=dict)
    chrom: dict = field(default_factory=dict)

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_batches(cls, batches) -> "VcfStats":
        """Statistics of an iterable of record batches (or tables)."""
        s = cls()
        for b in batches:
            s.update(b)
        return s

    @classmethod
    def from_file(cls, path, *, threads: int | None = None, regions=None) -> "VcfStats":
        """Statistics of a VCF file (read with only the columns needed)."""
        from . import get

        fmt = get("vcf")
        s = cls()
        for frag in fmt.make_fragments(path, regions=regions):
            s.update_many(fmt.read_batches(frag, columns=list(COLUMNS), threads=threads))
        return s

    def update_many(self, batches) -> "VcfStats":
        for b in batches:
            self.update(b)
        return self

    def update(self, batch) -> "VcfStats":
        """Add one record batch or table (columns :data:`COLUMNS`; extra columns are ignored)."""
        import pyarrow as pa

        if isinstance(batch, pa.Table):
            for b in batch.combine_chunks().to_batches():
                self.update(b)
            return self
        n = batch.num_rows
        if n == 0:
            return self
        self.records += n
        cols = batch.schema.names
        kinds = self._alleles(batch) if "alt" in cols and "ref" in cols else None
        if "qual" in cols:
            self._qual(batch.column("qual"))
        if "filter" in cols:
            self._filters(batch.column("filter"))
        if "chrom" in cols:
            self._chrom(batch.column("chrom"), kinds, n)
        return self

    def _alleles(self, batch):
        import pyarrow as pa
        import pyarrow.compute as pc

        alt = batch.column("alt")
        n = len(alt)
        lens = pc.fill_null(pc.list_value_length(alt), 0).to_numpy().astype(np.int64)
        flat = pc.list_flatten(alt)
        parent = pc.list_parent_indices(alt).to_numpy().astype(np.int64)
        # ALT '.' (no alternate allele) may arrive as [], null or [null]
        flat_null = flat.is_null().to_numpy(zero_copy_only=False)
        lone_null = np.zeros(n, dtype=bool)
        one = np.flatnonzero(lens == 1)
        if len(one):
            starts = np.cumsum(lens) - lens
            lone_null[one] = flat_null[starts[one]]
        keep = ~lone_null[parent]
        n_alt = lens - lone_null
        if not keep.all():
            idx = np.flatnonzero(keep)
            flat = flat.take(pa.array(idx))
            parent = parent[idx]
        first = np.ones(len(parent), dtype=bool)
        first[1:] = parent[1:] != parent[:-1]
        ref = pc.fill_null(batch.column("ref"), "").take(pa.array(parent))
        kind = classify_alleles(ref, flat)

        def records_with(flag):
            return np.bincount(parent[(kind & flag) != 0], minlength=n) > 0

        has = {f: records_with(f) for f in (SNP, MNP, INDEL, OTHER)}
        any_class = np.bincount(parent[kind != 0], minlength=n) > 0
        only_snp = has[SNP] & ~(np.bincount(parent[(kind & ~SNP) != 0], minlength=n) > 0)
        self.no_alts += int(n - any_class.sum())
        self.snps += int(has[SNP].sum())
        self.mnps += int(has[MNP].sum())
        self.indels += int(has[INDEL].sum())
        self.others += int(has[OTHER].sum())
        multi = n_alt > 1
        self.multiallelic += int(multi.sum())
        self.multiallelic_snps += int((multi & only_snp).sum())
        self.insertions += int(((kind & INS) != 0).sum())
        self.deletions += int(((kind & DEL) != 0).sum())
        # transitions / transversions from the first bases of SNP alleles
        snp = np.flatnonzero(kind == SNP)
        if len(snp):
            ro, rd = _buffers(ref)
            ao, ad = _buffers(pc.fill_null(flat, "."))
            rb = _upper(_at(rd, ro, np.diff(ro), snp, 0))
            ab = _upper(_at(ad, ao, np.diff(ao), snp, 0))
            code = np.full(256, -1, dtype=np.int8)
            code[[_A, _C, _G, _T]] = [0, 1, 2, 3]
            rc, ac = code[rb], code[ab]
            ok = (rc >= 0) & (ac >= 0) & (rc != ac)
            is_ts = ok & (np.abs(rc.astype(np.int16) - ac) == 2)
            is_tv = ok & ~is_ts
            f = first[snp]
            self.ts += int(is_ts.sum())
            self.tv += int(is_tv.sum())
            self.ts_first_alt += int((is_ts & f).sum())
            self.tv_first_alt += int((is_tv & f).sum())
        return has

    def _qual(self, qual) -> None:
        q = np.asarray(qual.to_numpy(zero_copy_only=False), dtype=np.float64)
        valid = np.isfinite(q)  # '.' (null) and non-finite values count as missing
        self.qual_missing += int(len(q) - valid.sum())
        q = q[valid]
        self.qual_count += len(q)
        self.qual_sum += float(q.sum())
        if len(q):
            bins, counts = np.unique(np.floor(q).astype(np.int64), return_counts=True)
            self.qual_hist = _merge_counts(self.qual_hist, dict(zip(bins.tolist(),
                                                                    counts.tolist())))

    def _filters(self, filt) -> None:
        import pyarrow.compute as pc

        flat = pc.list_flatten(filt)
        set_ = ~flat.is_null().to_numpy(zero_copy_only=False)
        parent = pc.list_parent_indices(filt).to_numpy()
        counts = {}
        if set_.any():
            vc = pc.value_counts(pc.drop_null(flat))
            counts = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))
        unset = int((np.bincount(parent[set_], minlength=len(filt)) == 0).sum())
        if unset:
            counts["."] = counts.get(".", 0) + unset
        self.filters = _merge_counts(self.filters, counts)

    def _chrom(self, chrom, has, n: int) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(chrom.type):
            chrom = pc.dictionary_encode(chrom)
        names = chrom.dictionary.to_pylist()
        idx = pc.fill_null(chrom.indices, -1).to_numpy().astype(np.int64)
        valid = idx >= 0
        k = len(names)
        rows = {"records": np.bincount(idx[valid], minlength=k)}
        if has is not None:
            for key, flag in (("snps", SNP), ("mnps", MNP), ("indels", INDEL),
                              ("others", OTHER)):
                rows[key] = np.bincount(idx[valid & has[flag]], minlength=k)
        for j, name in enumerate(names):
            if rows["records"][j] == 0:
                continue
            entry = self.chrom.setdefault(name, dict.fromkeys(_CHROM_KEYS, 0))
            for key, arr in rows.items():
                entry[key] += int(arr[j])

    # -- combining and reporting --------------------------------------------------------------
    def merge(self, other: "VcfStats") -> "VcfStats":
        """A new object holding the statistics of both (fragments in any order)."""
        out = VcfStats()
        for f in self.__dataclass_fields__:
            a, b = getattr(self, f), getattr(other, f)
            if f == "chrom":
                merged = {k: dict(v) for k, v in a.items()}
                for name, entry in b.items():
                    tgt = merged.setdefault(name, dict.fromkeys(_CHROM_KEYS, 0))
                    for key, v in entry.items():
                        tgt[key] = tgt.get(key, 0) + v
                setattr(out, f, merged)
            elif isinstance(a, dict):
                setattr(out, f, _merge_counts(a, b))
            else:
                setattr(out, f, a + b)
        return out

    __add__ = merge

    @property
    def ts_tv(self) -> float:
        """Transitions / transversions over all ALT alleles (``nan`` without transversions)."""
        return self.ts / self.tv if self.tv else math.nan

    @property
    def ts_tv_first_alt(self) -> float:
        return self.ts_first_alt / self.tv_first_alt if self.tv_first_alt else math.nan

    @property
    def qual_mean(self) -> float:
        return self.qual_sum / self.qual_count if self.qual_count else math.nan

    _SUMMARY = ("records", "no_alts", "snps", "mnps", "indels", "others", "multiallelic",
                "multiallelic_snps", "insertions", "deletions", "ts", "tv", "ts_first_alt",
                "tv_first_alt", "qual_count", "qual_missing")

    def summary(self) -> dict:
        """The scalar numbers (counts, ratios, QUAL mean)."""
        d = {k: getattr(self, k) for k in self._SUMMARY}
        d["ts_tv"] = _finite(self.ts_tv)
        d["ts_tv_first_alt"] = _finite(self.ts_tv_first_alt)
        d["qual_mean"] = _finite(self.qual_mean)
        return d

    def to_dict(self) -> dict:
        """Everything as plain JSON-serialisable values (``None`` for undefined ratios)."""
        return {
            "summary": self.summary(),
            "qual_hist": {str(k): v for k, v in sorted(self.qual_hist.items())},
            "filters": dict(sorted(self.filters.items(), key=lambda kv: (-kv[1], kv[0]))),
            "chrom": {k: dict(v) for k, v in self.chrom.items()},
        }

    def to_table(self, section: str = "summary"):
        """One section as a :class:`pyarrow.Table`.

        ``"summary"`` (metric, value), ``"chrom"`` (chrom, records, snps, ...),
        ``"qual"`` (qual_bin, records: ``floor(QUAL)``), or ``"filter"``
        (filter, records).
        """
        import pyarrow as pa

        if section == "summary":
            s = self.summary()
            return pa.table({"metric": list(s),
                             "value": pa.array([None if v is None else float(v)
                                                for v in s.values()], pa.float64())})
        if section == "chrom":
            names = list(self.chrom)
            cols = {"chrom": pa.array(names, pa.string())}
            for key in _CHROM_KEYS:
                cols[key] = pa.array([self.chrom[c].get(key, 0) for c in names], pa.int64())
            return pa.table(cols)
        if section == "qual":
            items = sorted(self.qual_hist.items())
            return pa.table({"qual_bin": pa.array([k for k, _ in items], pa.int64()),
                             "records": pa.array([v for _, v in items], pa.int64())})
        if section == "filter":
            items = sorted(self.filters.items(), key=lambda kv: (-kv[1], kv[0]))
            return pa.table({"filter": pa.array([k for k, _ in items], pa.string()),
                             "records": pa.array([v for _, v in items], pa.int64())})
        raise ValueError(f"unknown section {section!r}; use summary, chrom, qual or filter")

    def bcftools_sn(self) -> dict:
        """The numbers of ``bcftools stats`` SN lines, keyed as bcftools names them."""
        return {
            "number of records": self.records,
            "number of no-ALTs": self.no_alts,
            "number of SNPs": self.snps,
            "number of MNPs": self.mnps,
            "number of indels": self.indels,
            "number of others": self.others,
            "number of multiallelic sites": self.multiallelic,
            "number of multiallelic SNP sites": self.multiallelic_snps,
        }

    def bcftools_tstv(self) -> tuple:
        """``(ts, tv, ts (1st ALT), tv (1st ALT))`` as in the TSTV line."""
        return self.ts, self.tv, self.ts_first_alt, self.tv_first_alt


def _finite(x: float):
    return None if math.isnan(x) else x

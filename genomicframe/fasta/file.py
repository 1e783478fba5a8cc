"""``FastaFile``: indexed random access to plain and BGZF FASTA files."""
from __future__ import annotations

import mmap
import os
import time
import warnings
from array import array

from ..errors import (InvalidRegionError, MissingIndexError, MissingRecordWarning,
                      NotBgzfError, RecordNotFoundError)
from . import gfi as _gfi
from .._parsers.fastafetch import ENTRY_WORDS
from .fetch import FetchStats, retrieve
from .index import build_index, gzip_advice, index_paths
from .regions import parse_range, split_region

__all__ = ["FastaFile"]

_MISSING = ("raise", "skip", "warn")


class FastaFile:
    """Random access to the records of a FASTA file, plain or BGZF-compressed.

    The first use builds the index files beside the data when they are missing
    (``FILE.fai`` as samtools writes it, ``FILE.gzi`` as ``bgzip -r`` writes it,
    and ``FILE.gfi``, the memory-mapped name lookup; see
    :func:`~genomicframe.fasta.build_index`).  An index older than the data, or
    built for a file of another size, is refused with :class:`StaleIndexError`.

    Coordinates: ``start``/``end`` arguments are **0-based, half-open** (as
    in Python slices); region strings such as ``"name:1-100"`` are **1-based,
    closed**, as in samtools.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA file, uncompressed or BGZF.  Plain gzip cannot be read at random
        and is refused with advice to convert it with ``genomicframe bgzip``.
    threads : int, optional
        Inflate threads (default: one per core).
    build : bool
        Build a missing index (default).  ``False`` raises :class:`MissingIndexError`.
    loc : bool
        When building, also write ``FILE.loc``.

    Examples
    --------
    >>> import genomicframe as gf, shutil, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> path = shutil.copy(gf.examples.path("proteins.fa.gz"), d)
    >>> fa = gf.FastaFile(path)
    >>> name = fa.name(0)
    >>> fa.fetch(name, 0, 5) == fa.fetch(name)[:5]
    True
    """

    def __init__(self, path, threads: int | None = None, *, build: bool = True,
                 loc: bool = False) -> None:
        from ..bgzf.reader import detect_compression, resolve_threads

        self.path = os.fspath(path)
        self.threads = resolve_threads(threads)
        self._fd = None
        self._data = None
        self.last_fetch_stats: FetchStats | None = None
        with open(self.path, "rb") as fh:
            head = fh.read(64)
        comp = detect_compression(head) if head else "plain"
        if comp == "gzip":
            raise NotBgzfError(gzip_advice(self.path), path=self.path, offset=0)
        self.compression = comp
        gfi_path = index_paths(self.path)["gfi"]
        source = gfi_path
        # an index written by another version of genomicframe is rebuilt
        old_format = build and _gfi.outdated(gfi_path)
        if old_format:
            try:
                os.unlink(gfi_path)
            except OSError:
                pass  # cannot be replaced: the index is built in memory below
        if old_format or not os.path.exists(gfi_path):
            if not build:
                raise MissingIndexError(f"no index; build it with `genomicframe index "
                                        f"{self.path}`", path=gfi_path)
            try:
                build_index(self.path, threads=self.threads, loc=loc)
            except PermissionError:
                warnings.warn(f"{self.path}: cannot write index files beside it; the index is "
                              "kept in memory for this session", stacklevel=2)
                source = build_index(self.path, threads=self.threads, write=False).gfi
        self._header, self._view = _gfi.open_view(source, self.path)
        self._fd = os.open(self.path, os.O_RDONLY)

    # -- resources -----------------------------------------------------------------------
    def close(self) -> None:
        """Release the file descriptor and mappings (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._data = None

    def __enter__(self) -> "FastaFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (f"FastaFile({self.path!r}, records={len(self)}, compression="
                f"{self.compression!r}, threads={self.threads})")

    # -- index -----------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of named records (distinct names with a sequence line)."""
        return int(self._header.n_keys)

    def __contains__(self, name) -> bool:
        return self._find(name) >= 0

    @property
    def n_blocks(self) -> int:
        """BGZF blocks holding data (0 for an uncompressed file)."""
        return int(self._header.n_blocks)

    def name(self, i: int) -> str:
        """Name of the ``i``-th record in file order (the ``i``-th line of the ``.fai``).

        The name is read from the record's header line in the data (the index
        holds no names).
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"record {i} out of range ({len(self)} records)")
        slot = self._view.file_slot(i % len(self))
        ent = self._view.entries(array("q", [slot]))
        bufs, buf_of, pos, lens = self._headers(ent, [b""], -1)
        line = bytes(memoryview(bufs[buf_of[0]])[pos[0]:pos[0] + lens[0]])
        fields = line[1:].split(None, 1)
        return fields[0].decode("utf-8", "surrogateescape") if fields else ""

    def length(self, name) -> int:
        """Number of bases of record ``name``."""
        r = self._find(name)
        if r < 0:
            raise RecordNotFoundError(f"{name!r} is not in {self.path}", missing=[name])
        return self._view.record(r)[1]

    def _find(self, name) -> int:
        """Slot of record ``name``, confirmed against its header line, or -1."""
        key = _b(name)
        return self._confirm([key], [self._lookup([key])[0][0]])[0]

    def _lookup(self, names: list, confirmed: dict | None = None):
        """``(slots, entries, n_missing, n_special)`` of names (str or bytes); see
        ``GfiView.lookup``.  ``confirmed`` maps names (bytes) already checked
        against the data to their slot (-1: not in the file), which wins."""
        slots, entries, n_missing, n_special = self._view.lookup(names)
        if len(names) > 256:
            _gfi.release_pages(self._view)
        if confirmed:
            changed = False
            for i, q in enumerate(names):
                s = confirmed.get(_b(q))
                if s is not None and s != slots[i]:
                    n_missing += (s < 0) - (slots[i] < 0)
                    slots[i] = s
                    changed = True
            if changed:
                entries = self._entries(slots)
        return slots, entries, n_missing, n_special

    def _entries(self, slots):
        """Slot copies of ``slots`` (zeros for -1), as ``GfiView.lookup`` gives them."""
        found = array("q", (s for s in slots if s >= 0))
        got = memoryview(self._view.entries(found)).cast("q")
        out = array("q", bytes(8 * ENTRY_WORDS * len(slots)))
        k = 0
        for i, s in enumerate(slots):
            if s >= 0:
                out[ENTRY_WORDS * i:ENTRY_WORDS * (i + 1)] = array(
                    "q", got[ENTRY_WORDS * k:ENTRY_WORDS * (k + 1)])
                k += 1
        return out.tobytes()

    def _headers(self, entries, names, slack):
        """Read the header lines of ``entries`` (see ``GfiView.header_ranges``)
        -> ``(bufs, buf_of, starts, lens)``."""
        m = len(names)
        ubeg = array("q", bytes(8 * m))
        uend = array("q", bytes(8 * m))
        want = array("q", bytes(8 * m))
        self._view.header_ranges(entries, names, ubeg, uend, want, slack)
        return self._retrieve(ubeg, uend, want, 0, record=False)

    def _confirm(self, names: list, slots) -> list:
        """Slots of ``names`` checked against the header lines of their records: a
        candidate slot whose record has another name gives way to the next slot of
        the same hash (a hash collision), or to -1 when there is none."""
        out = list(slots)
        todo = [i for i, s in enumerate(out) if s >= 0]
        while todo:
            nm = [names[i] for i in todo]
            ent = self._view.entries(array("q", (out[i] for i in todo)))
            bufs, buf_of, pos, lens = self._headers(ent, nm, -1)  # whole header lines
            bad = self._view.verify(nm, bufs, buf_of, pos, lens)
            nxt = []
            for j in bad:
                i = todo[j]
                out[i] = self._view.next_slot(out[i])
                if out[i] >= 0:
                    nxt.append(i)
            todo = nxt
        return out

    # -- requests --------------------------------------------------------------------------
    def _resolve(self, requests, missing: str, confirmed: dict | None = None):
        """Requests -> ``(entries, starts, ends, headers, names)``, dropping (or
        refusing) misses.

        ``entries`` holds one slot copy per kept request (see ``GfiView.lookup``),
        ``starts``/``ends`` 0-based half-open bounds (-1: to the end), ``headers``
        the FASTA header of each (the request string, or NAME[:BEG-END]) and
        ``names`` the record name looked up for each (str or bytes), which the
        caller checks against the data.  ``confirmed``: see :meth:`_lookup`.
        """
        if missing not in _MISSING:
            raise ValueError(f"missing must be one of {_MISSING}, got {missing!r}")
        if isinstance(requests, (str, bytes, tuple)):
            requests = [requests]
        reqs = list(requests)
        m = len(reqs)
        fast = self._resolve_names(reqs, confirmed)
        if fast is not None:
            return fast
        keys: list = [None] * m
        spans: list = [None] * m  # (start, end) 0-based or None = whole
        is_str = [False] * m
        for i, q in enumerate(reqs):
            if isinstance(q, (tuple, list)):
                if len(q) != 3:
                    raise InvalidRegionError(f"request {q!r}: expected (name, start, end)")
                name, s, e = q
                s = 0 if s is None else int(s)
                e = -1 if e is None else int(e)
                if s < 0 or (e != -1 and e < s):
                    raise InvalidRegionError(f"request {q!r}: need 0 <= start <= end "
                                             "(0-based, half-open)")
                keys[i] = _b(name)
                spans[i] = (s, e) if (q[1] is not None or q[2] is not None) else None
            else:
                keys[i] = _b(q)
                is_str[i] = True
        recs = self._lookup(keys, confirmed)[0]
        looked = list(keys)
        # names with ':' found whole: ambiguous when the prefix is a name too (htslib rule)
        second = [i for i in range(m) if is_str[i] and (recs[i] < 0 or b":" in keys[i])]
        if second:
            alt_keys, alt_idx, alt_span = [], [], []
            for i in second:
                text = keys[i].decode("utf-8", "surrogateescape")
                readings = split_region(text)
                if text.startswith("{"):
                    name, rng = readings[0]
                else:
                    if len(readings) < 2:
                        continue
                    name, rng = readings[1]
                try:
                    span = parse_range(rng, text) if rng is not None else (0, -1)
                except InvalidRegionError:
                    if recs[i] >= 0:  # a real name that merely looks like a bad range
                        continue
                    raise
                if span is None:
                    continue
                alt_keys.append(name.encode("utf-8", "surrogateescape"))
                alt_idx.append(i)
                alt_span.append(span if rng is not None else None)
            alt = self._lookup(alt_keys, confirmed)[0] if alt_keys else []
            for i, r, span in zip(alt_idx, alt, alt_span):
                if r < 0:
                    continue
                if recs[i] >= 0 and not keys[i].startswith(b"{"):
                    raise InvalidRegionError(
                        f"{keys[i].decode()!r} is ambiguous: it is a record name and also "
                        "NAME:RANGE of another record; write {NAME} for the whole record "
                        "or {NAME}:BEG-END for a range")
                recs[i] = r
                spans[i] = span
                looked[i] = alt_keys[alt_idx.index(i)]
        miss = [i for i in range(m) if recs[i] < 0]
        if miss:
            labels = [_label(reqs[i]) for i in miss]
            shown = ", ".join(repr(x) for x in labels[:10])
            more = f" and {len(labels) - 10} more" if len(labels) > 10 else ""
            if missing == "raise":
                raise RecordNotFoundError(f"{len(miss)} name(s) not in {self.path}: "
                                          f"{shown}{more}", missing=labels)
            if missing == "warn":
                warnings.warn(MissingRecordWarning(
                    f"{len(miss)} name(s) not in {self.path} were skipped: {shown}{more}"),
                    stacklevel=3)
            keepset = set(miss)
            keep = [i for i in range(m) if i not in keepset]
        else:
            keep = range(m)
        n = len(keep)
        out_recs = array("q", bytes(8 * n))
        starts = array("q", bytes(8 * n))
        ends = array("q", [-1]) * n
        headers = []
        names = [looked[i] for i in keep]
        for j, i in enumerate(keep):
            out_recs[j] = recs[i]
            sp = spans[i]
            if sp is not None:
                starts[j], ends[j] = sp
            if is_str[i] or sp is None:
                headers.append(keys[i])
            else:
                headers.append(keys[i] + b":%d-%d" % (sp[0] + 1, sp[1]) if sp[1] >= 0
                               else keys[i] + b":%d" % (sp[0] + 1))
        return self._view.entries(out_recs), starts, ends, headers, names

    def _resolve_names(self, reqs, confirmed):
        """Fast path of :meth:`_resolve`: plain names, all present, none with ':'."""
        try:
            recs, entries, n_missing, n_special = self._lookup(reqs, confirmed)
        except TypeError:  # not all str or bytes
            return None
        if n_missing or n_special:
            return None
        m = len(reqs)
        return entries, array("q", bytes(8 * m)), array("q", [-1]) * m, reqs, reqs

    def _fetch(self, requests, missing: str):
        """Resolve and retrieve requests, every record's name checked against its
        header line -> ``(entries, starts, ends, headers, names, bufs, buf_of, pos,
        lens)`` (see :meth:`_resolve` and :func:`~genomicframe.fasta.fetch.retrieve`).

        The header lines are read with the bases, from the same blocks.  A
        candidate record of another name (a hash collision) is replaced by the
        right one, or dropped as missing, and the batch is resolved again.
        """
        confirmed: dict = {}
        while True:
            t0 = time.perf_counter()
            entries, starts, ends, headers, names = self._resolve(requests, missing, confirmed)
            t1 = time.perf_counter()
            bufs, buf_of, pos, lens, bad = self._run(entries, starts, ends, names)
            bad = [i for i in bad if _b(names[i]) not in confirmed]
            if not bad:
                break
            slots = memoryview(entries).cast("q")[0::ENTRY_WORDS]
            got = self._confirm([_b(names[i]) for i in bad], [slots[i] for i in bad])
            for i, s in zip(bad, got):
                confirmed[_b(names[i])] = s
        self.last_fetch_stats.lookup_seconds = t1 - t0
        return entries, starts, ends, headers, names, bufs, buf_of, pos, lens

    def _run(self, entries, starts, ends, names):
        """Retrieve the bases of the requests and their records' header lines
        -> ``(bufs, buf_of, pos, lens, bad)``: ``bad`` lists the requests whose
        header line names another record."""
        m = len(starts)
        ubeg = array("q", bytes(16 * m))
        uend = array("q", bytes(16 * m))
        ub, ue = memoryview(ubeg), memoryview(uend)
        self._view.ranges(entries, starts, ends, ub[:m], ue[:m])
        want = array("q", (e - b for b, e in zip(starts, ends)))
        want.extend(bytes(8 * m))
        self._view.header_ranges(entries, names, ub[m:], ue[m:], memoryview(want)[m:])
        bufs, buf_of, pos, lens = self._retrieve(ubeg, uend, want, m)
        self.last_fetch_stats.requests = m
        bad = self._view.verify(names, bufs, buf_of, pos, lens, m)
        return bufs, buf_of[:m], pos[:m], lens[:m], bad

    def _retrieve(self, ubeg, uend, want, raw_from: int, record: bool = True):
        """Retrieve byte ranges (those from ``raw_from`` on as they are, the others'
        bases); ``record`` keeps the statistics in :attr:`last_fetch_stats`."""
        if self._fd is None:
            raise ValueError("I/O operation on a closed FastaFile")
        st = FetchStats()
        t0 = time.perf_counter()
        bgzf = self._header.flags & _gfi.FLAG_BGZF
        data = None
        if not bgzf:
            data = self._plain_data()
        res = retrieve(self._fd, self.path, self._view, bool(bgzf), ubeg, uend, want,
                       threads=self.threads, raw_from=raw_from, data=data, stats=st)
        st.seconds = time.perf_counter() - t0
        if record:
            self.last_fetch_stats = st
        return res

    def _plain_data(self):
        if self._data is None:
            if os.fstat(self._fd).st_size == 0:
                self._data = b""
            else:
                self._data = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
        return self._data

    # -- public retrieval ----------------------------------------------------------------
    def fetch(self, name, start: int | None = None, end: int | None = None) -> str:
        """Sequence of one record or part of it.

        Parameters
        ----------
        name : str
            A record name, or (when ``start`` and ``end`` are not given) a
            samtools region string ``"NAME:BEG-END"`` with **1-based, closed**
            positions.
        start, end : int, optional
            **0-based, half-open** bounds (clamped to the record).

        Raises
        ------
        RecordNotFoundError
            The name is not in the file (a ``KeyError``).
        """
        req = name if start is None and end is None else (name, start, end)
        _, _, _, _, _, bufs, buf_of, pos, lens = self._fetch([req], "raise")
        b = bufs[buf_of[0]]
        return bytes(b[pos[0]:pos[0] + lens[0]]).decode("ascii")

    def fetch_many(self, requests, missing: str = "raise", *, out=None,
                   line_width: int | None = 60):
        """Fetch many records or regions at once, inflating every needed block once.

        Parameters
        ----------
        requests : iterable
            Each a record name, a region string ``"NAME:BEG-END"`` (**1-based,
            closed**, as samtools), or a tuple ``(name, start, end)`` with
            **0-based, half-open** bounds (``None`` for an open side).
            Duplicates are allowed and returned each time.
        missing : {"raise", "skip", "warn"}
            What to do with names not in the file: raise
            :class:`RecordNotFoundError` listing them, drop them silently, or
            drop them with a :class:`MissingRecordWarning`.
        out : binary file object, optional
            Write FASTA there instead of returning a table: ``>NAME`` for a
            whole record, ``>REQUEST`` as given for a region, the sequence
            wrapped at ``line_width`` (0: unwrapped) -- the bytes ``samtools
            faidx -r`` prints.
        line_width : int or None
            Bases per output line when writing FASTA: 60 by default (samtools
            up to 1.16), 0 for one line per sequence, ``None`` for each
            record's own line width in the input (samtools 1.17 and later).

        Returns
        -------
        pyarrow.Table or FetchStats
            A table with columns ``name``, ``start``, ``end`` (0-based, half-open,
            clamped to the record) and ``sequence``, in request order; or, with
            ``out``, the :class:`FetchStats` of the retrieval.
        """
        recs, starts, ends, headers, names, bufs, buf_of, pos, lens = \
            self._fetch(requests, missing)
        st = self.last_fetch_stats
        if out is not None:
            if line_width is None:
                widths = self._view.line_bases(recs)
            else:
                widths = array("q", [max(0, int(line_width))]) * len(starts)
            _write_fasta(out, headers, bufs, buf_of, pos, lens, widths)
            return st
        return _to_table(names, starts, bufs, buf_of, pos, lens)

    def fetch_raw(self, offsets, sizes, *, out=None):
        """Raw uncompressed bytes ``[offset, offset + size)`` for each pair, as ``bgzip -b -s``.

        This is the ``.loc``-driven mode: ``offset`` is the uncompressed offset of
        a record's ``>`` and ``size`` its length with header and newlines.
        Returns a list of ``bytes`` (or writes them, in order, to ``out``).
        """
        offsets = array("q", offsets)
        sizes = array("q", sizes)
        if len(offsets) != len(sizes):
            raise ValueError("offsets and sizes differ in length")
        total = self._header.data_size
        for o, s in zip(offsets, sizes):
            if o < 0 or s < 0 or o + s > total:
                raise InvalidRegionError(
                    f"byte range {o}+{s} is outside the {total:,} uncompressed bytes of "
                    f"{self.path}")
        uend = array("q", (o + s for o, s in zip(offsets, sizes)))
        bufs, buf_of, pos, lens = self._retrieve(offsets, uend, sizes, 0)
        if out is not None:
            from .._parsers.fastafetch import gather

            data, _ = gather(bufs, buf_of, pos, lens)
            out.write(data)
            return self.last_fetch_stats
        return [bytes(memoryview(bufs[buf_of[i]])[pos[i]:pos[i] + lens[i]])
                for i in range(len(offsets))]

    def record_spans(self, names, missing: str = "raise"):
        """``(names, offsets, sizes)`` of whole records (the ``.loc`` columns) for names."""
        keys = [_b(n) for n in names]
        confirmed: dict = {}
        while True:
            entries, _, _, headers, looked = self._resolve(keys, missing, confirmed)
            slots = list(memoryview(entries).cast("q")[0::ENTRY_WORDS])
            got = self._confirm(looked, slots)
            if got == slots:
                break
            confirmed.update({looked[i]: s for i, s in enumerate(got) if s != slots[i]})
        ubeg = array("q", bytes(8 * len(slots)))
        uend = array("q", bytes(8 * len(slots)))
        self._view.record_spans(entries, ubeg, uend)
        return ([h.decode("utf-8", "surrogateescape") for h in headers], ubeg,
                array("q", (e - b for b, e in zip(ubeg, uend))))


def _b(x) -> bytes:
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    raise TypeError(f"a record name must be str or bytes, not {type(x).__name__}")


def _label(q):
    if isinstance(q, bytes):
        return q.decode("utf-8", "surrogateescape")
    if isinstance(q, (tuple, list)):
        return q[0] if isinstance(q[0], str) else _b(q[0]).decode("utf-8", "surrogateescape")
    return q


def _write_fasta(out, headers, bufs, buf_of, pos, lens, widths) -> None:
    """Write FASTA records in request order, about 8 MB per write."""
    from .._parsers.fastafetch import gather, write_fasta

    m = len(headers)
    step = 4096
    for a in range(0, m, step):
        b = min(m, a + step)
        data, offs = gather(bufs, buf_of[a:b], pos[a:b], lens[a:b])
        out.write(write_fasta(headers[a:b], data, offs[:-1], lens[a:b], widths[a:b]))


def _to_table(names, starts, bufs, buf_of, pos, lens):
    import pyarrow as pa

    from .._parsers.fastafetch import gather

    m = len(starts)
    data, offsets = gather(bufs, buf_of, pos, lens)
    names = [n if isinstance(n, str) else n.decode("utf-8", "surrogateescape") for n in names]
    try:
        name_col = pa.array(names, pa.string())
    except UnicodeEncodeError:  # names that are not UTF-8: U+FFFD for the bad bytes
        name_col = pa.array([n.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                             for n in names], pa.string())
    if offsets[-1] < 2**31:
        seq = pa.Array.from_buffers(pa.string(), m, [None, pa.py_buffer(array("i", offsets)),
                                                     pa.py_buffer(data)])
    else:
        seq = pa.Array.from_buffers(pa.large_string(), m, [None, pa.py_buffer(offsets),
                                                           pa.py_buffer(data)])
    ends_c = array("q", (s + n for s, n in zip(starts, lens)))
    return pa.table({
        "name": name_col,
        "start": pa.Array.from_buffers(pa.int64(), m, [None, pa.py_buffer(starts)]),
        "end": pa.Array.from_buffers(pa.int64(), m, [None, pa.py_buffer(ends_c)]),
        "sequence": seq,
    })

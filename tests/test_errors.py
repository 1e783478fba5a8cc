"""genomicframe.errors: the exception contract every module relies on.

Every exception class derives from GenomicFrameError *and* from a builtin exception, so
callers can catch either; instances keep ``path``/``offset``/``line`` through pickling
(worker processes send them back); messages name the file and the place.
"""
from __future__ import annotations

import builtins
import copy
import doctest
import inspect
import pickle

import pytest

import genomicframe as gf
from genomicframe import errors
from genomicframe.errors import GenomicFrameError, GenomicFrameWarning

BUILTIN_EXCEPTIONS = {obj for obj in vars(builtins).values()
                      if isinstance(obj, type) and issubclass(obj, BaseException)}
GENERIC = {BaseException, Exception}


def exported(kind):
    return [getattr(errors, n) for n in errors.__all__
            if inspect.isclass(getattr(errors, n)) and issubclass(getattr(errors, n), kind)]


EXCEPTIONS = exported(GenomicFrameError)
WARNINGS = exported(Warning)


def builtin_bases(cls):
    return [b for b in cls.__mro__ if b in BUILTIN_EXCEPTIONS and b not in GENERIC]


def make(cls, **kw):
    if cls is errors.RecordNotFoundError:
        kw.setdefault("missing", ["chrX", "seq9"])
    return cls("something is wrong; do this about it", **kw)


def test_everything_exported_is_classified():
    names = set(errors.__all__)
    assert {c.__name__ for c in EXCEPTIONS} | {c.__name__ for c in WARNINGS} == names
    assert GenomicFrameError in EXCEPTIONS and GenomicFrameWarning in WARNINGS
    assert gf.GenomicFrameError is GenomicFrameError


@pytest.mark.parametrize("cls", [c for c in EXCEPTIONS if c is not GenomicFrameError],
                         ids=lambda c: c.__name__)
def test_inherits_base_and_a_builtin(cls):
    assert issubclass(cls, GenomicFrameError)
    assert builtin_bases(cls), f"{cls.__name__} has no builtin exception base"
    exc = make(cls, path="x")
    for b in builtin_bases(cls):
        with pytest.raises(b):
            raise exc
    with pytest.raises(GenomicFrameError):
        raise exc


@pytest.mark.parametrize("name,builtin", [
    ("FormatError", ValueError),
    ("CorruptBlockError", ValueError),
    ("TruncatedFileError", EOFError),
    ("NotBgzfError", ValueError),
    ("UnsupportedCompressionError", ValueError),
    ("StaleIndexError", ValueError),
    ("MissingIndexError", FileNotFoundError),
    ("RecordNotFoundError", KeyError),
])
def test_builtin_of_each_class(name, builtin):
    assert issubclass(getattr(errors, name), builtin)


def test_bgzf_hierarchy():
    for name in ("CorruptBlockError", "NotBgzfError", "UnsupportedCompressionError"):
        assert issubclass(getattr(errors, name), errors.FormatError)
    for name in ("StaleIndexError", "MissingIndexError"):
        assert issubclass(getattr(errors, name), errors.IndexFileError)


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: c.__name__)
def test_message_names_path_line_and_offset(cls):
    exc = make(cls, path="data/calls.vcf.gz", offset=65536, line=12)
    text = str(exc)
    assert "data/calls.vcf.gz" in text
    assert "byte offset 65536" in text
    assert "line 12" in text
    assert text.endswith("something is wrong; do this about it")
    assert exc.path == "data/calls.vcf.gz" and exc.offset == 65536 and exc.line == 12
    assert exc.message == "something is wrong; do this about it"
    bare = make(cls)
    assert str(bare) == "something is wrong; do this about it"
    assert bare.path is None and bare.offset is None and bare.line is None


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: c.__name__)
def test_offset_zero_is_shown(cls):
    assert "byte offset 0" in str(make(cls, path="f.gz", offset=0))


def test_path_like_is_stored_as_str(tmp_path):
    exc = errors.CorruptBlockError("bad", path=tmp_path / "x.gz", offset=3)
    assert exc.path == str(tmp_path / "x.gz")
    assert str(tmp_path / "x.gz") in str(exc)


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_keeps_attributes(cls, protocol):
    exc = make(cls, path="ref.fa.gz", offset=123_456, line=7)
    back = pickle.loads(pickle.dumps(exc, protocol=protocol))
    assert type(back) is cls
    assert (back.message, back.path, back.offset, back.line) == \
        (exc.message, exc.path, exc.offset, exc.line)
    assert str(back) == str(exc)
    if cls is errors.RecordNotFoundError:
        assert back.missing == ["chrX", "seq9"]
    for b in builtin_bases(cls):
        assert isinstance(back, b)
    assert str(copy.copy(exc)) == str(exc)


def test_key_error_message_is_not_quoted():
    exc = errors.RecordNotFoundError("2 names not in the index", missing=["a", "b"],
                                     path="p.fa")
    assert str(exc) == "p.fa: 2 names not in the index"
    assert exc.missing == ["a", "b"]


def test_missing_index_error_is_an_os_error():
    exc = errors.MissingIndexError("no .gzi index", path="x.gz.gzi")
    assert isinstance(exc, OSError) and str(exc) == "x.gz.gzi: no .gzi index"


@pytest.mark.parametrize("cls", WARNINGS, ids=lambda c: c.__name__)
def test_warnings(cls):
    assert issubclass(cls, GenomicFrameWarning) and issubclass(cls, UserWarning)
    with pytest.warns(cls):
        import warnings

        warnings.warn(cls("careful"), stacklevel=1)


def test_errors_raised_by_bgzf_carry_path_and_offset(tmp_path):
    """One real error from each BGZF failure path keeps its attributes across pickling."""
    raw = bytearray(gf.bgzf.compress(b"x" * 100_000))
    p = tmp_path / "bad.gz"
    p.write_bytes(bytes(raw[:-40]))
    with pytest.raises(errors.TruncatedFileError) as info:
        gf.bgzf.decompress(bytes(raw[:-40]))
    with pytest.raises(errors.TruncatedFileError) as info:
        gf.bgzf.scan_file(p)
    back = pickle.loads(pickle.dumps(info.value))
    assert back.path == str(p) and back.offset == info.value.offset > 0


def test_module_doctest():
    result = doctest.testmod(errors, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

"""Filters: a string grammar; splitting a filter into index regions, parser pushdown, residual.

Filters are :class:`pyarrow.compute.Expression` objects (``field("qual") >= 30``).
:func:`parse` turns the string form into the same thing::

    >>> from genomicframe.expressions import parse
    >>> print(parse("qual >= 30 and chrom in ('chr1', 'chr2')"))
    ((qual >= 30) and is_in(chrom, {value_set=string:[
      "chr1",
      "chr2"
    ], null_matching_behavior=MATCH}))

:func:`plan` reads an Expression and derives what a format can use before the
full filter is applied: the ``chrom``/position conditions become index regions
``(chrom, start, end)`` (0-based, half-open) and cheap column tests become a
:class:`~genomicframe.formats.base.Pushdown`.  Both are *implied* by the filter
(every row that passes the filter passes them), so they only ever remove rows
the filter would remove; the dataset layer still applies the whole filter to
every batch (STYLE principle 6).

pyarrow has no public API to walk an Expression.  Its text form is ambiguous
(strings inside ``is_in`` value sets are not escaped, binary literals print as
hex text, float32 literals print like doubles), so :func:`plan` reads the
Expression's own serialisation instead (the one pickle uses: an Arrow IPC file
whose schema metadata lists the tree in prefix order and whose columns hold the
typed literals; :mod:`genomicframe._exprtree`), and the derivation lives in
:mod:`genomicframe._pushdown`.  Anything it does not understand — an unknown function, a
field path by index, a cast — contributes nothing to pushdown and stays
residual.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ._exprtree import referenced_columns, referenced_paths
from ._pushdown import Plan, plan
from .errors import GenomicFrameError

__all__ = ["FilterSyntaxError", "field", "scalar", "region", "parse", "to_expression", "plan",
           "Plan", "referenced_columns", "referenced_paths"]


class FilterSyntaxError(GenomicFrameError, ValueError):
    """A filter string could not be parsed, or names a column the data does not have."""


def field(*name_or_path):
    """``pyarrow.compute.field``: a column (``field("info", "AF")`` for a struct child)."""
    import pyarrow.compute as pc

    return pc.field(*name_or_path)


def scalar(value):
    """``pyarrow.compute.scalar``: a literal in an expression."""
    import pyarrow.compute as pc

    return pc.scalar(value)


_REGION = re.compile(r"^(?P<chrom>.+?)(?::(?P<beg>[\d,]+)(?:-(?P<end>[\d,]*))?)?$")


def region(chrom: str, start: int | None = None, end: int | None = None):
    """An Expression for the records overlapping a genomic region.

    ``region("chr1", 999, 2000)`` takes 0-based half-open coordinates;
    ``region("chr1:1,000-2,000")`` takes the samtools form (1-based, both ends
    included), so both mean the same bases.  ``"chr1:1000"`` runs to the end of
    the chromosome and ``"chr1"`` is all of it.  A record overlaps when
    ``start < end_of_region`` and ``end > start_of_region``, as tabix decides.

    >>> print(region("chr1:1,000-2,000"))
    (((chrom == "chr1") and (start < 2000)) and (end > 999))
    """
    import pyarrow.compute as pc

    if start is None and end is None and ":" in chrom:
        m = _REGION.match(chrom)
        if m is None or (m.group("beg") is not None and not m.group("beg").replace(",", "")):
            raise FilterSyntaxError(f"region {chrom!r}: write chrom, chrom:begin or "
                                    "chrom:begin-end (1-based, both included)")
        if m.group("beg") is not None:
            beg = int(m.group("beg").replace(",", ""))
            stop = (m.group("end") or "").replace(",", "")
            if beg < 1:
                raise FilterSyntaxError(f"region {chrom!r}: positions start at 1")
            start, end = beg - 1, (int(stop) if stop else None)
            if end is not None and end < beg:
                raise FilterSyntaxError(f"region {chrom!r}: the end is before the beginning")
            chrom = m.group("chrom")
    if start is not None and start < 0:
        raise FilterSyntaxError(f"region start {start} is negative (0-based coordinates)")
    e = pc.field("chrom") == chrom
    if end is not None:
        e = e & (pc.field("start") < end)
    if start is not None:
        e = e & (pc.field("end") > start)
    return e


# ---------------------------------------------------------------------------------------------
# the string grammar
# ---------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<qname>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|<|>|=|\(|\)|,|\.|-)
""", re.VERBOSE)

_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


@dataclass
class _Tok:
    kind: str      # num, str, name, kw, op, end
    text: str
    pos: int       # 0-based character offset
    value: object = None


def _unescape(body: str, pos: int, text: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise _syntax(text, pos + i + 1, f"unknown escape '\\{nxt}' in string")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _syntax(text: str, pos: int, message: str) -> FilterSyntaxError:
    caret = " " * pos + "^"
    return FilterSyntaxError(
        f"filter syntax error at column {pos + 1}: {message}\n  {text}\n  {caret}")


def _tokenize(text: str) -> list[_Tok]:
    toks, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise _syntax(text, i, f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        s = m.group()
        if kind == "num":
            toks.append(_Tok("num", s, i, float(s) if any(c in s for c in ".eE") else int(s)))
        elif kind == "str":
            toks.append(_Tok("str", s, i, _unescape(s[1:-1], i + 1, text)))
        elif kind == "qname":
            toks.append(_Tok("name", s, i, s[1:-1]))
        elif kind == "name":
            low = s.lower()
            if low in _KEYWORDS:
                toks.append(_Tok("kw", low, i))
            else:
                toks.append(_Tok("name", s, i, s))
        elif kind == "op":
            toks.append(_Tok("op", {"=": "==", "<>": "!="}.get(s, s), i))
        i = m.end()
    toks.append(_Tok("end", "end of filter", len(text)))
    return toks


_CMP = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__",
        ">=": "__ge__"}


class _Parser:
    """Recursive descent over the token list; builds pyarrow Expressions directly."""

    def __init__(self, text: str, schema):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.schema = schema

    # token helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def expect(self, kind: str, text: str, what: str) -> _Tok:
        if not self.at(kind, text):
            raise self.error(f"expected {what} but found {self.describe(self.tok)}")
        return self.take()

    def error(self, message: str, tok: _Tok | None = None) -> FilterSyntaxError:
        return _syntax(self.text, (tok or self.tok).pos, message)

    @staticmethod
    def describe(t: _Tok) -> str:
        return t.text if t.kind == "end" else repr(t.text)

    # grammar
    def parse(self):
        if self.at("end"):
            raise self.error("empty filter")
        e = self.or_()
        if not self.at("end"):
            raise self.error(f"expected 'and', 'or' or the end but found {self.describe(self.tok)}")
        return e

    def or_(self):
        e = self.and_()
        while self.at("kw", "or"):
            self.take()
            e = e | self.and_()
        return e

    def and_(self):
        e = self.not_()
        while self.at("kw", "and"):
            self.take()
            e = e & self.not_()
        return e

    def not_(self):
        if self.at("kw", "not"):
            self.take()
            return ~self.not_()
        return self.predicate()

    def predicate(self):
        start = self.tok
        left, is_field = self.operand()
        t = self.tok
        if t.kind == "op" and t.text in _CMP:
            self.take()
            right, right_field = self.operand()
            if not (is_field or right_field):
                raise self.error("a comparison needs a column on one side", start)
            if not is_field:
                import pyarrow.compute as pc

                left = pc.scalar(left)
            return getattr(left, _CMP[t.text])(right)
        if t.kind == "kw" and t.text in ("in", "not"):
            negate = t.text == "not"
            self.take()
            if negate:
                self.expect("kw", "in", "'in' after 'not'")
            if not is_field:
                raise self.error("'in' needs a column on its left", start)
            values = self.value_list()
            e = left.isin(values)
            return ~e if negate else e
        if t.kind == "kw" and t.text == "is":
            self.take()
            negate = False
            if self.at("kw", "not"):
                self.take()
                negate = True
            self.expect("kw", "null", "'null'")
            if not is_field:
                raise self.error("'is null' needs a column on its left", start)
            return left.is_valid() if negate else left.is_null()
        if is_field:
            return left
        if isinstance(left, bool):
            import pyarrow.compute as pc

            return pc.scalar(left)
        raise self.error("expected a comparison, 'in' or 'is null' after a value", start)

    def value_list(self) -> list:
        opening = self.expect("op", "(", "'(' to start the list of values")
        values = [self.literal()]
        while self.at("op", ","):
            self.take()
            values.append(self.literal())
        self.expect("op", ")", "',' or ')' in the list of values")
        kinds = {type(v) for v in values} - {bool}
        if str in kinds and len(kinds) > 1:
            raise self.error("a list of values must not mix strings and numbers", opening)
        return values

    def literal(self):
        t = self.tok
        if t.kind in ("num", "str"):
            self.take()
            return t.value
        if t.kind == "op" and t.text == "-":
            self.take()
            if not self.at("num"):
                raise self.error(f"expected a number after '-' but found {self.describe(self.tok)}")
            return -self.take().value
        if t.kind == "kw" and t.text in ("true", "false"):
            self.take()
            return t.text == "true"
        raise self.error(f"expected a value but found {self.describe(t)}")

    def operand(self):
        """Returns (value, is_field): a pc.Expression for fields, a Python value for literals."""

        t = self.tok
        if t.kind == "name":
            return self.column(), True
        if t.kind == "op" and t.text == "(":
            self.take()
            e = self.or_()
            self.expect("op", ")", "')'")
            return e, True
        if t.kind == "kw" and t.text == "null":
            raise self.error("compare with null using 'is null' or 'is not null'")
        return self.literal(), False

    def column(self):
        import pyarrow.compute as pc

        first = self.take()
        path = [first.value]
        while self.at("op", "."):
            self.take()
            if not self.at("name"):
                raise self.error("expected a field name after '.' but found "
                                 f"{self.describe(self.tok)}")
            path.append(self.take().value)
        if self.schema is not None:
            self.check_path(path, first)
        return pc.field(*path)

    def check_path(self, path, tok) -> None:
        import pyarrow as pa

        names = self.schema.names
        if path[0] not in names:
            raise self.error(f"unknown column {path[0]!r}; columns are: {', '.join(names)}", tok)
        typ = self.schema.field(path[0]).type
        for depth, name in enumerate(path[1:], start=1):
            if not pa.types.is_struct(typ):
                raise self.error(f"{'.'.join(path[:depth])!r} is not a struct, so it has no field "
                                 f"{name!r}", tok)
            children = [typ.field(k).name for k in range(typ.num_fields)]
            if name not in children:
                raise self.error(f"{'.'.join(path[:depth])!r} has no field {name!r}; its fields "
                                 f"are: {', '.join(children)}", tok)
            typ = typ.field(name).type


def parse(text: str, schema=None):
    """Parse a filter string into a :class:`pyarrow.compute.Expression`.

    Grammar: comparisons ``== != < <= > >=`` (also ``=`` and ``<>``) between a
    column and a value; ``and``, ``or``, ``not`` and parentheses; ``col in (v1,
    v2)`` and ``col not in (...)``; ``col is null`` / ``col is not null``;
    numbers, 'single' or "double" quoted strings (backslash escapes), ``true``
    and ``false``; dotted struct fields (``info.AF``); `back-quoted` names for
    columns that are not identifiers.  A bare boolean column (``info.DB``) is a
    predicate too.  Keywords are case-insensitive.

    Parameters
    ----------
    text : str
    schema : pyarrow.Schema, optional
        When given, column names are checked against it.

    Raises
    ------
    FilterSyntaxError
        With the 1-based character column of the problem.
    """
    return _Parser(text, schema).parse()


def to_expression(filter, schema=None):
    """``None``, a filter string or an Expression -> an Expression (or ``None``)."""
    if filter is None:
        return None
    if isinstance(filter, str):
        return parse(filter, schema)
    import pyarrow.compute as pc

    if isinstance(filter, pc.Expression):
        return filter
    raise TypeError(f"filter must be a pyarrow.compute.Expression or a string, not "
                    f"{type(filter).__name__}")


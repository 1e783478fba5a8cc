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
typed literals).  Anything it does not understand — an unknown function, a
field path by index, a cast — contributes nothing to pushdown and stays
residual.
"""
from __future__ import annotations

import ctypes
import math
import re
from dataclasses import dataclass, field as dc_field

from .errors import GenomicFrameError
from .formats.base import Pushdown, Range

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
        import pyarrow.compute as pc

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


# ---------------------------------------------------------------------------------------------
# reading an Expression's tree from its serialisation
# ---------------------------------------------------------------------------------------------
class _ArrowSchema(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64), ("children", ctypes.c_void_p),
    ("dictionary", ctypes.c_void_p),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_ArrowSchema))),
    ("private_data", ctypes.c_void_p),
]


def _ordered_metadata(schema) -> list[tuple[bytes, bytes]]:
    """Schema metadata as ordered pairs (``Schema.metadata`` is a dict and drops repeats)."""
    import struct

    c = _ArrowSchema()
    schema._export_to_c(ctypes.addressof(c))
    try:
        if not c.metadata:
            return []
        n = struct.unpack("=i", ctypes.string_at(c.metadata, 4))[0]
        pos, out = c.metadata + 4, []
        for _ in range(n):
            kl = struct.unpack("=i", ctypes.string_at(pos, 4))[0]
            key = ctypes.string_at(pos + 4, kl)
            pos += 4 + kl
            vl = struct.unpack("=i", ctypes.string_at(pos, 4))[0]
            val = ctypes.string_at(pos + 4, vl)
            pos += 4 + vl
            out.append((key, val))
        return out
    finally:
        if c.release:
            c.release(ctypes.byref(c))


@dataclass
class Node:
    """One node of an Expression tree.

    ``kind`` is ``"call"`` (``name``, ``args``, ``options`` as a Python dict or
    None), ``"field"`` (``path``, a tuple of names) or ``"literal"``
    (``value``, a ``pyarrow.Scalar``).  ``span`` is its slice of the serialised
    form, used to rebuild the exact sub-Expression.
    """

    kind: str
    name: str = ""
    args: list = dc_field(default_factory=list)
    options: dict | None = None
    path: tuple = ()
    value: object = None
    span: tuple = (0, 0)


class _Tree:
    """An Expression's tree plus what is needed to rebuild any sub-Expression."""

    def __init__(self, expr):
        import pyarrow as pa

        buf = expr.__reduce__()[1][0]
        reader = pa.ipc.open_file(buf)
        if reader.num_record_batches != 1:
            raise ValueError("serialised expression without exactly one batch")
        self.batch = reader.get_batch(0)
        self.table = pa.Table.from_batches([self.batch])
        self.pairs = [(k.decode(), v.decode()) for k, v in _ordered_metadata(reader.schema)]
        self.i = 0
        self.root = self._node()
        if self.i != len(self.pairs):
            raise ValueError("trailing items in serialised expression")
        self._expr = expr

    def _literal(self, index: str):
        col = self.table.column(int(index))
        if len(col) != 1:
            raise ValueError("literal is not a scalar")
        return col[0]

    def _node(self) -> Node:
        """Parse the prefix-ordered items into a tree (iteratively: OR chains can be long)."""
        stack: list = []  # open calls
        root = None
        while True:
            start = self.i
            key, val = self.pairs[self.i]
            self.i += 1
            done = None
            if key == "literal":
                done = Node("literal", value=self._literal(val), span=(start, self.i))
            elif key == "field_ref":
                done = Node("field", path=(val,), span=(start, self.i))
            elif key == "nested_field_ref":
                path = []
                for _ in range(int(val)):
                    k, v = self.pairs[self.i]
                    if k != "field_ref":
                        raise ValueError("unexpected nested field item")
                    path.append(v)
                    self.i += 1
                done = Node("field", path=tuple(path), span=(start, self.i))
            elif key == "call":
                stack.append(Node("call", name=val, span=(start, start)))
                continue
            elif key == "options" and stack:
                stack[-1].options = self._literal(val).as_py()
                continue
            elif key == "end" and stack:
                done = stack.pop()
                if done.name != val:
                    raise ValueError("unbalanced call in serialised expression")
                done.span = (done.span[0], self.i)
            else:
                raise ValueError(f"unexpected serialised expression item {key!r}")
            if stack:
                stack[-1].args.append(done)
            else:
                root = done
                return root

    def expression(self, node: Node):
        """The exact pyarrow Expression of a sub-tree."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if node is self.root:
            return self._expr
        md = pa.KeyValueMetadata([(k.encode(), v.encode())
                                  for k, v in self.pairs[node.span[0]:node.span[1]]])
        batch = self.batch.replace_schema_metadata(md)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, batch.schema) as w:
            w.write_batch(batch)
        return pc.Expression._deserialize(sink.getvalue())


def _tree(expr):
    try:
        return _Tree(expr)
    except Exception:  # unsupported (e.g. field refs by index): nothing is understood
        return None


def _fields(node: Node, out: set) -> None:
    todo = [node]
    while todo:
        n = todo.pop()
        if n.kind == "field":
            out.add(n.path)
        todo.extend(n.args)


_AND = ("and_kleene", "and")
_OR = ("or_kleene", "or")


def _operands(node: Node, names: tuple) -> list:
    """The operands of a chain of one associative call (``a and b and c`` -> [a, b, c])."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if n.kind == "call" and n.name in names and len(n.args) == 2:
            todo.append(n.args[1])
            todo.append(n.args[0])
        else:
            out.append(n)
    return out


def referenced_paths(expr) -> set | None:
    """Field paths an Expression reads (``("info", "AF")`` for a struct child); None when unsure."""
    if expr is None:
        return set()
    tree = _tree(expr)
    if tree is None:
        return None
    paths: set = set()
    _fields(tree.root, paths)
    return paths


def referenced_columns(expr, schema) -> list[str]:
    """Top-level columns an Expression reads, in schema order (all of them when unsure)."""
    if expr is None:
        return []
    tree = _tree(expr)
    if tree is None:
        text = str(expr)
        return [n for n in schema.names if n in text]
    paths: set = set()
    _fields(tree.root, paths)
    used = {p[0] for p in paths}
    return [n for n in schema.names if n in used]


# ---------------------------------------------------------------------------------------------
# constraints implied by a filter
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _C:
    """What a true filter implies about one column: value set, numeric range, non-null.

    ``nan`` marks "the value is NaN" (from ``x != x``, how DuckDB spells
    ``isnan``).  A :class:`Range` keeps NaN (``Range.contains`` compares false
    both ways), so ``range or NaN`` is still that range.
    """

    isin: frozenset | None = None
    range: Range | None = None
    not_null: bool = False
    nan: bool = False

    def and_(self, o: "_C") -> "_C":
        if o.isin is None or self.isin is None:
            isin = self.isin if o.isin is None else o.isin
        else:
            isin = self.isin & o.isin
        rng = self.range if o.range is None else (o.range if self.range is None
                                                  else self.range.intersect(o.range))
        return _C(isin, rng, self.not_null or o.not_null, self.nan or o.nan)

    def or_(self, o: "_C") -> "_C":
        isin = self.isin | o.isin if self.isin is not None and o.isin is not None else None
        if self.range is not None and o.range is not None:
            rng = _hull(self.range, o.range)
        elif self.range is not None and o.nan and o.isin is None:
            rng = self.range
        elif o.range is not None and self.nan and self.isin is None:
            rng = o.range
        else:
            rng = None
        return _C(isin, rng, self.not_null and o.not_null, self.nan and o.nan)

    @property
    def trivial(self) -> bool:
        return self.isin is None and self.range is None and not self.not_null


def _hull(a: Range, b: Range) -> Range:
    if a.empty:
        return b
    if b.empty:
        return a
    if (a.lo, not a.lo_inclusive) <= (b.lo, not b.lo_inclusive):
        lo, loi = a.lo, a.lo_inclusive
    else:
        lo, loi = b.lo, b.lo_inclusive
    if (a.hi, a.hi_inclusive) >= (b.hi, b.hi_inclusive):
        hi, hii = a.hi, a.hi_inclusive
    else:
        hi, hii = b.hi, b.hi_inclusive
    return Range(lo, loi, hi, hii)


def _and(x: dict, y: dict) -> dict:
    out = dict(x)
    for k, v in y.items():
        out[k] = out[k].and_(v) if k in out else v
    return out


def _or(x: dict, y: dict) -> dict:
    out = {}
    for k in x.keys() & y.keys():
        c = x[k].or_(y[k])
        if not c.trivial:
            out[k] = c
    return out


_FLIP = {"equal": "equal", "not_equal": "not_equal", "less": "greater", "greater": "less",
         "less_equal": "greater_equal", "greater_equal": "less_equal"}
_NEGATE = {"equal": "not_equal", "not_equal": "equal", "less": "greater_equal",
           "greater_equal": "less", "greater": "less_equal", "less_equal": "greater"}


class _Deriver:
    """Constraints a true filter implies, per top-level column of ``schema``."""

    def __init__(self, schema):
        self.schema = schema

    def column_type(self, node: Node):
        if node.kind != "field" or len(node.path) != 1 or node.path[0] not in self.schema.names:
            return None
        return self.schema.field(node.path[0]).type

    def literal_value(self, typ, lit):
        """A Python value comparable with column type ``typ``, or None when unsafe."""
        import pyarrow as pa

        if not lit.is_valid:
            return None
        lt = lit.type
        if _is_string(typ) and (pa.types.is_string(lt) or pa.types.is_large_string(lt)):
            return lit.as_py()
        if _is_number(typ) and (pa.types.is_integer(lt) or pa.types.is_floating(lt)):
            v = lit.as_py()
            return None if isinstance(v, float) and math.isnan(v) else v
        return None

    def derive(self, node: Node, negated: bool = False) -> dict:
        if node.kind != "call":
            return {}
        name = node.name
        if name in _AND + _OR and len(node.args) == 2:
            chain = _operands(node, _AND if name in _AND else _OR)
            parts = [self.derive(x, negated) for x in chain]
            combine = _and if (name in _AND) != negated else _or
            out = parts[0]
            for p in parts[1:]:
                out = combine(out, p)
            return out
        if name == "invert" and len(node.args) == 1:
            return self.derive(node.args[0], not negated)
        if name == "if_else" and len(node.args) == 3:
            # true when (cond and a) is true, or when cond is not true and b is true
            cond, a, b = node.args
            then = _and(self.derive(cond), self.derive(a, negated))
            if b.kind == "literal" and (not b.value.is_valid or (b.value.as_py() is negated)):
                return then
            return _or(then, self.derive(b, negated))
        if name in _FLIP and len(node.args) == 2:
            return self.comparison(node, negated)
        if name == "is_valid" and len(node.args) == 1 and not negated:
            return self.not_null(node.args[0])
        if name == "is_null" and len(node.args) == 1 and negated:
            return self.not_null(node.args[0])
        if name == "is_in" and len(node.args) == 1 and not negated:
            return self.isin(node)
        return {}

    def disjuncts(self, node: Node, negated: bool = False) -> list:
        """The filter as an OR of constraint sets (a DNF), for index regions.

        :meth:`derive` merges an ``or`` into one hull (a range from the lowest
        to the highest bound); here each side stays separate, so ``region(a) |
        region(b)`` reads two regions, not everything between them.  Past
        :data:`MAX_DISJUNCTS` the hull is used.
        """
        if node.kind != "call":
            return [{}]
        name, args = node.name, node.args
        conj = name in _AND and len(args) == 2
        disj = name in _OR and len(args) == 2
        if conj or disj:
            parts = [self.disjuncts(x, negated) for x in _operands(node, _AND if conj else _OR)]
            out = parts[0]
            for p in parts[1:]:
                if conj != negated:  # an AND (or a negated OR): every pair
                    if len(out) * len(p) > MAX_DISJUNCTS:
                        return [self.derive(node, negated)]
                    out = [_and(x, y) for x in out for y in p]
                else:
                    if len(out) + len(p) > MAX_DISJUNCTS:
                        return [self.derive(node, negated)]
                    out = out + p
            return out
        if name == "invert" and len(args) == 1:
            return self.disjuncts(args[0], not negated)
        if name == "if_else" and len(args) == 3:
            cond, a, b = args
            ca, aa = self.disjuncts(cond), self.disjuncts(a, negated)
            if len(ca) * len(aa) > MAX_DISJUNCTS:
                return [self.derive(node, negated)]
            then = [_and(x, y) for x in ca for y in aa]
            if b.kind == "literal" and (not b.value.is_valid or (b.value.as_py() is negated)):
                return then
            return then + self.disjuncts(b, negated)
        return [self.derive(node, negated)]

    def not_null(self, arg: Node) -> dict:
        if self.column_type(arg) is None:
            return {}
        return {arg.path[0]: _C(not_null=True)}

    def comparison(self, node: Node, negated: bool) -> dict:
        op = node.name
        a, b = node.args
        if a.kind == "literal" and b.kind == "field":
            a, b, op = b, a, _FLIP[op]
        if (op == "not_equal" and not negated and a.kind == "field" and b.kind == "field"
                and a.path == b.path and self.column_type(a) is not None
                and _is_number(self.column_type(a))):
            return {a.path[0]: _C(not_null=True, nan=True)}  # x != x: x is NaN
        if a.kind != "field" or b.kind != "literal":
            return {}
        typ = self.column_type(a)
        if typ is None:
            return {}
        v = self.literal_value(typ, b.value)
        if v is None:
            return {}
        if negated:
            op = _NEGATE[op]
        col = a.path[0]
        if op == "not_equal":
            return {col: _C(not_null=True)}
        if _is_string(typ):
            return {col: _C(isin=frozenset([v]), not_null=True)} if op == "equal" else \
                {col: _C(not_null=True)}
        return {col: _C(range=_range(op, v, typ), not_null=True)}

    def isin(self, node: Node) -> dict:
        arg = node.args[0]
        typ = self.column_type(arg)
        opts = node.options or {}
        values = opts.get("value_set")
        if typ is None or values is None or any(v is None for v in values):
            return {}
        col = arg.path[0]
        if _is_string(typ) and all(isinstance(v, str) for v in values):
            return {col: _C(isin=frozenset(values), not_null=True)}
        if _is_number(typ) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                   for v in values):
            if any(isinstance(v, float) and math.isnan(v) for v in values):
                return {col: _C(not_null=True)}
            if not values:
                return {col: _C(isin=frozenset(), not_null=True)}
            lo, hi = min(values), max(values)
            rng = _range("greater_equal", lo, typ).intersect(_range("less_equal", hi, typ))
            return {col: _C(range=rng, not_null=True)}
        return {}


def _is_string(typ) -> bool:
    import pyarrow as pa

    return pa.types.is_string(typ) or pa.types.is_large_string(typ) or (
        pa.types.is_dictionary(typ) and _is_string(typ.value_type))


def _is_number(typ) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(typ) or pa.types.is_floating(typ)


def _range(op: str, v, typ) -> Range:
    """The range ``column <op> v``; loosened on float columns so rounding can never drop a row."""
    import pyarrow as pa

    if pa.types.is_floating(typ) or isinstance(v, float):
        if math.isinf(v):
            slack = 0.0
        else:
            slack = abs(v) * 1e-6 + 1e-30
        if op == "equal":
            return Range(v - slack, True, v + slack, True)
        if op in ("greater", "greater_equal"):
            return Range(lo=v - slack, lo_inclusive=True)
        return Range(hi=v + slack, hi_inclusive=True)
    return {
        "equal": Range(v, True, v, True),
        "greater": Range(lo=v, lo_inclusive=False),
        "greater_equal": Range(lo=v, lo_inclusive=True),
        "less": Range(hi=v, hi_inclusive=False),
        "less_equal": Range(hi=v, hi_inclusive=True),
    }[op]


# ---------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------
#: columns that locate a record, and the offset of each from the 0-based ``start``
#: (VCF ``pos`` is 1-based: ``pos == start + 1``); a format may declare its own
#: as a ``position_offsets`` class attribute
POSITION_OFFSETS = {"start": 0, "pos": 1}
#: most OR branches kept apart for index regions (beyond, their hull is used)
MAX_DISJUNCTS = 10_000


@dataclass
class Term:
    """One top-level AND term of a filter and where it went."""

    expression: object
    index: bool = False
    parser: bool = False

    @property
    def residual(self) -> bool:
        return not (self.index or self.parser)


@dataclass
class Plan:
    """What a filter lets a scan skip.

    Attributes
    ----------
    filter : pyarrow.compute.Expression or None
        The full filter, applied to every batch whatever was pushed down.
    pushdown : Pushdown
        Row tests for the parser (only the format's ``pushdown_columns``).
    regions : list of (chrom, start, end) or None
        0-based half-open regions such that every passing row overlaps one
        (``end`` None: to the end of the chromosome), sorted and merged; one
        per ``or`` branch; ``None`` when the filter does not pin ``chrom`` to
        a finite set.
    empty : bool
        The filter can be true for no row at all.
    terms : list of Term
        The top-level AND terms and whether each reached the index, the parser,
        or neither (residual).
    understood : bool
        False when the filter's tree could not be read (nothing pushed down).
    """

    filter: object = None
    pushdown: Pushdown = dc_field(default_factory=Pushdown)
    regions: list | None = None
    empty: bool = False
    terms: list = dc_field(default_factory=list)
    understood: bool = True


def _conjuncts(node: Node) -> list[Node]:
    return _operands(node, _AND)


def _regions(cons: dict, schema, offsets: dict) -> list | None:
    chrom = cons.get("chrom")
    names = set(schema.names)
    if chrom is None or chrom.isin is None or not {"chrom", "start", "end"} <= names:
        return None
    lo, hi = 0, None
    # a row overlaps [lo, hi) when start < hi and end > lo; rows are assumed to have end >= start,
    # so a bound on start of s gives lo = s - 1 (room for zero-length records)
    for col, off in offsets.items():
        c = cons.get(col)
        if c is None or c.range is None or col not in names:
            continue
        r = c.range
        if r.lo != -math.inf:
            s = math.ceil(r.lo) - off  # smallest possible start
            if not r.lo_inclusive and r.lo == math.floor(r.lo):
                s += 1
            lo = max(lo, s - 1)
        if r.hi != math.inf:
            s = math.floor(r.hi) - off  # largest possible start
            if not r.hi_inclusive and r.hi == math.floor(r.hi):
                s -= 1
            hi = s + 1 if hi is None else min(hi, s + 1)
    c = cons.get("end")
    if c is not None and c.range is not None:
        r = c.range
        if r.lo != -math.inf:
            e = math.ceil(r.lo) if r.lo_inclusive else math.floor(r.lo) + 1  # smallest end
            lo = max(lo, e - 1)
        if r.hi != math.inf:
            e = math.floor(r.hi)  # largest end (start <= end)
            hi = e + 1 if hi is None else min(hi, e + 1)
    if hi is not None and hi <= lo:
        # start < hi and end > lo >= hi: a record spanning the gap, so it overlaps [hi - 1, hi)
        lo = hi - 1
    lo = max(lo, 0)
    if hi is not None and hi <= lo:  # start < hi <= 0 (VCF telomere, POS 0): its first base
        hi = lo + 1
    return [(c_, lo, hi) for c_ in sorted(chrom.isin)]


def _region_union(disjuncts: list, schema, offsets: dict, floating) -> list | None:
    """Regions of every satisfiable disjunct, merged per chromosome; None if one is unbounded."""
    out: dict = {}
    for d in disjuncts:
        if any((c.isin is not None and not c.isin)
               or (c.range is not None and c.range.empty and not floating(k))
               for k, c in d.items()):
            continue  # this branch can never be true
        regions = _regions(d, schema, offsets)
        if regions is None:
            return None
        for chrom, lo, hi in regions:
            out.setdefault(chrom, []).append((lo, hi))
    merged = []
    for chrom in sorted(out):
        spans = sorted(out[chrom], key=lambda r: (r[0], math.inf if r[1] is None else r[1]))
        cur_lo, cur_hi = spans[0]
        for lo, hi in spans[1:]:
            if cur_hi is None or lo <= cur_hi:  # overlapping or touching: one region
                cur_hi = None if hi is None or cur_hi is None else max(cur_hi, hi)
            else:
                merged.append((chrom, cur_lo, cur_hi))
                cur_lo, cur_hi = lo, hi
        merged.append((chrom, cur_lo, cur_hi))
    return merged


def plan(filter, schema, pushdown_columns=frozenset(), position_offsets=None) -> Plan:
    """Split a filter into index regions, parser :class:`Pushdown` and residual terms.

    Parameters
    ----------
    filter : pyarrow.compute.Expression or None
    schema : pyarrow.Schema
        The data's schema (literal types are checked against column types).
    pushdown_columns : iterable of str
        Columns the format's parser can test.
    position_offsets : dict, optional
        Column -> offset from the 0-based ``start`` (default
        :data:`POSITION_OFFSETS`: ``start`` 0, ``pos`` 1).
    """
    if filter is None:
        return Plan()
    tree = _tree(filter)
    if tree is not None:
        try:
            return _plan(filter, tree, schema, pushdown_columns,
                         POSITION_OFFSETS if position_offsets is None else position_offsets)
        except Exception:  # an expression shape this module does not know: push nothing
            pass
    return Plan(filter=filter, terms=[Term(filter)], understood=False)


def _plan(filter, tree: _Tree, schema, pushdown_columns, offsets: dict) -> Plan:
    deriver = _Deriver(schema)
    cons = deriver.derive(tree.root)
    # a Range keeps NaN (Range.contains), so an empty range on a float column still passes NaN
    import pyarrow as pa

    def floating(k):
        return pa.types.is_floating(schema.field(k).type)

    empty = any((c.isin is not None and not c.isin)
                or (c.range is not None and c.range.empty and not floating(k))
                for k, c in cons.items())
    pushable = set(pushdown_columns)
    isin = {k: c.isin for k, c in cons.items() if c.isin is not None and k in pushable}
    ranges = {k: c.range for k, c in cons.items() if c.range is not None and k in pushable
              and not (c.range.empty and floating(k))}
    not_null = frozenset(k for k, c in cons.items() if c.not_null and k in pushable)
    pd = Pushdown(isin, ranges, not_null)
    regions = _region_union(deriver.disjuncts(tree.root), schema, offsets, floating)
    located = {"chrom", "end", *offsets}
    terms = []
    for node in _conjuncts(tree.root):
        tcons = deriver.derive(node)
        exact = _is_exact(node, tcons)
        cols = set(tcons)
        terms.append(Term(
            tree.expression(node),
            index=exact and regions is not None and bool(cols) and cols <= located,
            parser=exact and bool(cols) and cols <= pushable,
        ))
    return Plan(filter=filter, pushdown=pd, regions=regions, empty=empty, terms=terms)


def _is_exact(node: Node, cons: dict) -> bool:
    """True when the constraints say everything the term says (a plain column test)."""
    if node.kind != "call" or len(cons) != 1:
        return False
    c = next(iter(cons.values()))
    name = node.name
    if name == "invert" and len(node.args) == 1 and node.args[0].kind == "call":
        inner = node.args[0].name
        if inner == "is_null":
            return True
        return inner in _NEGATE and inner != "equal" and (c.isin is not None or c.range is not None)
    if name in ("equal", "less", "less_equal", "greater", "greater_equal", "is_in"):
        return c.isin is not None or c.range is not None
    if name == "is_valid":
        return True
    if name in ("or_kleene", "or") and c.isin is not None:
        return all(a.kind == "call" and a.name in ("equal", "is_in", "or_kleene", "or")
                   for a in node.args)
    return False

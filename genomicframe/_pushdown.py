"""From a filter to what a format can use: parser pushdown, index regions, residual.

Both the :class:`~genomicframe.formats.base.Pushdown` and the index regions are
*implied* by the filter (every row that passes the filter passes them), so they
only ever remove rows the filter would remove; the dataset layer still applies
the whole filter to every batch (STYLE principle 6).  Anything not understood
contributes nothing and stays residual.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dc_field

from ._exprtree import _AND, _OR, Node, _operands, _Tree, _tree
from .formats.base import Pushdown, Range


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

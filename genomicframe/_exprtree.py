"""The tree of a :class:`pyarrow.compute.Expression`, read from its serialisation.

pyarrow has no public API to walk an Expression and its text form is ambiguous,
so this module reads the serialisation pickle uses (an Arrow IPC file whose
schema metadata lists the tree in prefix order and whose columns hold the typed
literals) into :class:`Node` objects.  Used by :mod:`genomicframe._pushdown`.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from dataclasses import field as dc_field


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

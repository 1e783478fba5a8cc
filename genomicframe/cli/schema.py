"""``genomicframe schema``: the Arrow schema a file reads as (only the header is parsed)."""
from __future__ import annotations

import argparse
import sys

HELP = "print the Arrow schema a file is read as"


def add_parser(sub) -> None:
    from .view import add_input_arguments

    p = sub.add_parser("schema", help=HELP, description=HELP + " (reads the header only).")
    add_input_arguments(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object: format, columns (name, type, nullable, metadata)")
    p.add_argument("--metadata", action="store_true", help="also print field and schema metadata")
    p.set_defaults(func=run)


def _meta(md) -> dict:
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in (md or {}).items()}


def run(args: argparse.Namespace) -> int:
    from .view import Input, open_dataset

    with Input(args.file) as inp:
        ds = open_dataset(inp.path, args.input_format)
        schema = ds.schema
        if args.json:
            import json

            doc = {"format": ds.format.name,
                   "columns": [{"name": f.name, "type": str(f.type), "nullable": f.nullable,
                                **({"metadata": _meta(f.metadata)} if f.metadata else {})}
                               for f in schema],
                   "metadata": _meta(schema.metadata)}
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            return 0
        sys.stdout.write(f"# format: {ds.format.name}\n")
        sys.stdout.write(schema.to_string(show_field_metadata=args.metadata,
                                          show_schema_metadata=args.metadata) + "\n")
    return 0

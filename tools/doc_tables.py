"""The options tables of the docs, generated from the config model (``components/config/``).

A table lives between two markers in any Markdown file of the repository::

    <!-- options:staticIp -->
    | key | default | meaning |
    |---|---|---|
    ...
    <!-- /options:staticIp -->

The name after ``options:`` is a config key: a top-level one (``functions``, ``network``,
``staticIp``, ..., ``quotas``) or a nested model under it (``ipRestrictedApi.routes``). Each row
is one field: its key (nested models as dotted keys, list items as ``key[].sub``), its default
as YAML, and its ``description``, followed by what the model enforces and the description does
not already say (the allowed values, the numeric range). So a new option is one field with a
description, and its row follows: edit the description, never the table.

    python -m tools.doc_tables            # rewrite every stale table
    python -m tools.doc_tables --check    # rewrite nothing; exit 1 listing the stale tables

Two more kinds of block are generated the same way, from a stack file of the repository
(an example or ``Pulumi.<stack>.yaml``, synthesized under mocks like the tests do), so that no
picture or price in the docs is drawn or typed by hand:

    <!-- paths:examples/edge-oac.yaml -->   the request-path diagram (Mermaid) of that config,
                                             from its ``exposure`` output (``tools.exposure_view``)
    <!-- cost:examples/static-egress.yaml --> its fixed monthly cost before traffic (``tools.cost``)
    <!-- cost:patterns -->                   every pattern's cost, from its example (the README)
    <!-- exposure:Pulumi.dev.yaml -->         its exposure table (the preview's, placeholder URLs)
    <!-- config:examples/edge-oac.yaml -->  the file itself, verbatim, as a YAML block: a config
                                             quoted in the docs is always one the suite synthesizes

Exit 2 on a marker that names no config key or file, or is never closed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from components.config import StackConfig, model_in

ROOT = Path(__file__).resolve().parent.parent
HEADER = "| key | default | meaning |\n|---|---|---|\n"
_OPEN_RE = re.compile(r"<!-- (?P<kind>options|paths|cost|config|exposure):(?P<key>[^ ]*) -->\n")
_CLOSE = "<!-- /{kind}:{key} -->"
# Directories that hold no docs of the repository (virtualenvs, caches, tool state).
_SKIPPED_PARTS = {"node_modules", "__pycache__"}


class DocTableError(Exception):
    """A marker the tool cannot act on: an unknown key, or no closing marker."""


# --------------------------------------------------------------------------------------------
# one table, from the model
# --------------------------------------------------------------------------------------------


def model_at(key: str) -> type[BaseModel]:
    """The model documented under ``key`` ("staticIp", "ipRestrictedApi.routes")."""
    model: type[BaseModel] | None = StackConfig
    for part in key.split("."):
        fields = {} if model is None else _fields(model)
        if part not in fields or part == "region":
            raise DocTableError(f"options:{key}: {part!r} is not a config key with options")
        model = model_in(fields[part].annotation)
    if model is None:
        raise DocTableError(f"options:{key}: holds a value, not an object of options")
    return model


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {field.alias or name: field for name, field in model.model_fields.items()}


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(key, default, meaning) of every field of ``model``, nested models after their field."""
    for key, field in _fields(model).items():
        yield f"{prefix}{key}", _default(field), _meaning(field)
        nested = model_in(field.annotation)
        if nested is not None:
            item = "[]" if _is_list(field.annotation) else ""
            yield from rows(nested, f"{prefix}{key}{item}.")


def render_table(key: str) -> str:
    """The Markdown table for ``key``, header included, ending with a newline."""
    body = "".join(
        f"| `{name}` | {_cell(default)} | {_cell(meaning)} |\n"
        for name, default, meaning in rows(model_at(key))
    )
    return HEADER + body


def _is_list(annotation: Any) -> bool:
    return get_origin(_unwrap(annotation)) is list


def _unwrap(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[...]`` and ``| None``."""
    while True:
        origin, args = get_origin(annotation), get_args(annotation)
        if origin is Annotated:
            annotation = args[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    return "" if value is None else f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    """``value`` as it would be written in a stack file (flow style)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_defaults=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        plain = value and value == value.strip() and not set(value) & set("{}[],#&*!|>'\"%@`")
        return value if plain and yaml.safe_load(value) == value else json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no YAML rendering for {value!r}")


def _meaning(field: FieldInfo) -> str:
    """The description, then what the model enforces that the description does not say."""
    description = (field.description or "").strip()
    facts = [_values(field.annotation, description), _range(field)]
    return ". ".join([description, *(f for f in facts if f)])


def _values(annotation: Any, description: str) -> str:
    inner = _unwrap(annotation)
    listed = get_origin(inner) is list
    if listed:
        inner = _unwrap(get_args(inner)[0])
    if get_origin(inner) is not Literal:
        return ""
    values = [str(v) for v in get_args(inner)]
    if all(f"`{v}`" in description for v in values):
        return ""
    names = ", ".join(f"`{v}`" for v in values)
    return f"Any of {names}" if listed else f"One of {names}"


def _range(field: FieldInfo) -> str:
    # pydantic keeps Field(ge=, le=, min_length=) as annotated-types constraints.
    low = high = least = None
    for constraint in field.metadata:
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
        least = getattr(constraint, "min_length", least)
    if low is not None and high is not None:
        return f"From {_number(low)} to {_number(high)}"
    if low is not None:
        return f"At least {_number(low)}"
    if high is not None:
        return f"At most {_number(high)}"
    if least:
        return "Not empty" if least == 1 else f"At least {least} items"
    return ""


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


# --------------------------------------------------------------------------------------------
# the tables in the docs
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# request paths and costs, from a synthesized stack file
# --------------------------------------------------------------------------------------------


def _stack_path(kind: str, key: str) -> Path:
    path = (ROOT / key).resolve()
    inside = path.is_relative_to(ROOT) and path.suffix == ".yaml"
    if not inside or not path.is_file():
        raise DocTableError(f"{kind}:{key}: not a stack file of the repository")
    return path


@cache
def _synthesized(path: Path) -> Any:
    from tools.synth import load_stack_file, synthesize

    return synthesize(load_stack_file(path), stack=path.stem.removeprefix("Pulumi."))


def render_paths(key: str) -> str:
    """The request-path diagram of the stack file ``key``, as a Mermaid block."""
    from tools.exposure_view import exposure_rows, render_request_paths

    rows = exposure_rows(_synthesized(_stack_path("paths", key)))
    if not rows:
        raise DocTableError(f"paths:{key}: the stack has no exposure rows to draw")
    return f"```mermaid\n{render_request_paths(rows)}\n```\n"


def render_cost(key: str) -> str:
    """The fixed monthly cost of ``key`` (a stack file), or of every pattern (``patterns``)."""
    from tools import cost

    if key == "patterns":
        lines = [
            "| pattern (example) | fixed monthly cost before traffic, us-east-1 |",
            "|---|---|",
        ]
        for pattern, summary in cost.pattern_costs().items():
            example = cost.PATTERN_EXAMPLES[pattern]
            lines.append(f"| `{pattern}` ([example](examples/{example})) | {_cell(summary)} |")
        return "\n".join(lines) + "\n"
    result = _synthesized(_stack_path("cost", key))
    return "```text\n" + "\n".join(cost.render(cost.estimate(result), result.region)) + "\n```\n"


def render_config(key: str) -> str:
    """The stack file ``key`` as it is, in a YAML block."""
    text = _stack_path("config", key).read_text(encoding="utf-8")
    return f"```yaml\n# {key}\n{text.rstrip()}\n```\n"


def render_exposure(key: str) -> str:
    """The exposure table of the stack file ``key`` (Markdown, the preview's placeholder URLs)."""
    from tools.exposure_view import exposure_rows, markdown_table

    rows = exposure_rows(_synthesized(_stack_path("exposure", key)))
    if not rows:
        raise DocTableError(f"exposure:{key}: the stack has no exposure rows")
    return markdown_table(rows) + "\n"


def render_block(kind: str, key: str) -> str:
    if kind == "exposure":
        return render_exposure(key)
    if kind == "config":
        return render_config(key)
    if kind == "paths":
        return render_paths(key)
    if kind == "cost":
        return render_cost(key)
    return render_table(key)


# --------------------------------------------------------------------------------------------
# the generated blocks in the docs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One marked block of a Markdown text: its kind, key and where its body is."""

    key: str
    start: int  # first character after the opening marker's line
    end: int  # first character of the closing marker
    kind: str = "options"

    def body(self, text: str) -> str:
        return text[self.start : self.end]

    @property
    def marker(self) -> str:
        return f"{self.kind}:{self.key}"


def find_tables(text: str, where: str = "") -> list[Table]:
    tables = []
    for opening in _OPEN_RE.finditer(text):
        kind, key = opening.group("kind"), opening.group("key")
        close = _CLOSE.format(kind=kind, key=key)
        closing = text.find(close, opening.end())
        if closing < 0:
            raise DocTableError(f"{where}: {kind}:{key} is never closed ({close})")
        # An unknown key or file is an error here, not a block silently left alone.
        if kind == "options":
            model_at(key)
        elif key != "patterns" or kind != "cost":
            _stack_path(kind, key)
        tables.append(Table(key, opening.end(), closing, kind))
    return tables


def refreshed(text: str, where: str = "") -> tuple[str, list[str]]:
    """``text`` with every block regenerated, and the markers of the blocks that changed."""
    pieces, stale, at = [], [], 0
    for table in find_tables(text, where):
        # Blank lines around the block: Markdown ends an HTML block (the marker) at one.
        fresh = f"\n{render_block(table.kind, table.key)}\n"
        if table.body(text) != fresh:
            stale.append(table.marker)
        pieces += [text[at : table.start], fresh]
        at = table.end
    pieces.append(text[at:])
    return "".join(pieces), stale


def markdown_files(root: Path) -> list[Path]:
    """Every Markdown file of the repository (not in hidden directories: .git, .venv...)."""
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts[:-1]
        if not any(p.startswith(".") or p in _SKIPPED_PARTS for p in parts):
            found.append(path)
    return found


def stale_tables(root: Path = ROOT, *, write: bool = False) -> list[str]:
    """``file:key`` of every stale table under ``root``; with ``write``, rewrite them too."""
    stale = []
    for path in markdown_files(root):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root).as_posix()
        new_text, keys = refreshed(text, where)
        stale += [f"{where}: {marker}" for marker in keys]
        if write and new_text != text:
            path.write_text(new_text, encoding="utf-8")
    return stale


def tables_in(root: Path = ROOT) -> list[str]:
    """``file:key`` of every marked table under ``root``."""
    return [
        f"{path.relative_to(root).as_posix()}: {table.marker}"
        for path in markdown_files(root)
        for table in find_tables(path.read_text(encoding="utf-8"), str(path))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.doc_tables", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        stale = stale_tables(args.root, write=not args.check)
    except DocTableError as exc:
        print(f"doc_tables: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for line in stale:
            print(f"{line}: stale (run python -m tools.doc_tables)", file=sys.stderr)
        return 1 if stale else 0
    for line in stale:
        print(f"{line}: rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())

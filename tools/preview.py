"""Offline preview: what a stack's config would deploy, without AWS or the Pulumi CLI.

    python -m tools.preview --stack dev            # reads Pulumi.dev.yaml
    python -m tools.preview --file examples/edge-oac.yaml
    python -m tools.preview --stack dev --check    # and the deploy-readiness check

Runs the real program under Pulumi mocks (``tools.synth``), prints the resource tree with each
resource's key inputs (wrapped at 120 columns), the stack outputs (with placeholder values the
mocks computed), the estimated fixed monthly cost before traffic (``tools.cost``, list prices
from ``tools/prices.json``), the exposure table and any warnings, and writes a Mermaid diagram
of the resources and their links, and the request-path diagram, to ``preview/<stack>.md``. A
reviewer sees what a config change does before anyone runs ``pulumi up``.

``--check`` also compares every resource's inputs with what the pinned pulumi-aws SDK declares
and every physical name with AWS's limits (``tools.check``), prints one line per finding and
exits 1 when there is any. A stack file or config the program cannot use exits 2, one line each.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tools.check import check
from tools.synth import REPO_ROOT, Resource, Synth, load_stack_file, synthesize

# Inputs too noisy for a tree line (the diagram and the tests cover them).
_HIDDEN_INPUTS = {"tags", "code", "description", "tagsAll"}
_MAX_VALUE = 70
# Tree lines wrap here: between inputs, never inside one, continuation lines indented under the
# resource so the nesting still reads at a glance.
TREE_WIDTH = 120


def _summarize(key: str, value: Any) -> str | None:
    """A short, readable rendering of one input, or None to leave it out."""
    if key in _HIDDEN_INPUTS or value is None or value == [] or value == {}:
        return None
    if isinstance(value, str) and value.startswith("{") and '"Statement"' in value:
        try:
            statements = json.loads(value).get("Statement", [])
        except json.JSONDecodeError:
            return None
        actions = sorted(
            {a for s in statements for a in _as_list(s.get("Action", s.get("NotAction", [])))}
        )
        return f"{key}=<policy: {len(statements)} statement(s): {', '.join(actions)[:60]}>"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # the mock monitor hands numbers back as floats
    if isinstance(value, bool | int | float):
        return f"{key}={json.dumps(value)}"
    if isinstance(value, str):
        return f"{key}={value if len(value) <= _MAX_VALUE else value[: _MAX_VALUE - 1] + '…'}"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ",".join(str(v) for v in value)
        if len(text) > _MAX_VALUE:
            text = f"{text[: _MAX_VALUE - 1]}… ({len(value)} items)"
        return f"{key}=[{text}]"
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _key_inputs(resource: Resource, limit: int = 6) -> list[str]:
    """The resource's key inputs, one item each, then ``(+N more)`` and its flags."""
    parts = [p for k, v in sorted(resource.inputs.items()) if (p := _summarize(k, v))]
    items = parts[:limit]
    if len(parts) > limit:
        items.append(f"(+{len(parts) - limit} more)")
    flags = [
        f for f, on in (("protect", resource.protect), ("retain", resource.retain_on_delete)) if on
    ]
    if flags:
        items.append(f"[{' '.join(flags)}]")
    return items


def wrap_line(head: str, items: Sequence[str], indent: str, width: int = TREE_WIDTH) -> list[str]:
    """``head`` then ``items`` two spaces apart, wrapped at ``width`` between items.

    Continuation lines start four spaces deeper than ``indent``; an item longer than a line gets
    a line of its own rather than being cut (values are already shortened by ``_summarize``).
    """
    lines = [head]
    continuation = indent + "    "
    for item in items:
        candidate = f"{lines[-1]}  {item}"
        if len(candidate) <= width or lines[-1].strip() == "":
            lines[-1] = candidate
        else:
            lines.append(continuation + item)
    return lines


def render_tree(result: Synth) -> list[str]:
    """Resources nested under their component parents, in registration order."""
    by_parent: dict[str, list[Resource]] = {}
    urns = {r.urn for r in result.resources}
    for resource in result.resources:
        parent = resource.parent if resource.parent in urns else ""
        by_parent.setdefault(parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for resource in by_parent.get(parent, []):
            indent = "  " * depth
            region = f" @{resource.region}" if resource.region else ""
            head = f"{indent}{resource.type} {resource.name}{region}"
            items = _key_inputs(resource) if resource.custom else []
            lines.extend(wrap_line(head, items, indent))
            walk(resource.urn, depth + 1)

    walk("", 0)
    return lines


def _node_id(resource: Resource) -> str:
    return "n" + re.sub(r"[^A-Za-z0-9]", "_", resource.urn.split("::")[-1] + resource.type)


def _label(resource: Resource) -> str:
    short_type = resource.type.split(":")[-1]
    return f'"{resource.name}<br/><small>{short_type}</small>"'


def render_mermaid(result: Synth) -> str:
    """Components as subgraphs, resources as nodes, dependencies as arrows."""
    by_urn = {r.urn: r for r in result.resources}
    lines = ["flowchart LR"]

    def emit(parent: str, depth: int) -> None:
        for resource in (r for r in result.resources if r.parent == parent):
            pad = "  " * (depth + 1)
            if resource.custom:
                lines.append(f"{pad}{_node_id(resource)}[{_label(resource)}]")
            else:
                lines.append(f'{pad}subgraph {_node_id(resource)}["{resource.name}"]')
                emit(resource.urn, depth + 1)
                lines.append(f"{pad}end")

    roots = {r.parent for r in result.resources if r.parent not in by_urn}
    for root in sorted(roots):
        emit(root, 0)
    for resource in result.resources:
        if not resource.custom:
            continue
        for dependency in resource.dependencies:
            target = by_urn.get(dependency)
            if target is not None and target.custom:
                lines.append(f"  {_node_id(target)} --> {_node_id(resource)}")
    return "\n".join(lines)


def _format_outputs(outputs: dict[str, Any], width: int = TREE_WIDTH) -> Iterable[str]:
    """One line per output; a value too long for one line as indented JSON under its key."""
    for key in sorted(outputs):
        value = outputs[key]
        if key == "exposure" and isinstance(value, list):
            yield f"  {key}: {len(value)} rows (the exposure table below)"
            continue
        line = f"  {key}: {json.dumps(value, sort_keys=True)}"
        if len(line) <= width:
            yield line
            continue
        yield f"  {key}:"
        for text in json.dumps(value, sort_keys=True, indent=2).splitlines():
            yield f"    {text}"


def stack_file(stack: str) -> Path:
    return REPO_ROOT / f"Pulumi.{stack}.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.preview", description=__doc__.split("\n")[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml")
    source.add_argument("--file", type=Path, help="any stack-config yaml (e.g. examples/*.yaml)")
    parser.add_argument(
        "--out", type=Path, help="Mermaid markdown path (default preview/<name>.md)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="also check every resource's inputs against the pinned pulumi-aws SDK and AWS's "
        "naming rules; exit 1 on any finding",
    )
    args = parser.parse_args(argv)

    path = stack_file(args.stack) if args.stack else args.file
    name = args.stack or path.stem
    if not path.is_file():
        print(f"error: {path} not found", file=sys.stderr)
        return 2
    import pulumi

    try:
        result = synthesize(load_stack_file(path), stack=name)
    except (pulumi.RunError, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2

    print(f"# {path.name}: {len(result.resources)} resources (region {result.region})")
    print("\n".join(render_tree(result)))
    print("\nOutputs (placeholder values computed by the mocks):")
    print("\n".join(_format_outputs(result.outputs)))
    from tools.cost import estimate, render

    print()
    print("\n".join(render(estimate(result), result.region)))
    if result.warnings:
        print("\nWarnings:")
        print("\n".join(f"  {w}" for w in result.warnings))

    out = args.out or REPO_ROOT / "preview" / f"{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f"# Preview of `{path.name}`\n\nGenerated by `python -m tools.preview`; "
        "arrows point from a resource to the resources that depend on it.\n\n"
        f"```mermaid\n{render_mermaid(result)}\n```\n"
    )
    from tools.exposure_view import show_exposure

    show_exposure(result, out)  # the exposure table, and its request paths next to the graph
    print(f"\nDiagram: {out.relative_to(REPO_ROOT) if out.is_relative_to(REPO_ROOT) else out}")
    if args.check:
        return _report_check(result)
    return 0


def _report_check(result: Synth) -> int:
    findings = check(result)
    checked = sum(1 for r in result.resources if r.custom)
    if not findings:
        print(f"\nCheck: {checked} resources, no findings")
        return 0
    print(f"\nCheck: {len(findings)} finding(s) in {checked} resources", file=sys.stderr)
    for finding in findings:
        print(str(finding), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

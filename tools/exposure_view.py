"""The exposure table and request-path diagram of a synthesized stack, for ``tools.preview``.

Reads the ``exposure`` stack output (``components/exposure.py``: one row per door to a function,
with the URL or IP the mocks computed), prints it as a table, and appends to the preview's
markdown the same table and a Mermaid flowchart that reads left to right like a request:
clients (by the sources each door admits) → entry (accelerator, NLB, API, CloudFront, endpoint)
→ load balancer / API / origin → function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.synth import Synth

COLUMNS = (
    ("function", "function"),
    ("entry", "entry"),
    ("paths", "paths"),
    ("url", "URL or IP"),
    ("sources", "allowed sources"),
    ("auth", "authentication"),
)
# Shown only when some door sits behind a web ACL, so a stack without WAF reads as before.
WAF_COLUMN = ("waf", "WAF")


def columns(rows: Sequence[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    return (*COLUMNS, WAF_COLUMN) if any(r.get("waf") for r in rows) else COLUMNS


def exposure_rows(result: Synth) -> list[dict[str, Any]]:
    return list(result.outputs.get("exposure") or [])


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = "" if value is None else str(value)
    if key == "entry" and row.get("widerExposure"):
        text += " (wider: intended)"
    return text


def render_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """An aligned plain-text table (the last column runs on)."""
    shown = columns(rows)
    cells = [[_cell(r, k) for k, _ in shown] for r in rows]
    header = [title for _, title in shown]
    widths = [max(len(x) for x in column) for column in zip(header, *cells, strict=False)]

    def line(values: Sequence[str]) -> str:
        padded = [v.ljust(w) for v, w in zip(values[:-1], widths, strict=False)]
        return "  ".join([*padded, values[-1]]).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(c) for c in cells)]


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    shown = columns(rows)
    lines = [
        "| " + " | ".join(title for _, title in shown) + " |",
        "|" + "---|" * len(shown),
    ]
    for row in rows:
        lines.append("| " + " | ".join(escape(_cell(row, k)) for k, _ in shown) + " |")
    return "\n".join(lines)


def _id(*parts: str) -> str:
    return "x_" + re.sub(r"[^A-Za-z0-9]", "_", "_".join(parts))


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def render_request_paths(rows: Sequence[dict[str, Any]]) -> str:
    """Mermaid flowchart: clients → entry → load balancer / API / origin → function.

    Client nodes are the distinct source sets (signed ones marked IAM); entry nodes are shared
    by the functions behind them, except a function URL, which belongs to one function; the arrow
    into a function carries the paths, and the sources where one entry admits several sets.
    """
    lines = ["flowchart LR"]
    nodes: dict[str, str] = {}
    edges: list[str] = []

    def node(node_id: str, label: str, shape: tuple[str, str] = ("[", "]")) -> str:
        nodes.setdefault(node_id, f"  {node_id}{shape[0]}{_quote(label)}{shape[1]}")
        return node_id

    def edge(a: str, b: str, label: str = "") -> None:
        text = f"  {a} -->|{_quote(label)}| {b}" if label else f"  {a} --> {b}"
        if text not in edges:
            edges.append(text)

    # An entry node shared by doors that admit different sources: say which on each arrow.
    sources: dict[str, set[str]] = {}
    for row in rows:
        sources.setdefault(row["entry"], set()).add(str(row["sources"]))
    for row in rows:
        signed = str(row["auth"]).startswith("IAM")
        client = node(
            _id("clients", row["sources"], "iam" if signed else ""),
            f"{row['sources']}{' (IAM-signed)' if signed else ''}",
            ("([", "])"),
        )
        hops = [h.strip() for h in str(row.get("via", "")).split("→") if h.strip()]
        previous = client
        for index, hop in enumerate(hops):
            # The ALB a VPC caller reaches directly is the accelerator's own: one node.
            entry = "staticIp" if row["entry"] == "internalAlb" else row["entry"]
            owner = row["function"] if "function URL" in hop else entry
            current = node(_id(owner, hop), hop)
            auth = "" if index or not signed else "IAM"
            edge(previous, current, auth)
            previous = current
        function = node(_id("fn", row["function"]), f"λ {row['function']}", ("[[", "]]"))
        label = row["paths"]
        if len(sources[row["entry"]]) > 1:
            label = f"{label}: {row['sources']}"
        edge(previous, function, label)
    return "\n".join([*lines, *nodes.values(), *edges])


def markdown_section(rows: Sequence[dict[str, Any]]) -> str:
    return (
        "\n## Who can reach what (exposure)\n\n"
        "The `exposure` stack output: every door to every function (entries, the function URL "
        "and the Lambda Invoke API), the sources it admits and how callers authenticate.\n\n"
        f"{markdown_table(rows)}\n\n"
        "Request paths, left to right: clients → entry → load balancer / API / origin → "
        "function.\n\n"
        f"```mermaid\n{render_request_paths(rows)}\n```\n"
    )


def show_exposure(result: Synth, markdown: Path) -> None:
    """Print the exposure table and append it, with the request-path diagram, to ``markdown``."""
    rows = exposure_rows(result)
    if not rows:
        return
    print("\nExposure (who can reach each function; docs/exposure.md):")
    print("\n".join(f"  {line}" for line in render_table(rows)))
    with markdown.open("a") as out:
        out.write(markdown_section(rows))

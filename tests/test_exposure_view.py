"""tools.preview shows the exposure table and writes the request-path diagram next to the graph."""

from __future__ import annotations

import re

from tests.samples import DEV_STACK, ROOT
from tools import preview
from tools.exposure_view import render_request_paths, render_table
from tools.synth import load_stack_file, synthesize


def test_preview_of_the_dev_stack_prints_the_table_and_writes_the_request_paths(
    tmp_path, capsys
) -> None:
    out = tmp_path / "dev.md"
    assert preview.main(["--stack", "dev", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = printed.split("Exposure (who can reach each function", 1)[1]
    header = table.splitlines()[1]
    for column in ("function", "entry", "paths", "URL or IP", "allowed sources", "authentication"):
        assert column in header
    admin = [line.split() for line in table.splitlines() if line.strip().startswith("admin ")]
    assert [row[1] for row in admin] == ["ipRestrictedApi", "invokeApi"]
    assert "203.0.113.0/24" in " ".join(admin[0])
    written = out.read_text()
    # The dependency graph first, then the exposure section with its own flowchart.
    assert written.index("```mermaid") < written.index("## Who can reach what (exposure)")
    section = written.split("## Who can reach what (exposure)", 1)[1]
    assert "| admin | ipRestrictedApi | ANY /admin; ANY /admin/* |" in section
    assert "```mermaid\nflowchart LR" in section


def test_request_paths_read_clients_entry_hops_function() -> None:
    result = synthesize(load_stack_file(DEV_STACK))
    chart = render_request_paths(result.outputs["exposure"])
    labels = dict(re.findall(r"^\s+(\w+)[\[(]+\"([^\"]+)\"[\])]+$", chart, flags=re.M))
    edges = re.findall(r"^\s+(\w+) -->(?:\|\"([^\"]*)\"\|)? (\w+)$", chart, flags=re.M)
    chain = {(labels[a], labels[b]) for a, _, b in edges}
    assert ("any IPv4", "Global Accelerator") in chain
    assert ("Global Accelerator", "internal ALB") in chain
    assert ("internal ALB", "λ app") in chain
    assert ("CloudFront", "function URL (AWS_IAM)") in chain
    assert ("203.0.113.0/24", "REST API (REGIONAL)") in chain
    # The API admits two source sets: the arrows into functions say which one reaches which.
    into_admin = [label for a, label, b in edges if labels[b] == "λ admin" and "REST" in labels[a]]
    assert into_admin == ["ANY /admin; ANY /admin/*: 203.0.113.0/24"]
    # Small enough to read at a glance.
    assert len(labels) <= 16


def test_table_lines_up_columns() -> None:
    rows = [
        {
            "function": "a",
            "entry": "edge",
            "paths": "/*",
            "url": ["u1", "u2"],
            "sources": "x",
            "auth": "none",
        },
        {
            "function": "bbb",
            "entry": "staticIp",
            "paths": "/",
            "url": "u",
            "sources": "y",
            "auth": "IAM",
        },
    ]
    lines = render_table(rows)
    assert lines[2].index("edge") == lines[3].index("staticIp") == lines[0].index("entry")
    assert "u1 u2" in lines[2]


def test_the_readme_shows_the_dev_stack_table_as_the_preview_prints_it() -> None:
    from tools.exposure_view import markdown_table

    rows = synthesize(load_stack_file(DEV_STACK)).outputs["exposure"]
    page = (ROOT / "docs" / "exposure.md").read_text()
    section = page.split("## Doors", 1)[1].split("\n## ", 1)[0]
    assert markdown_table(rows) in section

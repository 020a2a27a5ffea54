"""The offline preview: prints the tree and outputs, writes a Mermaid diagram, no AWS needed."""

from __future__ import annotations

from pathlib import Path

import yaml

from tools import preview

STACK = {
    "config": {
        "aws:region": "eu-central-1",
        "lambda-exposure:functions": [
            {"name": "app", "handler": "app", "path": "/"},
            {"name": "billing", "arn": "arn:aws:lambda:eu-central-1:123456789012:function:b"},
        ],
    }
}


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "Pulumi.trial.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_preview_prints_tree_outputs_and_writes_mermaid(tmp_path, capsys) -> None:
    stack = dict(STACK)
    stack["config"] = dict(STACK["config"])
    stack["config"]["lambda-exposure:functions"][1]["path"] = "/billing"
    out = tmp_path / "diagram.md"
    assert preview.main(["--file", str(_write(tmp_path, stack)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lambda-exposure:index:ExposedFunctions functions" in printed
    assert "aws:lambda/function:Function functions-app" in printed
    assert "runtime=python3" in printed
    assert "memorySize=256 " in printed  # integers print as integers, not 256.0
    assert "functionArns" in printed
    assert "function:b" in printed  # the existing function's ARN, looked up
    diagram = out.read_text()
    assert "```mermaid" in diagram
    assert "subgraph" in diagram
    # The role and logging policy feed the function: an arrow into the function node.
    assert "--> nfunctions_app" in diagram


def test_preview_reports_config_errors_without_traceback(tmp_path, capsys) -> None:
    bad = {"config": {"aws:region": "eu-west-1", "lambda-exposure:staticIp": {"enabeld": True}}}
    assert (
        preview.main(["--file", str(_write(tmp_path, bad)), "--out", str(tmp_path / "x.md")]) == 2
    )
    err = capsys.readouterr().err
    assert "lambda-exposure:staticIp.enabeld" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.md").exists()


def test_preview_refuses_a_missing_stack(capsys) -> None:
    assert preview.main(["--stack", "no-such-stack"]) == 2
    assert "not found" in capsys.readouterr().err

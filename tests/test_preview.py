"""The offline preview: prints the tree and outputs, writes a Mermaid diagram, no AWS needed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from components import edge as edge_module
from components.config import suspicious_config_keys
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
    assert re.search(r"memorySize=256(\s|$)", printed, re.M)  # an integer, not 256.0
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


# -- stack files the program would misread: one line, exit 2 (and no preview of the defaults) ---


def _write_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.trial.yaml"
    path.write_text(text)
    return path


def _refused(tmp_path: Path, capsys, path: Path) -> list[str]:
    out = tmp_path / "x.md"
    assert preview.main(["--file", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.out == ""  # no tree of a stack nobody asked for
    assert not out.exists()
    return captured.err.splitlines()


def test_preview_refuses_a_namespace_typo(tmp_path, capsys) -> None:
    # `pulumi up` ignores lambda-exposur:staticIp and deploys the defaults without a word.
    stack = {"config": {"aws:region": "eu-west-1", "lambda-exposur:staticIp": {"enabled": True}}}
    (line,) = _refused(tmp_path, capsys, _write(tmp_path, stack))
    assert line.startswith("error: ")
    assert "lambda-exposur:staticIp: namespace 'lambda-exposur' is not 'lambda-exposure'" in line
    assert "did you mean lambda-exposure:staticIp?" in line


def test_preview_refuses_keys_without_a_namespace(tmp_path, capsys) -> None:
    stack = {"config": {"aws:region": "eu-west-1", "staticIp": {"enabled": True}, "edge": {}}}
    lines = _refused(tmp_path, capsys, _write(tmp_path, stack))
    assert len(lines) == 2  # one line per key
    assert "edge: no namespace" in lines[0]
    assert "staticIp: no namespace" in lines[1]
    assert "did you mean lambda-exposure:staticIp?" in lines[1]


def test_preview_leaves_other_namespaces_alone(tmp_path, capsys) -> None:
    stack = {"config": {"aws:region": "eu-west-1", "pulumi:tags": {"team": "edge"}}}
    out = tmp_path / "x.md"
    assert preview.main(["--file", str(_write(tmp_path, stack)), "--out", str(out)]) == 0


def test_preview_refuses_a_stack_file_without_region(tmp_path, capsys) -> None:
    stack = {"config": {"lambda-exposure:edge": {"enabled": True}}}
    (line,) = _refused(tmp_path, capsys, _write(tmp_path, stack))
    assert "aws:region: not set" in line
    assert "pulumi config set aws:region" in line


def test_preview_reports_a_yaml_syntax_error_in_one_line(tmp_path, capsys) -> None:
    path = _write_text(
        tmp_path, "config:\n  aws:region: eu-west-1\n  lambda-exposure:edge: {enabled: true\n"
    )
    (line,) = _refused(tmp_path, capsys, path)
    assert line.startswith(f"error: {path}: not valid YAML at line ")


def test_preview_refuses_an_empty_file(tmp_path, capsys) -> None:
    (line,) = _refused(tmp_path, capsys, _write_text(tmp_path, ""))
    assert "the file is empty" in line


def test_preview_refuses_a_file_without_config(tmp_path, capsys) -> None:
    (line,) = _refused(tmp_path, capsys, _write_text(tmp_path, "encryptionsalt: v1:abc\n"))
    assert "no config: block" in line
    (line,) = _refused(tmp_path, capsys, _write_text(tmp_path, "config:\n"))
    assert "config: is empty" in line


def test_the_program_warns_about_a_namespace_typo(synth) -> None:
    # Under `pulumi up` the key reaches the program, which warns instead of refusing: the
    # namespace might belong to something else.
    result = synth({"lambda-exposur:staticIp": {"enabled": True}})
    assert [w for w in result.warnings if "lambda-exposur:staticIp" in w] == [
        "lambda-exposur:staticIp: namespace 'lambda-exposur' is not 'lambda-exposure', so the "
        "program never reads it (did you mean lambda-exposure:staticIp?)"
    ]
    assert not result.of_type("lambda-exposure:index:StaticIpEntry")


def test_suspicious_keys_are_near_misses_and_bare_keys_only() -> None:
    flagged = suspicious_config_keys(
        {
            "aws:region": "eu-west-1",
            "lambda-exposure:edge": "{}",
            "lambda-exposure:config:edge": "{}",  # Pulumi's old form of the same key
            "Lambda-Exposure:edge": "{}",
            "lambda_exposure:edge": "{}",
            "lambdaexposures:edge": "{}",
            "aws-native:region": "eu-west-1",
            "pulumi:tags": "{}",
            "edge": "{}",
        }
    )
    assert [line.split(":")[0] for line in flagged] == [
        "Lambda-Exposure",
        "edge",
        "lambda_exposure",
        "lambdaexposures",
    ]


# -- --check -----------------------------------------------------------------------------------


def test_check_flag_passes_a_clean_stack(tmp_path, capsys) -> None:
    stack = {"config": {"aws:region": "eu-west-1", "lambda-exposure:edge": {"enabled": True}}}
    path = _write(tmp_path, stack)
    assert preview.main(["--file", str(path), "--out", str(tmp_path / "x.md"), "--check"]) == 0
    assert re.search(r"\nCheck: \d+ resources, no findings\n", capsys.readouterr().out)


def test_check_flag_fails_on_a_misspelled_nested_key(tmp_path, capsys, monkeypatch) -> None:
    original = edge_module.EdgeProtectedUrl._function_origin

    def misspelled(self, *args, **kwargs):
        origin = dict(original(self, *args, **kwargs))
        origin["origin_idd"] = origin.pop("origin_id")
        return origin

    monkeypatch.setattr(edge_module.EdgeProtectedUrl, "_function_origin", misspelled)
    stack = {"config": {"aws:region": "eu-west-1", "lambda-exposure:edge": {"enabled": True}}}
    path = _write(tmp_path, stack)
    # Without --check the mocks accept it; only the provider would refuse it.
    assert preview.main(["--file", str(path), "--out", str(tmp_path / "x.md")]) == 0
    capsys.readouterr()
    assert preview.main(["--file", str(path), "--out", str(tmp_path / "x.md"), "--check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert re.fullmatch(r"Check: 1 finding\(s\) in \d+ resources", err[0])
    assert len(err) == 2
    assert err[1].startswith(
        "aws:cloudfront/distribution:Distribution edge-cdn: origins[0].origin_idd: "
        "not an input of DistributionOriginArgs (did you mean 'originId', which is required?)"
    )


# -- the terminal view: wrapped at 120 columns, with the stack's fixed monthly cost ------------


def test_tree_lines_wrap_at_120_columns_between_inputs(tmp_path, capsys) -> None:
    stack = yaml.safe_load((Path(__file__).parents[1] / "Pulumi.dev.yaml").read_text())
    assert (
        preview.main(["--file", str(_write(tmp_path, stack)), "--out", str(tmp_path / "d.md")]) == 0
    )
    printed = capsys.readouterr().out
    tree = printed.split("\nOutputs")[0].splitlines()[1:]
    assert tree, "the preview printed no resource tree"
    assert max(len(line) for line in tree) <= preview.TREE_WIDTH
    continuation = [
        line
        for line in tree
        if not line.lstrip().startswith(("aws:", "lambda-exposure:", "pulumi:", "random:"))
    ]
    # The dev stack has resources with more inputs than fit: they continue on deeper lines.
    assert continuation, "no tree line was wrapped"
    for line in continuation:
        assert re.fullmatch(r" {4,}\S.*", line), line  # indented under its resource, not flush left
        assert re.match(r" +[A-Za-z]+=|\s+\(\+\d+ more\)|\s+\[", line), line  # starts at an input


def test_wrap_line_never_cuts_an_input_and_keeps_order() -> None:
    items = [f"key{i}={'v' * 30}" for i in range(8)]
    lines = preview.wrap_line("  aws:x/y:Y name", items, "  ", width=80)
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("  aws:x/y:Y name")
    rejoined = [part for line in lines for part in line.strip().split("  ")][1:]
    assert rejoined == items
    # An input longer than the width gets a line of its own rather than being cut.
    long_item = "policy=" + "p" * 100
    lines = preview.wrap_line("  aws:x/y:Y name", ["a=1", long_item, "b=2"], "  ", width=80)
    assert f"      {long_item}" in lines
    assert lines[-1].strip() == "b=2"


def test_preview_prints_the_fixed_monthly_cost_of_the_stack(tmp_path, capsys) -> None:
    stack = yaml.safe_load((Path(__file__).parents[1] / "Pulumi.dev.yaml").read_text())
    assert (
        preview.main(["--file", str(_write(tmp_path, stack)), "--out", str(tmp_path / "d.md")]) == 0
    )
    printed = capsys.readouterr().out
    assert "Fixed monthly cost before traffic" in printed
    # The dev stack has an accelerator and its ALB: both are priced, and a total follows.
    assert re.search(r"Global Accelerator +1 ", printed)
    assert re.search(r"Application Load Balancer +\d+ ", printed)
    total = re.search(r"  total +\$([\d,]+\.\d\d)", printed)
    assert total and float(total.group(1).replace(",", "")) > 0


def test_long_outputs_print_as_indented_json_and_exposure_as_a_count() -> None:
    outputs = {
        "short": "x",
        "long": {
            f"function-{i}": "arn:aws:lambda:eu-west-1:123456789012:function:f" for i in range(4)
        },
        "exposure": [{"function": "app"}, {"function": "admin"}],
    }
    lines = list(preview._format_outputs(outputs))
    assert '  short: "x"' in lines
    assert "  long:" in lines
    assert all(len(line) <= preview.TREE_WIDTH for line in lines)
    assert "  exposure: 2 rows (the exposure table below)" in lines

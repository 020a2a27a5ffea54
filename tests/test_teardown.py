"""``python -m tools.teardown``: the steps it prints really get a protected stack destroyed.

The toggles it prints are applied to the stack's config and the program synthesized again: no
resource may stay protected. The unprotect lines are run through a shell against a stand-in
``pulumi`` that records its arguments, so the URNs survive quoting (they hold ``$``), and they
must name every protected resource by the URN the Pulumi engine stores.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import teardown
from tools.synth import REPO_ROOT, load_stack_file, synthesize

EXAMPLES = REPO_ROOT / "examples"
URN = re.compile(
    r"urn:pulumi:(?P<stack>[^:]+)::lambda-exposure::(?P<types>[^:]+(?::[^:]+)*)::(?P<name>[a-z0-9-]+)"
)
SET = re.compile(r"^  pulumi config set --path (\S+) false -s (\S+)$")
UNPROTECT = re.compile(r"^  pulumi state unprotect '([^']+)' -s (\S+) --yes$")
SHIPPED_PROTECTED = [
    (REPO_ROOT / "Pulumi.dev.yaml", "dev"),
    (EXAMPLES / "static-ip-global-accelerator.yaml", "prod"),
    (EXAMPLES / "static-ip-nlb.yaml", "prod"),
    (EXAMPLES / "static-egress.yaml", "egress"),
    (EXAMPLES / "expose-per-function.yaml", "partners"),
]


def steps(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert teardown.main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


def toggles(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := SET.match(line))]


def unprotected(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := UNPROTECT.match(line))]


def _apply(config: dict[str, Any], path: str) -> None:
    """What ``pulumi config set --path <pattern>.<option> false`` writes into the stack file."""
    pattern, option = path.split(".")
    config[f"lambda-exposure:{pattern}"][option] = False


def _protected(config: dict[str, Any], stack: str) -> list[str]:
    return [r.name for r in synthesize(config, stack=stack).resources if r.protect]


def _stack_file(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


# --------------------------------------------------------------------------------------------
# the dev stack, exactly
# --------------------------------------------------------------------------------------------


def test_the_dev_stack_steps(capsys) -> None:
    lines = steps(capsys, "--stack", "dev")
    accelerator = (
        "urn:pulumi:dev::lambda-exposure::lambda-exposure:index:StaticIpEntry"
        "$aws:globalaccelerator/accelerator:Accelerator::static-ip-accelerator"
    )
    way1 = lines.index(
        "Way 1: lift protect in the config (edits the stack file; the flag is all that changes):"
    )
    assert lines[way1 + 1] == "  pulumi config set --path staticIp.protectStaticIps false -s dev"
    assert "  pulumi up -s dev" in lines[way1 + 3]
    assert lines[way1 + 4] == "  pulumi destroy -s dev"
    way2 = next(
        i for i, line in enumerate(lines) if line.startswith("Way 2: unprotect in the state")
    )
    assert lines[way2 + 1 : way2 + 3] == [
        f"  pulumi state unprotect '{accelerator}' -s dev --yes",
        "  pulumi destroy -s dev",
    ]
    warning = " ".join(lines)
    assert "released for good" in warning
    assert "third-party allow-list that names them goes stale" in warning
    assert not any("Lambda@Edge" in line for line in lines)


# --------------------------------------------------------------------------------------------
# every shipped config with protected addresses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "stack"), SHIPPED_PROTECTED, ids=lambda v: getattr(v, "stem", v))
def test_the_printed_toggles_lift_every_protect(capsys, path: Path, stack: str) -> None:
    config = load_stack_file(path)
    assert _protected(config, stack), "this config is here because it protects something"
    lines = steps(capsys, "--stack", stack, "--file", str(path))
    printed = toggles(lines)
    assert printed
    for toggle in printed:
        _apply(config, toggle)
    assert _protected(config, stack) == []
    # In that order: the toggles, the up that records them, then the destroy.
    up = next(i for i, line in enumerate(lines) if line.startswith(f"  pulumi up -s {stack} "))
    assert max(i for i, line in enumerate(lines) if SET.match(line)) < up
    assert lines[up + 1] == f"  pulumi destroy -s {stack}"


@pytest.mark.parametrize(("path", "stack"), SHIPPED_PROTECTED, ids=lambda v: getattr(v, "stem", v))
def test_the_unprotect_lines_name_every_protected_resource_by_its_urn(
    capsys, path: Path, stack: str
) -> None:
    result = synthesize(load_stack_file(path), stack=stack)
    lines = steps(capsys, "--stack", stack, "--file", str(path))
    urns = unprotected(lines)
    protected = [r for r in result.resources if r.protect]
    assert len(urns) == len(protected) == len(set(urns))
    by_name = {URN.fullmatch(u).group("name"): u for u in urns}  # type: ignore[union-attr]
    for resource in protected:
        urn = by_name[resource.name]
        match = URN.fullmatch(urn)
        assert match is not None and match.group("stack") == stack
        # Every protected resource is a child of a top-level component, where the engine's
        # URN and the mock monitor's agree.
        assert urn == resource.urn


def test_the_unprotect_lines_survive_the_shell(capsys, tmp_path, monkeypatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{tmp_path}/calls"\necho --- >> "{tmp_path}/calls"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    lines = steps(capsys, "--stack", "prod", "--file", str(EXAMPLES / "static-ip-nlb.yaml"))
    commands = [line.strip() for line in lines if UNPROTECT.match(line)]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        subprocess.run(["sh", "-c", command], check=True, env=env, timeout=30)
    calls: list[list[str]] = []
    current: list[str] = []
    for line in (tmp_path / "calls").read_text().splitlines():
        if line == "---":
            calls.append(current)
            current = []
        else:
            current.append(line)
    assert [c[:2] for c in calls] == [["state", "unprotect"]] * 2
    assert [c[2] for c in calls] == unprotected(lines)
    assert all(c[3:] == ["-s", "prod", "--yes"] for c in calls)
    assert all("$aws:ec2/eip:Eip::static-ip-eip-" in c[2] for c in calls)


def test_both_patterns_with_protected_addresses_get_both_toggles(capsys, tmp_path) -> None:
    config = {
        "aws:region": "eu-west-1",
        "lambda-exposure:staticIp": {"enabled": True, "entry": "nlb"},
        "lambda-exposure:staticEgress": {"enabled": True, "natPerAz": True},
    }
    lines = steps(capsys, "--stack", "test", "--file", str(_stack_file(tmp_path, config)))
    assert toggles(lines) == ["staticIp.protectStaticIps", "staticEgress.protectEgressIps"]
    names = sorted(URN.fullmatch(u).group("name") for u in unprotected(lines))  # type: ignore[union-attr]
    assert names == [
        "static-egress-ip-0",
        "static-egress-ip-1",
        "static-ip-eip-0",
        "static-ip-eip-1",
    ]
    # Each toggle says what it unprotects.
    start = lines.index("  pulumi config set --path staticEgress.protectEgressIps false -s test")
    assert lines[start + 1 : start + 3] == [
        "      # unprotects static-egress-ip-0",
        "      # unprotects static-egress-ip-1",
    ]


def test_addresses_already_unprotected_need_no_step(capsys, tmp_path) -> None:
    config = {
        "aws:region": "eu-west-1",
        "lambda-exposure:staticIp": {"enabled": True, "protectStaticIps": False},
    }
    lines = steps(capsys, "--stack", "test", "--file", str(_stack_file(tmp_path, config)))
    assert toggles(lines) == [] and unprotected(lines) == []
    assert lines[2:4] == ["Nothing is protected:", "  pulumi destroy -s test"]


# --------------------------------------------------------------------------------------------
# Lambda@Edge
# --------------------------------------------------------------------------------------------

SIGNER = (
    "lambda-exposure:index:EdgeProtectedUrl$lambda-exposure:index:EdgeSignerFunction"
    "$aws:lambda/function:Function::edge-signer-function"
)


def test_lambda_edge_stack_gets_the_replica_wait_and_the_later_delete(capsys) -> None:
    lines = steps(capsys, "--stack", "edge", "--file", str(EXAMPLES / "edge-lambda-edge.yaml"))
    text = "\n".join(lines)
    assert "Nothing is protected:\n  pulumi destroy -s edge" in text
    assert "deletes those replicas only hours after the distribution is gone" in text
    assert "(edge.retainEdgeFunction: true)" in text
    assert "  aws lambda delete-function --region us-east-1 --function-name <name>" in lines
    assert f"urn:pulumi:edge::lambda-exposure::{SIGNER}" in text


def test_the_signer_urn_is_the_engines_not_the_mocks() -> None:
    # The signer is a grandchild (EdgeProtectedUrl > EdgeSignerFunction > Function): the
    # engine qualifies its type with both ancestors, the Python mock monitor with the last one.
    result = synthesize(load_stack_file(EXAMPLES / "edge-lambda-edge.yaml"), stack="edge")
    signer = next(r for r in result.resources if r.retain_on_delete)
    assert (
        teardown.engine_urn(signer, result, "edge") == f"urn:pulumi:edge::lambda-exposure::{SIGNER}"
    )
    assert signer.urn != teardown.engine_urn(signer, result, "edge")
    component = next(
        r for r in result.resources if r.type == "lambda-exposure:index:EdgeProtectedUrl"
    )
    # A top-level component's URN carries no root stack type in the engine's state.
    assert teardown.engine_urn(component, result, "edge") == (
        "urn:pulumi:edge::lambda-exposure::lambda-exposure:index:EdgeProtectedUrl::edge"
    )


def test_the_printed_lookup_finds_the_signers_name_in_a_stack_export(capsys, tmp_path) -> None:
    lines = steps(capsys, "--stack", "edge", "--file", str(EXAMPLES / "edge-lambda-edge.yaml"))
    [command] = [line.strip() for line in lines if line.strip().startswith("pulumi stack export")]
    prefix = "pulumi stack export -s edge | "
    assert command.startswith(prefix)
    export = {
        "version": 3,
        "deployment": {
            "resources": [
                {"urn": "urn:pulumi:edge::lambda-exposure::pulumi:pulumi:Stack::edge"},
                {
                    "urn": f"urn:pulumi:edge::lambda-exposure::{SIGNER}",
                    "id": "edge-signer-function-4f1c2d9",
                },
            ]
        },
    }
    state = tmp_path / "state.json"
    state.write_text(json.dumps(export))
    done = subprocess.run(
        ["sh", "-c", f"cat {shlex.quote(str(state))} | {command[len(prefix) :]}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert done.stdout.strip() == "edge-signer-function-4f1c2d9"


def test_an_unretained_signer_means_destroy_again_later(capsys, tmp_path) -> None:
    config = {
        "aws:region": "eu-west-1",
        "lambda-exposure:edge": {
            "enabled": True,
            "signing": "lambda-edge",
            "retainEdgeFunction": False,
        },
    }
    lines = steps(capsys, "--stack", "test", "--file", str(_stack_file(tmp_path, config)))
    text = "\n".join(lines)
    assert "0 retained" in lines[0]
    assert "run pulumi destroy -s test again every 30 minutes or so" in text
    assert "retainEdgeFunction: true" not in text


def test_an_oac_stack_has_no_lambda_edge_step(capsys) -> None:
    lines = steps(capsys, "--stack", "web", "--file", str(EXAMPLES / "edge-oac.yaml"))
    assert lines[2:4] == ["Nothing is protected:", "  pulumi destroy -s web"]
    assert not any("Lambda@Edge" in line for line in lines)


# --------------------------------------------------------------------------------------------
# bad usage
# --------------------------------------------------------------------------------------------


def test_bad_usage_exits_2_with_one_line_each(capsys, tmp_path) -> None:
    assert teardown.main(["--stack", "nosuchstack"]) == 2
    assert capsys.readouterr().err.strip().endswith("Pulumi.nosuchstack.yaml not found")
    assert teardown.main(["--stack", "dev; rm -rf /"]) == 2
    assert "is not a stack name" in capsys.readouterr().err
    bad = _stack_file(
        tmp_path,
        {
            "aws:region": "eu-west-1",
            "lambda-exposure:staticIp": {"enabled": True, "allowedCidrs": ["10.0.0.300/8"]},
        },
    )
    assert teardown.main(["--stack", "test", "--file", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("lambda-exposure:staticIp.allowedCidrs[0]" in line for line in err), err

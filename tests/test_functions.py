"""Exposed functions: bundled handlers are created least-privilege; existing ones only looked up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graph import (
    FUNCTION,
    FUNCTIONS_COMPONENT,
    GET_FUNCTION,
    LOG_GROUP,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    policy_of,
)

EXISTING = "arn:aws:lambda:eu-west-1:123456789012:function:billing-api"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def test_default_bundled_function(synth) -> None:
    result = synth({})
    fn = result.one(FUNCTION)
    major, minor = fn.inputs["runtime"].removeprefix("python").split(".")
    assert (int(major), int(minor)) >= (3, 12)
    assert fn.inputs["handler"] == "app.handler"
    assert fn.inputs.get("environment") is None
    assert "vpcConfig" not in fn.inputs
    assert result.outputs["functionArns"] == {"app": fn.outputs["arn"]}


def test_bundled_zip_holds_only_its_module(synth) -> None:
    fn = synth({}).one(FUNCTION)
    assets = fn.inputs["code"].assets
    assert list(assets) == ["app.py"]
    assert Path(assets["app.py"].path).resolve() == (
        Path(__file__).resolve().parent.parent / "handlers" / "app.py"
    )


def test_role_is_trusted_by_lambda_and_may_only_write_its_own_logs(synth) -> None:
    result = synth({})
    role = result.one(ROLE)
    trust = policy_of(role.inputs, "assumeRolePolicy")
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert [s["Action"] for s in trust["Statement"]] == ["sts:AssumeRole"]
    # Only inline, scoped policies: no managed policy attachments (AWSLambdaBasicExecutionRole
    # would grant logs:CreateLogGroup on every log group).
    assert result.of_type(ROLE_POLICY_ATTACHMENT) == []
    log_group = result.one(LOG_GROUP)
    policy = policy_of(result.one(ROLE_POLICY).inputs)
    (statement,) = policy["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    arn = log_group.outputs["arn"]
    assert statement["Resource"] == [arn, f"{arn}:*"]


def test_log_group_has_retention_and_receives_the_logs(synth) -> None:
    result = synth({"functions": [{"name": "app", "handler": "app", "logRetentionDays": 30}]})
    log_group = result.one(LOG_GROUP)
    fn = result.one(FUNCTION)
    assert log_group.inputs["retentionInDays"] == 30
    assert fn.inputs["loggingConfig"]["logGroup"] == log_group.outputs["name"]
    # The function waits for its logging grant, so the first invocation can write logs.
    policy = result.one(ROLE_POLICY)
    assert result.depends_on(fn, policy)


def test_function_settings_come_from_config(synth) -> None:
    fn = synth(
        {"functions": [{"name": "app", "handler": "app", "memorySize": 512, "timeout": 20}]}
    ).one(FUNCTION)
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (512, 20)


def test_existing_function_is_looked_up_not_created(synth) -> None:
    result = synth({"functions": [{"name": "billing", "arn": EXISTING}]})
    assert result.of_type(FUNCTION) == []
    assert result.of_type(ROLE) == []
    lookups = [args for token, args in result.calls if token == GET_FUNCTION]
    # Looked up in the region its ARN names (here the stack's; tests/test_regions.py: another).
    assert lookups == [{"functionName": EXISTING, "region": EXISTING.split(":")[3]}]
    assert result.outputs["functionArns"] == {"billing": EXISTING}


def test_bundled_and_existing_side_by_side(synth) -> None:
    result = synth(
        {
            "functions": [
                {"name": "app", "handler": "app"},
                {"name": "billing", "arn": EXISTING, "path": "/billing"},
            ]
        }
    )
    created = result.of_type(FUNCTION)
    assert [f.name for f in created] == ["functions-app"]
    assert set(result.outputs["functionArns"]) == {"app", "billing"}
    assert result.outputs["functionArns"]["billing"] == EXISTING


def test_children_are_parented_to_the_component(synth) -> None:
    result = synth(
        {
            "functions": [
                {"name": "a", "handler": "app"},
                {"name": "b", "handler": "app", "path": "/b"},
            ]
        }
    )
    component = result.one(FUNCTIONS_COMPONENT)
    children = result.children_of(component)
    assert {c.type for c in children} >= {FUNCTION, ROLE}
    assert all(c.name.startswith(f"{component.name}-") for c in children)
    # Every resource of the program hangs under a component, not the stack.
    assert all(r.parent != "" for r in result.resources)
    assert component.urn in result.component_outputs


def test_each_bundled_function_has_its_own_role(synth) -> None:
    result = synth(
        {
            "functions": [
                {"name": "a", "handler": "app"},
                {"name": "b", "handler": "app", "path": "/b"},
            ]
        }
    )
    roles = {r.outputs["arn"] for r in result.of_type(ROLE)}
    fns = result.of_type(FUNCTION)
    assert len(roles) == 2
    assert {f.inputs["role"] for f in fns} == roles

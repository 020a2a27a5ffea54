"""The seam to the Pulumi SDK's internals (tools/pulumi_seam.py) still holds.

Fails loudly, naming the internal, when a pulumi upgrade removes or reshapes one of them, and
checks on a program of two resources that every field the harness records still arrives: a
renamed request field would otherwise read as an empty value and weaken every graph test.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tools import pulumi_seam
from tools.pulumi_seam import ProgramFailed, run_program, warning_logger
from tools.synth import REPO_ROOT

PIN = re.compile(r"^pulumi==(\S+)$", re.MULTILINE)

THINGS = """
import pulumi


class Thing(pulumi.CustomResource):
    def __init__(self, name, props, opts=None):
        super().__init__("test:index:Thing", name, props, opts)


box = pulumi.ComponentResource("test:index:Box", "box")
"""

EVERY_OPTION = (
    THINGS
    + """
first = Thing("first", {"size": 1}, pulumi.ResourceOptions(parent=box))
second = Thing(
    "second",
    {"size": first.id, "tags": {"a": "b"}},
    pulumi.ResourceOptions(
        parent=box,
        protect=True,
        retain_on_delete=True,
        delete_before_replace=True,
        ignore_changes=["tags"],
        aliases=[pulumi.Alias(name="old-second")],
        depends_on=[first],
    ),
)
box.register_outputs({"first": first.id})
pulumi.log.warn("a warning")
pulumi.export("second", second.id)
pulumi.export("nested", {"ids": [first.id, second.id]})
"""
)

FAILS_IN_AN_APPLY = (
    THINGS
    + """
def refuse(value):
    raise pulumi.RunError("refused inside an apply")


kept = Thing("kept", {"size": 1}, pulumi.ResourceOptions(parent=box))
# Refused once kept's id is known: kept (and its parent) have reached the engine by then.
Thing("withheld", {"size": kept.id.apply(refuse)})
"""
)


class Answers(pulumi.runtime.Mocks):
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[Any]]:
        return {}, []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        return f"{args.name}-id", {**args.inputs, "answered": True}


def run(tmp_path: Path, source: str, **kwargs: Any) -> pulumi_seam.ProgramRun:
    program = tmp_path / "program.py"
    program.write_text(source)
    logger, _ = warning_logger()
    return run_program(
        program,
        project="seam",
        stack="test",
        config={"seam:key": "value"},
        mocks=Answers(),
        logger=kwargs.pop("logger", logger),
        **kwargs,
    )


def test_every_relied_on_internal_is_still_there() -> None:
    missing = pulumi_seam.missing_internals()
    assert missing == [], (
        "the Pulumi SDK changed under tools/pulumi_seam.py; see its docstring:\n  "
        + "\n  ".join(missing)
    )


def test_the_seam_was_written_against_the_pinned_and_installed_pulumi() -> None:
    (pinned,) = PIN.findall((REPO_ROOT / "requirements.txt").read_text())
    assert pinned == pulumi_seam.WRITTEN_AGAINST, (
        f"requirements.txt pins pulumi {pinned}; tools/pulumi_seam.py was written against "
        f"{pulumi_seam.WRITTEN_AGAINST}: review its list of internals, then update WRITTEN_AGAINST"
    )
    assert metadata.version("pulumi") == pinned, "install requirements-dev.txt"


def test_a_run_records_every_field_of_every_registration(tmp_path: Path) -> None:
    logger, warnings = warning_logger()
    result = run(tmp_path, EVERY_OPTION, logger=logger)
    assert [(r.type, r.name) for r in result.registrations] == [
        ("test:index:Box", "box"),
        ("test:index:Thing", "first"),
        ("test:index:Thing", "second"),
    ]
    box, first, second = result.registrations
    assert not box.custom and first.custom and second.custom
    assert first.parent == second.parent == box.urn
    assert second.urn.endswith("::seam::test:index:Box$test:index:Thing::second")
    assert second.inputs == {"size": "first-id", "tags": {"a": "b"}}
    assert second.dependencies == [first.urn]
    assert (second.protect, second.retain_on_delete, second.delete_before_replace) == (
        True,
        True,
        True,
    )
    assert not (first.protect or first.retain_on_delete or first.delete_before_replace)
    assert second.ignore_changes == ["tags"]
    assert second.aliases == ["name=old-second"]
    assert result.states[second.urn]["answered"] is True
    assert result.component_outputs[box.urn] == {"first": "first-id"}
    assert result.exports == {"second": "second-id", "nested": {"ids": ["first-id", "second-id"]}}
    assert warnings == ["a warning"]


def test_the_hook_renames_and_reparents_before_the_sdk_sees_the_resource(tmp_path: Path) -> None:
    def hook(t: str, name: str, custom: bool, opts: Any) -> tuple[str, Any]:
        if name != "first":
            return name, opts
        moved = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions())
        moved.parent = None  # merge keeps the old parent: None there means "not given"
        return "renamed", moved

    result = run(tmp_path, EVERY_OPTION, hook=hook)
    renamed = next(r for r in result.registrations if r.name == "renamed")
    assert renamed.urn.endswith("::pulumi:pulumi:Stack$test:index:Thing::renamed")
    assert [r.name for r in result.registrations] == ["box", "renamed", "second"]


def test_a_failure_says_what_was_constructed_and_what_reached_the_engine(tmp_path: Path) -> None:
    with pytest.raises(ProgramFailed, match="refused inside an apply") as caught:
        run(tmp_path, FAILS_IN_AN_APPLY)
    failure = caught.value
    assert isinstance(failure, pulumi.RunError)
    assert failure.constructed == [
        "test:index:Box::box",
        "test:index:Thing::kept",
        "test:index:Thing::withheld",
    ]
    assert sorted(failure.registered) == ["test:index:Box::box", "test:index:Thing::kept"]
    assert failure.registered_types() == {"test:index:Box", "test:index:Thing"}


def test_a_run_after_a_failed_one_is_isolated_from_it(tmp_path: Path) -> None:
    # The failed run leaves output tasks of its own event loop behind; the next run must neither
    # wait on them nor see its resources or its config.
    with pytest.raises(ProgramFailed):
        run(tmp_path, FAILS_IN_AN_APPLY)
    source = EVERY_OPTION + "\npulumi.export('key', pulumi.Config('seam').get('key'))\n"
    result = run(tmp_path, source)
    assert [r.name for r in result.registrations] == ["box", "first", "second"]
    assert result.exports["key"] == "value"

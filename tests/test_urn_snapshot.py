"""URNs are an interface: no resource of a shipped config changes its logical name, parent or
protection without the snapshot in tests/snapshots/urns/ changing in the same commit.

A changed URN means Pulumi deletes and recreates the resource on the next `pulumi up` (for the
protected static IPs: the client's allow-list goes stale). Update deliberately with
``python -m tools.urn_snapshot`` and give a renamed resource ``aliases``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tests.samples import EXAMPLES, SHIPPED
from tools import urn_snapshot
from tools.synth import load_stack_file, synthesize

STATIC_IP = EXAMPLES / "static-ip-nlb.yaml"


@pytest.mark.parametrize("config_file", SHIPPED, ids=lambda p: p.name)
def test_urns_match_the_checked_in_snapshot(config_file: Path) -> None:
    path = urn_snapshot.snapshot_path(config_file)
    assert path.is_file(), (
        f"no URN snapshot for {config_file.name}: run python -m tools.urn_snapshot"
    )
    expected = json.loads(path.read_text())
    differences = urn_snapshot.diff(expected, urn_snapshot.take(config_file))
    assert differences == [], (
        f"{config_file.name}: resources would be replaced or re-flagged on the next `pulumi up`:\n"
        + "\n".join(differences)
        + "\nIf deliberate: add aliases for renames, then run python -m tools.urn_snapshot"
    )


def test_every_snapshot_belongs_to_a_shipped_config() -> None:
    known = {urn_snapshot.snapshot_path(f) for f in SHIPPED}
    assert set(urn_snapshot.SNAPSHOT_DIR.glob("*.json")) == known


def _synth_with(change: Any) -> list[dict[str, Any]]:
    """Synthesize the NLB example with ``change(type, name, opts) -> (name, opts)`` applied to
    every custom resource's construction: a stand-in for a refactor that renames or re-parents."""

    def hook(t: str, name: str, custom: bool, opts: Any) -> tuple[str, Any]:
        return change(t, name, opts) if custom else (name, opts)

    result = synthesize(load_stack_file(STATIC_IP), stack="snapshot", hook=hook)
    return urn_snapshot.entries(result)


def _expected() -> list[dict[str, Any]]:
    return json.loads(urn_snapshot.snapshot_path(STATIC_IP).read_text())


def test_a_renamed_child_is_reported_as_a_replacement() -> None:
    def rename(t: str, name: str, opts: Any) -> tuple[str, Any]:
        return ("static-ip-elastic-0" if name == "static-ip-eip-0" else name), opts

    lines = urn_snapshot.diff(_expected(), _synth_with(rename))
    assert any(
        line.startswith("- removed") and line.endswith("::static-ip-eip-0") for line in lines
    )
    assert any(
        line.startswith("+ added") and line.endswith("::static-ip-elastic-0") for line in lines
    )


def test_a_reparented_child_is_reported_as_a_replacement() -> None:
    def reparent(t: str, name: str, opts: Any) -> tuple[str, Any]:
        if name == "static-ip-eip-1":
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=None))
            opts.parent = None
        return name, opts

    lines = urn_snapshot.diff(_expected(), _synth_with(reparent))
    assert any(
        "removed" in line and "StaticIpEntry$aws:ec2/eip:Eip::static-ip-eip-1" in line
        for line in lines
    )
    assert any(
        "added" in line and "Stack$aws:ec2/eip:Eip::static-ip-eip-1" in line for line in lines
    )


def test_a_dropped_protect_flag_is_reported() -> None:
    def unprotect(t: str, name: str, opts: Any) -> tuple[str, Any]:
        if name == "static-ip-eip-0":
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=False))
        return name, opts

    lines = urn_snapshot.diff(_expected(), _synth_with(unprotect))
    assert len(lines) == 1 and lines[0].startswith("~ changed") and "static-ip-eip-0" in lines[0]


def test_an_alias_is_recorded_with_the_new_name() -> None:
    # The way a deliberate rename keeps its resource: the new name carries the old one as alias.
    def rename_with_alias(t: str, name: str, opts: Any) -> tuple[str, Any]:
        if name == "static-ip-eip-0":
            alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(name="static-ip-eip-0")])
            return "static-ip-elastic-0", pulumi.ResourceOptions.merge(opts, alias)
        return name, opts

    rows = {row["urn"].split("::")[-1]: row for row in _synth_with(rename_with_alias)}
    assert rows["static-ip-elastic-0"]["aliases"] == ["name=static-ip-eip-0"]
    assert rows["static-ip-elastic-0"]["protect"] is True

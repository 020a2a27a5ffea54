"""URN snapshots: the identity of every resource a config deploys, checked in and compared.

A resource whose logical name or parent chain changes gets a new URN, and Pulumi *replaces* it on
the next ``pulumi up`` (delete + create): for the protected static IPs, a client's allow-list
goes stale. ``tests/test_urn_snapshot.py`` compares every example and stack file against its
snapshot in ``tests/snapshots/urns/``; a deliberate change updates the snapshot in the same
commit, and a rename comes with ``aliases`` (the snapshot records them too)::

    python -m tools.urn_snapshot            # rewrite every snapshot (review the diff!)
    python -m tools.urn_snapshot --check    # exit 1 and list the differences
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools.synth import REPO_ROOT, Synth, iter_config_files, load_stack_file, synthesize

SNAPSHOT_DIR = REPO_ROOT / "tests" / "snapshots" / "urns"


def config_files() -> list[Path]:
    """Every config the project ships: the stack files and the examples."""
    return [*sorted(REPO_ROOT.glob("Pulumi.*.yaml")), *iter_config_files(REPO_ROOT / "examples")]


def snapshot_path(config_file: Path) -> Path:
    prefix = "stack" if config_file.name.startswith("Pulumi.") else "example"
    return SNAPSHOT_DIR / f"{prefix}-{config_file.stem.removeprefix('Pulumi.')}.json"


def entries(result: Synth) -> list[dict[str, Any]]:
    """One entry per resource, sorted by URN: what decides whether `pulumi up` replaces it."""
    rows = []
    for r in result.resources:
        row: dict[str, Any] = {"urn": r.urn, "parent": r.parent}
        for flag in ("protect", "retain_on_delete", "delete_before_replace"):
            if getattr(r, flag):
                row[flag] = True
        if r.aliases:
            row["aliases"] = sorted(r.aliases)
        rows.append(row)
    return sorted(rows, key=lambda row: row["urn"])


def take(config_file: Path) -> list[dict[str, Any]]:
    # The stack name is part of every URN; a fixed one keeps snapshots comparable.
    return entries(synthesize(load_stack_file(config_file), stack="snapshot"))


def render(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=1, sort_keys=True) + "\n"


def diff(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    """Human-readable differences, one line each (added, removed, changed flags)."""
    before = {row["urn"]: row for row in expected}
    after = {row["urn"]: row for row in actual}
    lines = [f"- removed (would be deleted): {urn}" for urn in sorted(before.keys() - after)]
    lines += [f"+ added (would be created): {urn}" for urn in sorted(after.keys() - before)]
    for urn in sorted(before.keys() & after):
        if before[urn] != after[urn]:
            lines.append(f"~ changed: {urn}: {before[urn]} -> {after[urn]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.urn_snapshot", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    args = parser.parse_args(argv)
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    changed = 0
    for config_file in config_files():
        path = snapshot_path(config_file)
        rows = take(config_file)
        old = json.loads(path.read_text()) if path.is_file() else []
        lines = diff(old, rows) if path.is_file() else [f"new snapshot, {len(rows)} resources"]
        if lines:
            changed += 1
            print(f"{config_file.name} ({path.relative_to(REPO_ROOT)}):")
            print("\n".join(f"  {line}" for line in lines))
        if not args.check:
            path.write_text(render(rows))
    known = {snapshot_path(f) for f in config_files()}
    for stale in sorted(set(SNAPSHOT_DIR.glob("*.json")) - known):
        print(f"{stale.relative_to(REPO_ROOT)}: no config file any more")
        changed += 1
        if not args.check:
            stale.unlink()
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())

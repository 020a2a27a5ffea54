"""Synthesis benchmark: the program's own overhead next to the cost of registering resources.

    python -m bench.synth

For 1, 10 and 50 functions with every pattern turned on, times a full run of ``__main__.py``
under the mocks next to two floors run on the same mocks and runtime:

- *bare*: the same number of resources, each with one input and no program logic (the floor
  the issue names; it omits the cost of serializing real inputs, so its ratio overstates the
  program's own overhead);
- *replay*: the very resources the program registered (same types, names and inputs), replayed
  from a list with no program logic: what is left between it and the program is the program.

Prints each, the ratios (goal: at most 1.5) and the time per resource, so a non-linear
component shows up as a growing per-resource time.
"""

from __future__ import annotations

import functools
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.synth import Synth, synthesize

RUNS = 5

FLOOR_PROGRAM = """
import pulumi

class Bare(pulumi.CustomResource):
    def __init__(self, name):
        super().__init__("bench:index:Bare", name, {{"value": name}})

for i in range({count}):
    Bare(f"r{{i}}")
"""

REPLAY_PROGRAM = """
import pickle
import pulumi

with open({path!r}, "rb") as handle:
    recorded = pickle.load(handle)
for index, (type_, name, inputs) in enumerate(recorded):
    pulumi.CustomResource(type_, f"{{name}}-{{index}}", inputs)
"""


def _replayable(value: Any) -> Any:
    """Inputs as plain data (assets become their path) so they can be pickled and replayed."""
    if isinstance(value, dict):
        return {k: _replayable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replayable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def all_patterns(functions: int) -> dict[str, Any]:
    """Every pattern on, over ``functions`` bundled functions at distinct paths."""
    return {
        "functions": [
            {
                "name": "app" if i == 0 else f"fn{i}",
                "handler": "app",
                "path": "/" if i == 0 else f"/fn{i}",
                # edge is open to everyone while the other entries allow one range: intended
                # here (the consistency rule would refuse it otherwise), as in a real stack.
                "widerExposure": ["edge"],
            }
            for i in range(functions)
        ],
        "staticIp": {"enabled": True, "allowedCidrs": ["198.51.100.0/24"]},
        "ipRestrictedApi": {"enabled": True, "allow": ["198.51.100.0/24"]},
        "edge": {"enabled": True},
        "privateEndpoint": {"enabled": True},
        "staticEgress": {"enabled": True},
        "ipRangeSync": {"enabled": True, "targets": ["prefixList", "securityGroup", "wafIpSet"]},
        # Two cache behaviors per function off '/': past AWS's default of 25 at 50 functions,
        # which an account running that many behind one distribution has raised.
        "quotas": {"cloudfrontCacheBehaviors": max(25, 2 * functions)},
    }


def _median_seconds(run: Callable[[], Synth]) -> tuple[float, Synth]:
    samples: list[float] = []
    result: Synth | None = None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = run()
        samples.append(time.perf_counter() - start)
    assert result is not None
    return statistics.median(samples), result


def main() -> None:
    synthesize(all_patterns(1))  # warm imports, so the first row measures synthesis only
    header = ("functions", "resources", "program ms", "bare ms", "ratio", "replay ms", "ratio")
    print("{:>9} {:>9} {:>11} {:>9} {:>6} {:>10} {:>6} {:>12}".format(*header, "ms/resource"))
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, 10, 50):
            config = all_patterns(count)
            program_s, result = _median_seconds(functools.partial(synthesize, config))
            resources = len(result.resources)
            floor_file = Path(tmp) / f"floor_{count}.py"
            floor_file.write_text(FLOOR_PROGRAM.format(count=resources))
            bare_s, _ = _median_seconds(functools.partial(synthesize, {}, program=floor_file))
            recorded = Path(tmp) / f"recorded_{count}.pickle"
            recorded.write_bytes(
                pickle.dumps(
                    [(r.type, r.name, _replayable(r.inputs)) for r in result.resources if r.custom]
                )
            )
            replay_file = Path(tmp) / f"replay_{count}.py"
            replay_file.write_text(REPLAY_PROGRAM.format(path=str(recorded)))
            replay_s, _ = _median_seconds(functools.partial(synthesize, {}, program=replay_file))
            print(
                f"{count:>9} {resources:>9} {program_s * 1000:>11.1f} {bare_s * 1000:>9.1f} "
                f"{program_s / bare_s:>6.2f} {replay_s * 1000:>10.1f} {program_s / replay_s:>6.2f} "
                f"{program_s * 1000 / resources:>12.3f}"
            )


if __name__ == "__main__":
    main()

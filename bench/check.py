"""Deploy-readiness check benchmark: what ``--check`` adds to an offline preview of the dev stack.

    python -m bench.check

Times, on the dev stack (``Pulumi.dev.yaml``):

- *synth*: one run of the program under the mocks (what every preview costs);
- *check, cold*: ``tools.check.check`` with its per-type schema caches emptied, so every
  resource type and nested input type is derived from the SDK again (what one
  ``python -m tools.preview --check`` pays);
- *check, warm*: the same with the caches filled (a second check in the same process, as in
  the test suite);
- *end to end*: ``python -m tools.preview --stack dev`` and the same with ``--check``, each in
  a fresh interpreter, as a user runs them (fastest of 5 interleaved runs: imports dominate).

Prints medians (in process) and what ``--check`` adds to the preview it extends; the goal is
under one second added.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools import check as check_module
from tools.synth import REPO_ROOT, load_stack_file, synthesize

RUNS = 5
END_TO_END_RUNS = 5
CACHES = (check_module.object_schema, check_module.args_class, check_module.resource_class)


def _median(
    run: Callable[[], Any], runs: int = RUNS, before: Callable[[], None] | None = None
) -> tuple[float, Any]:
    samples: list[float] = []
    result: Any = None
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        result = run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def _cold() -> None:
    for cache in CACHES:
        cache.cache_clear()


def _end_to_end() -> tuple[float, float, float]:
    """Fastest of several interleaved runs of the preview without and with --check.

    Each run is a fresh interpreter, dominated by imports and noisy on a shared machine; the
    fastest run of each is the least disturbed one.
    """
    plain: list[float] = []
    checked: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "tools.preview", "--stack", "dev",
            "--out", str(Path(tmp) / "dev.md"),
        ]  # fmt: skip
        for _ in range(END_TO_END_RUNS):
            for extra, samples in (([], plain), (["--check"], checked)):
                start = time.perf_counter()
                subprocess.run([*command, *extra], cwd=REPO_ROOT, check=True, capture_output=True)
                samples.append(time.perf_counter() - start)
    return min(plain), min(checked), max(plain) - min(plain)


def main() -> None:
    config = load_stack_file(REPO_ROOT / "Pulumi.dev.yaml")
    synthesize(config, stack="dev")  # warm imports, so the rows measure synthesis only
    synth_s, result = _median(lambda: synthesize(config, stack="dev"))
    cold_s, findings = _median(lambda: check_module.check(result), before=_cold)
    warm_s, _ = _median(lambda: check_module.check(result))
    custom = sum(1 for r in result.resources if r.custom)
    print(f"dev stack: {custom} resources, {len(findings)} finding(s)")
    print(f"{'':>22} {'ms':>8} {'vs synth':>9}")
    print(f"{'synth':>22} {synth_s * 1000:>8.1f} {1:>9.2f}")
    print(f"{'check, cold':>22} {cold_s * 1000:>8.1f} {cold_s / synth_s:>9.2f}")
    print(f"{'check, warm':>22} {warm_s * 1000:>8.1f} {warm_s / synth_s:>9.2f}")
    preview_s, checked_s, spread_s = _end_to_end()
    print(f"{'preview (end to end)':>22} {preview_s * 1000:>8.1f}")
    print(
        f"{'preview --check':>22} {checked_s * 1000:>8.1f}  difference "
        f"{(checked_s - preview_s) * 1000:+.0f} ms, run-to-run spread {spread_s * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

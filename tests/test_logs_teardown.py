"""``python -m tools.teardown`` with access logs: it says how to empty the log buckets.

The log buckets have no ``force_destroy`` (logs are evidence), so ``pulumi destroy`` stops on a
bucket that still holds logs; the steps must name every log bucket of the stack, by the URN the
engine stores, and nothing else.
"""

from __future__ import annotations

import re

import pytest

from tools import teardown
from tools.synth import REPO_ROOT, synthesize

LOG_BUCKET_URN = re.compile(r"^  \((urn:pulumi:[^)]+)\)$")


def render(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert teardown.main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


def test_the_steps_empty_every_log_bucket_before_the_last_destroy(capsys) -> None:
    example = REPO_ROOT / "examples" / "static-ip-access-logs.yaml"
    lines = render(capsys, "--stack", "prod", "--file", str(example))
    start = lines.index(next(ln for ln in lines if ln.startswith("Access-log buckets")))
    section = lines[start:]
    commands = [ln.strip().split("  #")[0].strip() for ln in section if ln.startswith("  ")]
    assert commands[:2] == ["pulumi stack output logBuckets -s prod", "pulumi destroy -s prod"]
    steps = [c for c in commands if not c.startswith("(")]
    # Empty the buckets (after keeping what must be kept), then destroy again.
    assert steps[2:] == [
        "aws s3 sync s3://<bucket> <local dir>",
        "aws s3 rm s3://<bucket> --recursive",
        "pulumi destroy -s prod",
    ]
    urns = [m.group(1) for ln in section if (m := LOG_BUCKET_URN.match(ln))]
    assert urns == [
        "urn:pulumi:prod::lambda-exposure::lambda-exposure:index:LogBuckets"
        "$aws:s3/bucket:Bucket::logs-eu-west-1"
    ]


def test_every_regions_log_bucket_is_named(capsys) -> None:
    config = {
        "lambda-exposure:staticIp": {
            "enabled": True,
            "accessLogs": True,
            "regions": ["us-east-1", "ap-southeast-2"],
        }
    }
    plan = teardown.plan(config, "prod", REPO_ROOT / "Pulumi.prod.yaml")
    buckets = [
        r for r in synthesize(config, stack="prod").resources if r.type == teardown.S3_BUCKET
    ]
    assert sorted(b.name for b in plan.log_buckets) == sorted(b.name for b in buckets)
    assert len(plan.log_buckets) == 3
    assert any("aws s3 rm" in ln for ln in teardown.render(plan))


def test_no_log_bucket_step_without_access_logs() -> None:
    config = {"lambda-exposure:staticIp": {"enabled": True}}
    plan = teardown.plan(config, "prod", REPO_ROOT / "Pulumi.prod.yaml")
    assert plan.log_buckets == []
    assert not any("logBuckets" in ln or "aws s3 rm" in ln for ln in teardown.render(plan))

"""Teardown: the exact steps to destroy a stack whose addresses are protected.

``pulumi destroy`` stops at every ``protect``-ed resource, by design: the static IPs and the
egress IPs are what clients and third parties allow-list, and a released address is gone for
good. This tool synthesizes the stack file offline (``tools.synth``: the real program under
mocks, with the stack's own name, so the URNs are the ones Pulumi stores) and prints, for that
stack, the two ways through::

    python -m tools.teardown --stack dev                      # Pulumi.dev.yaml
    python -m tools.teardown --stack prod --file examples/static-ip-nlb.yaml

1. the config toggles that lift ``protect`` (``pulumi config set --path ... false``, ``pulumi
   up``, which changes only the flag, then ``pulumi destroy``), found by synthesizing the stack
   again with each toggle and keeping those that unprotect something;
2. or one ``pulumi state unprotect '<urn>'`` per protected resource, then ``pulumi destroy``.

With ``edge.signing: lambda-edge`` it adds the Lambda@Edge step: CloudFront deletes the signer's
replicas hours after the distribution, so the function is retained (or its deletion fails
until then) and is deleted later by hand. With access logs on, it adds how to empty the log
buckets, which ``pulumi destroy`` does not delete while they hold logs.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.synth import PROJECT, REPO_ROOT, Resource, Synth, load_stack_file, synthesize

NAMESPACE = f"{PROJECT}:"
# The config keys that lift protect: (pattern key, option). Whether one matters for a stack is
# decided by synthesizing with it, never assumed from these names.
PROTECT_TOGGLES = (("staticIp", "protectStaticIps"), ("staticEgress", "protectEgressIps"))
EDGE_SIGNER_COMPONENT = "lambda-exposure:index:EdgeSignerFunction"
LOG_BUCKETS_COMPONENT = "lambda-exposure:index:LogBuckets"
S3_BUCKET = "aws:s3/bucket:Bucket"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
# Stack names as `pulumi stack init` accepts them; they are printed into shell commands.
_STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

_WHAT = {
    "aws:globalaccelerator/accelerator:Accelerator": "Global Accelerator: its static anycast IPs",
    "aws:ec2/eip:Eip": "Elastic IP",
}


def engine_urn(resource: Resource, synth: Synth, stack: str) -> str:
    """The URN Pulumi stores for ``resource``: ``urn:pulumi:<stack>::<project>::<types>::<name>``.

    ``<types>`` is the type of every ancestor component from the top, then the resource's own,
    joined by ``$``; the root stack is left out. That is the engine's rule (``generateURN`` in
    pulumi/pulumi ``pkg/resource/deploy``: the parent's full qualified type, unless the parent
    is the root stack). The Python mock monitor builds URNs from the parent's *last* type only
    and keeps the root stack's, so its URNs agree with the engine's for children of a top-level
    component and differ above and below; hence this walk over the recorded parents.
    """
    by_urn = {r.urn: r for r in synth.resources}
    chain = [resource.type]
    parent = by_urn.get(resource.parent)
    while parent is not None and parent.type != ROOT_STACK_TYPE:
        chain.append(parent.type)
        parent = by_urn.get(parent.parent)
    return f"urn:pulumi:{stack}::{PROJECT}::{'$'.join(reversed(chain))}::{resource.name}"


@dataclass(frozen=True)
class Protected:
    urn: str
    type: str
    name: str

    @property
    def what(self) -> str:
        return _WHAT.get(self.type, self.type)


@dataclass(frozen=True)
class Plan:
    """Everything the steps are made of, for one stack."""

    stack: str
    stack_file: Path
    region: str
    resource_count: int
    protected: list[Protected]
    # (config path, the URNs it unprotects), only those that unprotect something.
    toggles: list[tuple[str, list[str]]]
    # Still protected with every toggle applied: only `pulumi state unprotect` reaches them.
    untoggled: list[str]
    edge_signer: Protected | None
    edge_signer_retained: bool
    # Other resources pulumi destroy forgets instead of deleting (retain_on_delete).
    retained: list[Protected]
    # Access-log buckets: no force_destroy, so destroy stops on them while they hold logs.
    log_buckets: list[Protected] = field(default_factory=list)


def _protected(synth: Synth, stack: str) -> list[Protected]:
    return [
        Protected(engine_urn(r, synth, stack), r.type, r.name) for r in synth.resources if r.protect
    ]


def _with_toggle(config: dict[str, Any], pattern: str, option: str) -> dict[str, Any] | None:
    """The config with ``<pattern>.<option>: false``, or None when the pattern is not set."""
    key = next((k for k in (NAMESPACE + pattern, pattern) if k in config), None)
    if key is None or not isinstance(config[key], dict):
        return None
    toggled = copy.deepcopy(config)
    toggled[key][option] = False
    return toggled


def plan(config: dict[str, Any], stack: str, stack_file: Path) -> Plan:
    """Synthesize ``config`` as stack ``stack`` and work out what stands in destroy's way."""
    synth = synthesize(config, stack=stack)
    protected = _protected(synth, stack)
    urns = {p.urn for p in protected}
    toggles: list[tuple[str, list[str]]] = []
    everything_toggled = config
    still = urns
    for pattern, option in PROTECT_TOGGLES:
        toggled = _with_toggle(config, pattern, option)
        if toggled is None or not urns:
            continue
        left = {p.urn for p in _protected(synthesize(toggled, stack=stack), stack)}
        if urns - left:
            toggles.append((f"{pattern}.{option}", sorted(urns - left)))
            everything_toggled = _with_toggle(everything_toggled, pattern, option) or toggled
            still = left
    if len(toggles) > 1:
        # What the toggles leave protected together (with one, its synthesis already says).
        still = {p.urn for p in _protected(synthesize(everything_toggled, stack=stack), stack)}
    untoggled = sorted(still)
    signer = next(
        (
            r
            for r in synth.resources
            if r.type == LAMBDA_FUNCTION
            and (parent := next((p for p in synth.resources if p.urn == r.parent), None))
            and parent.type == EDGE_SIGNER_COMPONENT
        ),
        None,
    )
    return Plan(
        stack=stack,
        stack_file=stack_file,
        region=synth.region,
        resource_count=len(synth.resources),
        protected=protected,
        toggles=toggles,
        untoggled=untoggled,
        edge_signer=Protected(engine_urn(signer, synth, stack), signer.type, signer.name)
        if signer
        else None,
        edge_signer_retained=bool(signer and signer.retain_on_delete),
        retained=[
            Protected(engine_urn(r, synth, stack), r.type, r.name)
            for r in synth.resources
            if r.retain_on_delete and r is not signer
        ],
        log_buckets=_log_buckets(synth, stack),
    )


def _log_buckets(synth: Synth, stack: str) -> list[Protected]:
    by_urn = {r.urn: r for r in synth.resources}
    return [
        Protected(engine_urn(r, synth, stack), r.type, r.name)
        for r in synth.resources
        if r.type == S3_BUCKET
        and (parent := by_urn.get(r.parent)) is not None
        and parent.type == LOG_BUCKETS_COMPONENT
    ]


def _quoted(urn: str) -> str:
    # URNs hold `$` and `::`; single quotes keep every shell from expanding them.
    return "'" + urn.replace("'", "'\\''") + "'"


def render(p: Plan) -> list[str]:
    """The steps, as lines to print."""
    s = p.stack
    name = _display(p.stack_file)
    lines = [
        f"# Tearing down stack {s} ({name}, region {p.region}): {p.resource_count} resources, "
        f"{len(p.protected)} protected" + f", {len(p.retained) + p.edge_signer_retained} retained",
        "",
    ]
    if p.protected:
        lines += ["Protected (pulumi destroy stops at these):"]
        lines += [f"  {x.urn}\n    {x.what}" for x in p.protected]
        lines += [
            "",
            "WARNING: once destroyed, these addresses are released for good: AWS never gives the",
            "same static or Elastic IP back. Every client firewall and third-party allow-list that",
            "names them goes stale (pulumi stack output staticIps / egressIps lists them now).",
            "",
        ]
        step = 1
        if p.toggles:
            lines += [
                "Way 1: lift protect in the config (edits the stack file; the flag is all that "
                "changes):"
            ]
            for path, lifted in p.toggles:
                lines.append(f"  pulumi config set --path {path} false -s {s}")
                lines += [f"      # unprotects {u.rsplit('::', 1)[-1]}" for u in lifted]
            lines += [
                f"  pulumi up -s {s}          # only the protect flags change; nothing is replaced",
                f"  pulumi destroy -s {s}",
            ]
            if p.untoggled:
                lines.append("  (still protected after the toggles, unprotect these first:)")
                lines += [
                    f"  pulumi state unprotect {_quoted(u)} -s {s} --yes" for u in p.untoggled
                ]
            lines.append("")
            step = 2
        lines += [
            f"Way {step}: unprotect in the state (the config stays as it is; a pulumi up in "
            "between would protect them again):"
        ]
        lines += [f"  pulumi state unprotect {_quoted(x.urn)} -s {s} --yes" for x in p.protected]
        lines += [f"  pulumi destroy -s {s}", ""]
    else:
        lines += ["Nothing is protected:", f"  pulumi destroy -s {s}", ""]
    if p.retained:
        lines += ["Retained: pulumi destroy forgets these and leaves them in AWS; delete them by"]
        lines += ["hand if nothing else uses them:"]
        lines += [f"  {x.urn}" for x in p.retained]
        lines.append("")
    if p.log_buckets:
        lines += _log_bucket_steps(p)
    if p.edge_signer is not None:
        lines += _edge_steps(p)
    return lines


def _log_bucket_steps(p: Plan) -> list[str]:
    s = p.stack
    lines = [
        "Access-log buckets (staticIp.accessLogs / edge.accessLogs): logs are evidence, so they",
        "are not force-destroyed; pulumi destroy stops on a bucket that still holds logs, after",
        "every writer and the bucket policies are gone (nothing can write any more).",
        f"  pulumi stack output logBuckets -s {s}      # note the bucket names first",
        f"  pulumi destroy -s {s}                      # ends with BucketNotEmpty on those",
        "  aws s3 sync s3://<bucket> <local dir>       # what you must keep",
        "  aws s3 rm s3://<bucket> --recursive         # each bucket",
        f"  pulumi destroy -s {s}",
    ]
    lines += [f"  ({x.urn})" for x in p.log_buckets]
    return [*lines, ""]


def _edge_steps(p: Plan) -> list[str]:
    assert p.edge_signer is not None
    s, urn = p.stack, p.edge_signer.urn
    lookup = (
        'python3 -c \'import json,sys; print(next(r["id"] for r in json.load(sys.stdin)'
        f'["deployment"]["resources"] if r["urn"] == "{urn}"))\''
    )
    lines = [
        "Lambda@Edge (edge.signing: lambda-edge): CloudFront copies the signer to its edge",
        "locations and deletes those replicas only hours after the distribution is gone; until",
        'then Lambda refuses to delete the function ("it is a replicated function").',
        "  Before pulumi destroy, note the signer's name (its Pulumi id):",
        f"  pulumi stack export -s {s} | {lookup}",
    ]
    if p.edge_signer_retained:
        lines += [
            "  pulumi destroy forgets it and leaves it in us-east-1 (edge.retainEdgeFunction: "
            "true).",
            "  A few hours later, once the replicas are gone (retry if Lambda still refuses):",
        ]
    else:
        lines += [
            "  edge.retainEdgeFunction is false: the first pulumi destroy deletes the distribution",
            f"  and fails on the function; run pulumi destroy -s {s} again every 30 minutes or so",
            "  until it succeeds. Or, once the replicas are gone, by hand:",
        ]
    lines += [
        "  aws lambda delete-function --region us-east-1 --function-name <name>",
        "  (the name starts with edge-signer-function-: aws lambda list-functions --region "
        "us-east-1)",
        "",
    ]
    return lines


def _display(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.teardown", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stack", required=True, help="the stack to tear down")
    parser.add_argument(
        "--file", type=Path, help="its config file (default: Pulumi.<stack>.yaml in the project)"
    )
    args = parser.parse_args(argv)
    if not _STACK_NAME.fullmatch(args.stack):
        print(f"error: {args.stack!r} is not a stack name", file=sys.stderr)
        return 2
    path = args.file or REPO_ROOT / f"Pulumi.{args.stack}.yaml"
    if not path.is_file():
        print(f"error: {path} not found", file=sys.stderr)
        return 2
    import pulumi

    try:
        steps = plan(load_stack_file(path), args.stack, path)
    except (pulumi.RunError, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    print("\n".join(render(steps)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ipRangeSync function's role policy, as a pure function of what it writes.

Kept apart from the component (``components/ip_range_sync.py``) so the document can be built and
read without Pulumi: every statement names exactly the resources the component created, except
the EC2 ``Describe*`` calls, which have no resource-level permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The object that serializes the function's runs (handlers/ip_range_sync.py, acquire_lease). One
# per bucket, not per state key: runs with an old and a new selection write the same targets.
LEASE_KEY = "ip-range-sync/lease"


@dataclass(frozen=True)
class SyncScope:
    """The resources the function writes and reads, by ARN: its role allows those only."""

    prefix_list_arns: Sequence[str]
    security_group_arns: Sequence[str]
    ip_set_arns: Sequence[str]
    bucket_arn: str
    state_key: str
    failure_queue_arn: str
    lease_key: str = LEASE_KEY


def sync_policy(scope: SyncScope) -> dict[str, Any]:
    """Everything the handler calls, on exactly the resources this component created."""
    describe = []
    if scope.prefix_list_arns:
        describe.append("ec2:DescribeManagedPrefixLists")
    if scope.security_group_arns:
        describe.append("ec2:DescribeSecurityGroups")
    statements: list[dict[str, Any]] = []
    if describe:
        # EC2 Describe* calls have no resource-level permissions: "*" is the only valid resource.
        statements.append(
            {"Sid": "ReadTargets", "Effect": "Allow", "Action": describe, "Resource": "*"}
        )
    writes = [
        (
            "SyncPrefixLists",
            ["ec2:GetManagedPrefixListEntries", "ec2:ModifyManagedPrefixList"],
            scope.prefix_list_arns,
        ),
        (
            "SyncSecurityGroupRules",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            scope.security_group_arns,
        ),
        ("SyncWafIpSets", ["wafv2:GetIPSet", "wafv2:UpdateIPSet"], scope.ip_set_arns),
    ]
    statements += [
        {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": list(arns)}
        for sid, actions, arns in writes
        if arns
    ]
    bucket_arn = scope.bucket_arn
    statements += [
        {
            "Sid": "ReadWriteState",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{bucket_arn}/{scope.state_key}",
        },
        {
            # Created with If-None-Match, taken over with If-Match, released with a conditional
            # delete, which needs s3:GetObject next to s3:DeleteObject
            # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
            # Delete is granted on this one object and nothing else.
            "Sid": "HoldTheRunLease",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{bucket_arn}/{scope.lease_key}",
        },
        {
            # Without s3:ListBucket, HeadObject on a missing key answers 403 instead of 404 and
            # the first run could not tell "no state yet" from "denied". The bucket is this
            # function's alone, so listing it reveals nothing else.
            "Sid": "TellMissingStateApart",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        },
        {
            # Lambda delivers the on-failure record with the function's execution role.
            "Sid": "RecordFailures",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": scope.failure_queue_arn,
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}

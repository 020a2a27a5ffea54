"""ipRangeSync targets that need no sync function: AWS's CloudFront lists, and the RAM share.

* ``managedPrefixList: auto`` with the whole CloudFront selection: AWS keeps
  ``com.amazonaws.global.cloudfront.origin-facing`` (and its IPv6 twin) current itself, so the
  ``prefixList`` target is that list, looked up by name, and the ``securityGroup`` target is
  a few groups whose inbound rules reference it. Nothing of ours to fill, no quota pool.
* ``shareWith``: one AWS RAM resource share of the customer-managed (synced) prefix lists, so
  the accounts of an organization reference the one list this stack keeps current.

Both are built by ``IpRangeSync`` (``components/ip_range_sync.py``); they live here so that
module stays the sync function's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import IpRangeSyncConfig
from components.config.ip_range_sync import CLOUDFRONT_ORIGIN_FACING_LISTS, organization_of


def cloudfront_origin_facing_lists(
    parent: pulumi.Resource, families: Sequence[int]
) -> dict[int, pulumi.Output[Any]]:
    """AWS's CloudFront origin-facing lists of ``families``, looked up by name.

    An AWS-managed list has one name and an id per region; the stack's region is asked, the
    region of the groups that reference it.
    """
    return {
        family: aws.ec2.get_managed_prefix_list_output(
            name=CLOUDFRONT_ORIGIN_FACING_LISTS[family],
            region=None,
            opts=pulumi.InvokeOutputOptions(parent=parent),
        )
        for family in families
    }


@dataclass(frozen=True)
class AwsListTargetsSpec:
    """What ipRangeSync's AWS-kept targets are built from."""

    prefix: str
    parent: pulumi.Resource
    config: IpRangeSyncConfig
    vpc_id: pulumi.Input[str] | None  # the network's, when the stack has one
    tags: Mapping[str, str]


def aws_list_targets(
    spec: AwsListTargetsSpec,
) -> tuple[dict[int, pulumi.Output[Any]], list[aws.ec2.SecurityGroup]]:
    """AWS's lists (for prefixList and securityGroup) and the groups referencing them
    (securityGroup), when ``managedPrefixList: auto`` applies; otherwise nothing."""
    config = spec.config
    if not (config.aws_managed_lists and {"prefixList", "securityGroup"} & set(config.targets)):
        return {}, []
    lists = cloudfront_origin_facing_lists(spec.parent, [4, 6] if config.ipv6 else [4])
    if "securityGroup" not in config.targets:
        return lists, []
    if spec.vpc_id is None:
        # __main__ creates the network whenever securityGroup is a target.
        raise pulumi.RunError(
            "lambda-exposure:ipRangeSync: the securityGroup target needs the network"
        )
    groups = origin_facing_groups(
        OriginFacingGroupsSpec(
            prefix=spec.prefix,
            parent=spec.parent,
            vpc_id=spec.vpc_id,
            list_ids={family: found.id for family, found in lists.items()},
            ports_per_group=config.origin_facing_groups(),
            tags=spec.tags,
        )
    )
    return lists, groups


@dataclass(frozen=True)
class OriginFacingGroupsSpec:
    """Security groups admitting CloudFront's origin-facing addresses on some ports."""

    prefix: str
    parent: pulumi.Resource
    vpc_id: pulumi.Input[str]
    list_ids: Mapping[int, pulumi.Input[str]]  # address family -> AWS's list id
    ports_per_group: Sequence[Sequence[int]]  # IpRangeSyncConfig.origin_facing_groups()
    tags: Mapping[str, str]


def origin_facing_groups(spec: OriginFacingGroupsSpec) -> list[aws.ec2.SecurityGroup]:
    """One group per entry of ``ports_per_group``; per port and family, one inbound rule that
    references AWS's list.

    The rules are resources of their own (not inline ``ingress``): the provider then manages
    exactly these and nothing else added to the groups. No egress rule (the provider removes
    AWS's default allow-all): the groups are attached next to the resource's own group and add
    inbound allowances only. Descriptions use only the characters EC2 accepts there (no quotes).
    """
    here = pulumi.ResourceOptions(parent=spec.parent)
    groups = []
    count = len(spec.ports_per_group)
    for index, ports in enumerate(spec.ports_per_group):
        name = f"{spec.prefix}-cloudfront-{index}"
        group = aws.ec2.SecurityGroup(
            name,
            vpc_id=spec.vpc_id,
            description=(
                f"lambda-exposure ipRangeSync {index + 1}/{count}: CloudFront origin-facing "
                f"addresses (AWS-managed prefix list) on {', '.join(map(str, ports))}"
            ),
            tags={**spec.tags, "Name": name},
            region=None,
            opts=here,
        )
        for port in ports:
            for family, list_id in spec.list_ids.items():
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{port}-ipv{family}",
                    security_group_id=group.id,
                    prefix_list_id=list_id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"CloudFront origin-facing IPv{family} on {port}",
                    tags=dict(spec.tags),
                    region=None,
                    opts=here,
                )
        groups.append(group)
    return groups


@dataclass(frozen=True)
class PrefixListShareSpec:
    """A RAM resource share of the synced prefix lists with ``config.share_with``."""

    prefix: str
    parent: pulumi.Resource
    prefix_lists: Mapping[int, aws.ec2.ManagedPrefixList]  # address family -> list
    config: IpRangeSyncConfig
    tags: Mapping[str, str]


def principal_key(principal: str) -> str:
    """A logical-name part for a principal: the account id, or the OU / organization id.

    Named after the principal, not its position: removing one from the middle of ``shareWith``
    must not re-create (and briefly drop) the associations of the others.
    """
    if organization_of(principal) is None:
        return principal
    return principal.rsplit("/", 1)[1]


def share_prefix_lists(spec: PrefixListShareSpec) -> aws.ram.ResourceShare:
    """The share → one association per prefix list → one per principal.

    RAM attaches its default permission for prefix lists: consumers may reference the lists in
    their security groups and route tables, never modify them ("Shared prefix list permissions",
    https://docs.aws.amazon.com/vpc/latest/userguide/sharing-perms.html). Inside an
    organization with RAM sharing enabled, access is granted at once; an account outside it gets
    an invitation to accept ("Work with shared prefix lists",
    https://docs.aws.amazon.com/vpc/latest/userguide/work-with-shared-prefixes.html).
    """
    here = pulumi.ResourceOptions(parent=spec.parent)
    share = aws.ram.ResourceShare(
        f"{spec.prefix}-share",
        # Off unless the config says an account outside the organization is meant: RAM then
        # refuses such a principal instead of inviting it.
        allow_external_principals=spec.config.allow_external_principals,
        tags=dict(spec.tags),
        region=None,
        opts=here,
    )
    for family, prefix_list in spec.prefix_lists.items():
        aws.ram.ResourceAssociation(
            f"{spec.prefix}-share-ipv{family}",
            resource_arn=prefix_list.arn,
            resource_share_arn=share.arn,
            region=None,
            opts=here,
        )
    for principal in spec.config.share_with:
        aws.ram.PrincipalAssociation(
            f"{spec.prefix}-share-to-{principal_key(principal)}",
            principal=principal,
            resource_share_arn=share.arn,
            region=None,
            opts=here,
        )
    return share

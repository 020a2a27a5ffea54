"""The published Elastic IPs of the NLB entry (staticIp) and the NAT gateways (staticEgress).

Either the user's own (``eipAllocationIds``): looked up, never resources of this stack, so no
``pulumi destroy`` or replacement can release them and nothing needs ``protect``; they outlive the
stack, as published addresses must. Or new ones, which the program protects by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws


def public_ips_of(
    parent: pulumi.Resource, allocation_ids: Sequence[str]
) -> list[pulumi.Output[str]]:
    """The public IPv4 address of each allocation, in order.

    A lookup in the stack's region: an id that does not exist there (a typo, another region,
    another account) fails the preview, before anything would be associated with it.
    """
    return [
        aws.ec2.get_elastic_ip_output(
            id=allocation, region=None, opts=pulumi.InvokeOutputOptions(parent=parent)
        ).public_ip
        for allocation in allocation_ids
    ]


def addresses(
    parent: pulumi.Resource,
    own: Sequence[str],
    new: tuple[str, int, bool, Mapping[str, str]],
) -> tuple[list[pulumi.Input[str]], list[pulumi.Output[str]]]:
    """Allocation ids and public IPs, in zone order: the user's ``own`` allocations (looked up),
    else ``new = (name prefix, count, protect, tags)`` Elastic IPs named ``<prefix>-<index>``.

    New addresses are what third parties allow-list: ``protect`` (on by default in the config)
    keeps a ``pulumi destroy``, or a change that would replace them, from releasing them. They
    are resources of their own, so replacing what uses them keeps the address.
    """
    if own:
        # The config checked their number.
        return list(own), public_ips_of(parent, own)
    prefix, count, protect, tags = new
    eips = [
        aws.ec2.Eip(
            f"{prefix}-{index}",
            domain="vpc",
            tags={**tags, "Name": f"{prefix}-{index}"},
            region=None,
            opts=pulumi.ResourceOptions(parent=parent, protect=protect),
        )
        for index in range(count)
    ]
    return [eip.allocation_id for eip in eips], [eip.public_ip for eip in eips]

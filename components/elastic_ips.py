"""Elastic IPs the user brings (``eipAllocationIds``): looked up, never resources of this stack.

Used by the NLB entry (``staticIp``) and the NAT gateways (``staticEgress``). Because no
``aws.ec2.Eip`` resource exists for them, no ``pulumi destroy`` or replacement can release the
addresses, and nothing needs ``protect``: they outlive the stack, as published addresses must.
"""

from __future__ import annotations

from collections.abc import Sequence

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

"""Sample values the tests put in configs, and where the shipped configs are.

Shaped like AWS's (the mocks never look them up); a test that needs a value of its own (another
account, a VPC without public subnets) says so where it builds it.
"""

from __future__ import annotations

from tools.synth import REPO_ROOT
from tools.urn_snapshot import config_files

ROOT = REPO_ROOT
EXAMPLES = ROOT / "examples"
DEV_STACK = ROOT / "Pulumi.dev.yaml"
# Every config the project ships: the stack files (Pulumi.<stack>.yaml), then the examples.
SHIPPED = config_files()


def certificate_arn(region: str = "eu-west-1") -> str:
    """An ACM certificate in ``region`` (certificates are regional; CloudFront's in us-east-1)."""
    return f"arn:aws:acm:{region}:123456789012:certificate/0f0e0d0c-1b2a-4c3d-8e9f-a0b1c2d3e4f5"


CERT = certificate_arn()

# network: an existing VPC by id, with two public and two private subnets.
EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "publicSubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
    "privateSubnetIds": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
}

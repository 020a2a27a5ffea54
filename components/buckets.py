"""The one way this project makes an S3 bucket: private, encrypted, TLS-only.

Every bucket gets the same four settings, whoever asks for it:

* public access fully blocked (the four ``BucketPublicAccessBlock`` switches);
* ACLs disabled (``BucketOwnerEnforced``): access is decided by policy alone;
* encrypted at rest with SSE-S3 (no KMS key to pay for, or to grant a reader);
* a bucket policy that refuses plain HTTP (``aws:SecureTransport``), next to whatever the
  owner grants (``PrivateBucket.attach_policy``), because what may read a bucket is often known
  only later: the static site's reader is a distribution created after its bucket.

A bucket that only accumulates (the access logs of ``components/logs.py``) also asks for
lifecycle expiry per prefix (``PrivateBucketSpec.expiry``), so it does not grow for ever.

``components/static_site.py``, ``components/ip_range_sync.py`` and ``components/logs.py`` use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Refuse plain-HTTP access to the bucket and its objects, whoever asks (AWS's S3 security
    best practice; encryption at rest means little if a reader can take the object in clear)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def tls_only_policy(bucket_arn: str, grants: Sequence[dict[str, Any]] = ()) -> str:
    """The bucket policy: the owner's ``grants``, then the refusal of plain HTTP."""
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [*grants, deny_insecure_transport(bucket_arn)]}
    )


@dataclass(frozen=True)
class ChildNames:
    """Logical names of a bucket's settings: they are URNs once deployed, so each caller keeps
    the names it has always had (``for_bucket`` is the scheme for new buckets)."""

    public_access: str
    ownership: str
    encryption: str
    lifecycle: str = ""  # only with PrivateBucketSpec.expiry; "" = "<bucket>-lifecycle"

    @classmethod
    def for_bucket(cls, bucket: str) -> ChildNames:
        return cls(
            f"{bucket}-public-access",
            f"{bucket}-ownership",
            f"{bucket}-encryption",
            f"{bucket}-lifecycle",
        )


@dataclass(frozen=True)
class ExpiryRule:
    """S3 deletes the objects under ``prefix`` ``days`` days after they were written."""

    prefix: str  # a key prefix, "" for the whole bucket
    days: int


@dataclass(frozen=True)
class PrivateBucketSpec:
    name: str  # the bucket's logical name
    parent: pulumi.Resource
    region: str | None = None  # None: the provider's region
    tags: Mapping[str, str] | None = None
    # Only for a bucket that holds nothing the stack cannot rebuild (a cache): a destroy then
    # does not stop on its objects.
    force_destroy: bool | None = None
    names: ChildNames | None = None  # default: ChildNames.for_bucket(name)
    # One lifecycle rule per entry; none: objects are kept until deleted.
    expiry: Sequence[ExpiryRule] = ()


@dataclass(frozen=True)
class PrivateBucket:
    bucket: aws.s3.Bucket
    public_access: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    region: str | None
    lifecycle: aws.s3.BucketLifecycleConfiguration | None = None

    @property
    def settled(self) -> list[pulumi.Resource]:
        """What a bucket policy or an object should follow (S3 refuses concurrent bucket-level
        changes)."""
        extra = [self.lifecycle] if self.lifecycle is not None else []
        return [self.public_access, self.ownership, self.encryption, *extra]

    def attach_policy(
        self,
        name: str,
        policy: pulumi.Input[str],
        *,
        parent: pulumi.Resource,
        after: Sequence[pulumi.Resource],
    ) -> aws.s3.BucketPolicy:
        """The bucket's policy, written with ``tls_only_policy`` (``after``: see ``settled``)."""
        return aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=policy,
            region=self.region,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
        )


def private_bucket(spec: PrivateBucketSpec) -> PrivateBucket:
    """The bucket, then its public access block, ownership controls and encryption."""
    names = spec.names or ChildNames.for_bucket(spec.name)
    here = pulumi.ResourceOptions(parent=spec.parent)
    bucket = aws.s3.Bucket(
        spec.name,
        force_destroy=spec.force_destroy,
        tags=spec.tags,
        region=spec.region,
        opts=here,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        names.public_access,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        region=spec.region,
        opts=here,
    )
    ownership = aws.s3.BucketOwnershipControls(
        names.ownership,
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        region=spec.region,
        opts=here,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        names.encryption,
        bucket=bucket.id,
        # SSE-S3: encrypted at rest, readable by whoever the policy admits without a KMS grant.
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        region=spec.region,
        opts=here,
    )
    lifecycle = _lifecycle(spec, bucket, names) if spec.expiry else None
    return PrivateBucket(bucket, public_access, ownership, encryption, spec.region, lifecycle)


def expiry_rules(
    expiry: Sequence[ExpiryRule],
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """One enabled rule per prefix: expire the current objects under it after its days.

    The bucket is never versioned, so an expired object is gone (no noncurrent versions).
    """
    return [
        {
            "id": f"expire-{rule.prefix.rstrip('/') or 'all'}",
            "status": "Enabled",
            "filter": {"prefix": rule.prefix},
            "expiration": {"days": rule.days},
        }
        for rule in expiry
    ]


def _lifecycle(
    spec: PrivateBucketSpec, bucket: aws.s3.Bucket, names: ChildNames
) -> aws.s3.BucketLifecycleConfiguration:
    return aws.s3.BucketLifecycleConfiguration(
        names.lifecycle or f"{spec.name}-lifecycle",
        bucket=bucket.id,
        rules=expiry_rules(spec.expiry),
        region=spec.region,
        opts=pulumi.ResourceOptions(parent=spec.parent),
    )

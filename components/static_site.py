"""The private S3 bucket behind the edge pattern's default behavior (``edge.staticSite``).

The CloudFront/Lambda@Edge article serves its single-page app from S3 through the same
distribution as the function URLs, so the page calls the API on its own origin (no CORS). The
bucket is never public:
public access is fully blocked, ACLs are disabled (``BucketOwnerEnforced``), objects are
encrypted, and the only reader is CloudFront signing with an Origin Access Control of type
``s3`` on behalf of one distribution. That last grant, the bucket policy, needs the
distribution's ARN, so the component that owns both asks for it (``allow_reads_from``) once the
distribution exists.

Built as a request reads it backwards: private bucket (``components/buckets.py``) → the page
→ the Origin Access Control CloudFront signs with.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.buckets import PrivateBucketSpec, private_bucket, tls_only_policy
from components.component import Component

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
INDEX = "index.html"
# The page reads the API paths from this element; replaced with the configured functions.
API_PLACEHOLDER = '<script type="application/json" id="api-paths">[]</script>'


@dataclass(frozen=True)
class StaticSiteBucketArgs:
    api_paths: Sequence[tuple[str, str]]  # (name, path) of each function the page calls
    region: str  # next to the functions (CloudFront reads from any region)


def render_index(api_paths: Sequence[tuple[str, str]]) -> str:
    """``site/index.html`` with the (name, path) of each exposed function filled in.

    Known from config, so the uploaded content (and its hash) is stable between previews.
    """
    template = (SITE_DIR / INDEX).read_text(encoding="utf-8")
    if API_PLACEHOLDER not in template:
        raise ValueError(f"{SITE_DIR / INDEX} lost its API placeholder {API_PLACEHOLDER!r}")
    # JSON inside <script> must not be able to close the element.
    data = json.dumps([{"name": n, "path": p} for n, p in api_paths]).replace("</", "<\\/")
    return template.replace(API_PLACEHOLDER, API_PLACEHOLDER.replace("[]", data))


def site_read_policy(bucket_arn: str, distribution_arn: str) -> str:
    """Only CloudFront, on behalf of this one distribution, may read; nobody over plain HTTP."""
    return tls_only_policy(
        bucket_arn,
        [
            {
                "Sid": "AllowThisDistributionToRead",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            }
        ],
    )


class StaticSiteBucket(Component[StaticSiteBucketArgs]):
    """Private, encrypted bucket holding the bundled page, and the OAC CloudFront reads it with."""

    TYPE = "lambda-exposure:index:StaticSiteBucket"
    bucket: aws.s3.Bucket
    origin_access_control: aws.cloudfront.OriginAccessControl
    # Resources the bucket policy must follow (S3 refuses concurrent bucket-level changes).
    settled: list[pulumi.Resource]

    def _build(self) -> pulumi.Inputs:
        name, args = self._name, self._args
        self._storage = private_bucket(PrivateBucketSpec(name, parent=self, region=args.region))
        self.bucket = self._storage.bucket
        self.settled = self._storage.settled
        aws.s3.BucketObjectv2(
            f"{name}-index",
            bucket=self.bucket.id,
            key=INDEX,
            content=render_index(args.api_paths),
            content_type="text/html; charset=utf-8",
            # Edge caches revalidate, so a new deployment of the page shows at once.
            cache_control="no-cache",
            region=args.region,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self._storage.encryption, self._storage.ownership]
            ),
        )
        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description="lambda-exposure: CloudFront reads the static site bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            "bucket": self.bucket.bucket,
            "originAccessControlId": self.origin_access_control.id,
        }

    def allow_reads_from(
        self, distribution: aws.cloudfront.Distribution, *, name: str, parent: pulumi.Resource
    ) -> aws.s3.BucketPolicy:
        """The bucket policy: only ``distribution`` may read. Created by the owner of both,
        after the distribution (whose origin is this bucket)."""
        policy = pulumi.Output.all(self.bucket.arn, distribution.arn).apply(
            lambda arns: site_read_policy(arns[0], arns[1])
        )
        return self._storage.attach_policy(name, policy, parent=parent, after=self.settled)

"""The private S3 bucket behind the edge pattern's default behavior (``edge.staticSite``).

Seed 002 serves its single-page app from S3 through the same distribution as the function
URLs, so the page calls the API on its own origin (no CORS). The bucket is never public:
public access is fully blocked, ACLs are disabled (``BucketOwnerEnforced``), objects are
encrypted, and the only reader is CloudFront signing with an Origin Access Control of type
``s3`` on behalf of one distribution. That last grant, the bucket policy, needs the
distribution's ARN, so ``site_read_policy`` is applied by the component that owns both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.bucket_policy import deny_insecure_transport

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
INDEX = "index.html"
# The page reads the API paths from this element; replaced with the configured functions.
API_PLACEHOLDER = '<script type="application/json" id="api-paths">[]</script>'


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
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowThisDistributionToRead",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                },
                deny_insecure_transport(bucket_arn),
            ],
        }
    )


class StaticSiteBucket(pulumi.ComponentResource):
    """Private, encrypted bucket holding the bundled page, and the OAC CloudFront reads it with."""

    bucket: aws.s3.Bucket
    origin_access_control: aws.cloudfront.OriginAccessControl
    # Resources the bucket policy must follow (S3 refuses concurrent bucket-level changes).
    settled: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        api_paths: Sequence[tuple[str, str]],
        region: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``region``: next to the functions (CloudFront reads from any region)."""
        super().__init__("lambda-exposure:index:StaticSiteBucket", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, region=region, opts=here)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=region,
            opts=here,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=region,
            opts=here,
        )
        # SSE-S3: encrypted at rest, and readable through OAC without a KMS key policy.
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            region=region,
            opts=here,
        )
        aws.s3.BucketObjectv2(
            f"{name}-index",
            bucket=self.bucket.id,
            key=INDEX,
            content=render_index(api_paths),
            content_type="text/html; charset=utf-8",
            # Edge caches revalidate, so a new deployment of the page shows at once.
            cache_control="no-cache",
            region=region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption, ownership]),
        )
        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description="lambda-exposure: CloudFront reads the static site bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=here,
        )
        self.settled = [public_access, ownership, encryption]
        self.register_outputs(
            {"bucket": self.bucket.bucket, "originAccessControlId": self.origin_access_control.id}
        )

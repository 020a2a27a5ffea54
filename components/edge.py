"""CloudFront in front of AWS_IAM Lambda function URLs: the edge pattern (seed 002).

Each exposed function gets a function URL whose auth type is ``AWS_IAM`` (never ``NONE``), so a
direct call answers 403; CloudFront is the only caller able to sign. It signs in one of two ways:

* ``signing: oac`` (default) — an Origin Access Control of origin type ``lambda``. No code runs
  at the edge. CloudFront cannot hash a request body for the viewer, so ``PUT``/``POST`` clients
  must send ``x-amz-content-sha256`` themselves.
* ``signing: lambda-edge`` — seed 002's Lambda@Edge origin-request function
  (``handlers/edge_signer.py``, packaged by ``components/edge_signer_function.py``), which reads
  the body (``include_body``) and signs it, so clients send plain requests.

Then: one cache behavior pair (``/p`` and ``/p/*``) per function path, the function at ``/`` as
the default behavior unless ``staticSite`` puts a private S3 bucket there, and optionally a WAF
web ACL (``allowedCidrs``) that admits only listed sources and rate-limits them.

Built from the origins outwards: function URLs → who signs (OAC or the signer) → static site →
web ACL → distribution → the functions' permissions for it → the site bucket's policy for it →
(``accessLogs``) its standard logs to the stack's log bucket.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.config import EdgeConfig
from components.edge_signer_function import EDGE_REGION, EdgeSignerFunction, EdgeSignerFunctionArgs
from components.function import ExposedFunction
from components.logs import LogBuckets, LogTarget
from components.static_site import StaticSiteBucket, StaticSiteBucketArgs

# AWS-managed CloudFront policies. Their IDs are fixed and documented, so constants avoid an
# invoke per policy and keep the previewed graph identical to the deployed one.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # Managed-CachingOptimized
# Everything the viewer sent except Host: a function URL routes (and the signature covers) its
# own host name, so the viewer's Host (the distribution's domain) must not reach it.
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"  # Managed-SecurityHeadersPolicy

ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
CACHED_METHODS = ["GET", "HEAD"]
SITE_ORIGIN_ID = "static-site"


@dataclass(frozen=True)
class EdgeProtectedUrlArgs:
    config: EdgeConfig
    functions: Sequence[ExposedFunction]  # each URL is made in its function's own region
    region: str  # the stack's: where the site bucket lives
    # With accessLogs: the stack's log buckets (the distribution's logs go to the stack region's).
    log_buckets: LogBuckets | None = None


def origin_domain(function_url: str) -> str:
    """``https://<id>.lambda-url.<region>.on.aws/`` → ``<id>.lambda-url.<region>.on.aws``."""
    host = urlparse(function_url).hostname
    if not host:
        raise ValueError(f"not a function URL: {function_url!r}")
    return host


def path_patterns(path: str) -> list[str]:
    """The two patterns that mean "this path and below" (``/api`` alone would miss ``/api/x``,
    ``/api*`` would also catch ``/apix``). The root function has none: it is the default."""
    return [] if path == "/" else [path, f"{path}/*"]


class _Routed(Protocol):
    @property
    def path(self) -> str: ...


_R = TypeVar("_R", bound=_Routed)


def behavior_order(functions: Sequence[_R]) -> list[_R]:
    """Non-root functions, deepest path first: CloudFront takes the first matching pattern, so
    ``/api/v2/*`` must come before ``/api/*``. (components/quotas.py counts the behaviors of
    the function configs with this and ``path_patterns``.)"""
    routed = [f for f in functions if f.path != "/"]
    return sorted(routed, key=lambda f: (-f.path.count("/"), f.path))


def origin_id(fn: ExposedFunction) -> str:
    return f"function-{fn.name}"


class EdgeProtectedUrl(Component[EdgeProtectedUrlArgs]):
    """Function URLs (AWS_IAM) behind one CloudFront distribution that signs every request."""

    TYPE = "lambda-exposure:index:EdgeProtectedUrl"
    url: pulumi.Output[str]
    function_urls: dict[str, pulumi.Output[str]]
    distribution: aws.cloudfront.Distribution
    web_acl: aws.wafv2.WebAcl | None
    signer: EdgeSignerFunction | None

    def _build(self) -> pulumi.Inputs:
        name, args = self._name, self._args
        config, functions = args.config, args.functions
        here = pulumi.ResourceOptions(parent=self)

        # 1. The origins: one AWS_IAM function URL per function.
        urls = {
            fn.name: aws.lambda_.FunctionUrl(
                f"{name}-{fn.name}-url",
                function_name=fn.function_name,
                authorization_type="AWS_IAM",
                cors=_cors_args(config),
                region=fn.region,
                opts=here,
            )
            for fn in functions
        }
        self.function_urls = {n: u.function_url for n, u in urls.items()}

        # 2. Who signs: OAC (CloudFront itself) or the Lambda@Edge signer.
        lambda_oac = self._signing()

        # 3. Optional static site at the default behavior.
        site = None
        if config.static_site:
            site = StaticSiteBucket(
                f"{name}-site",
                StaticSiteBucketArgs([(f.name, f.path) for f in functions], region=args.region),
                opts=here,
            )

        # 4. Optional source allow-list, enforced at the edge before any signing happens.
        self.web_acl = self._web_acl(config) if config.allowed_cidrs else None

        # 5. The distribution.
        origins = [self._function_origin(fn, urls[fn.name], lambda_oac) for fn in functions]
        if site is not None:
            origins.append(
                {
                    "origin_id": SITE_ORIGIN_ID,
                    "domain_name": site.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": site.origin_access_control.id,
                }
            )
        self.distribution = self._distribution(origins, site)

        # 6. OAC: the functions accept CloudFront's signature for this distribution only. These
        # need the distribution's ARN, so they follow it; CloudFront takes minutes to deploy,
        # far longer than the two AddPermission calls.
        if lambda_oac is not None:
            for fn in functions:
                self._allow_distribution(fn)

        # 7. Static site: only this distribution may read the bucket.
        if site is not None:
            site.allow_reads_from(self.distribution, name=f"{name}-site-policy", parent=self)

        # 8. Standard logs, once the distribution (their source) exists.
        if config.access_logs and args.log_buckets is not None:
            self._access_logs(args.log_buckets.target(args.region, "cloudfront"))

        self.url = self.distribution.domain_name.apply(lambda d: f"https://{d}/")
        return {
            "edgeUrl": self.url,
            "functionUrls": self.function_urls,
            "distributionId": self.distribution.id,
        }

    def _signing(self) -> aws.cloudfront.OriginAccessControl | None:
        """The Origin Access Control CloudFront signs with, or None with the signer (``signer``)."""
        config, here = self._args.config, pulumi.ResourceOptions(parent=self)
        self.signer = None
        if config.signing != "oac":
            self.signer = EdgeSignerFunction(
                f"{self._name}-signer",
                EdgeSignerFunctionArgs(self._args.functions, retain=config.retain_edge_function),
                opts=here,
            )
            return None
        return aws.cloudfront.OriginAccessControl(
            f"{self._name}-lambda-oac",
            description="lambda-exposure: CloudFront signs requests to the function URLs",
            origin_access_control_origin_type="lambda",
            # "always": a viewer's own Authorization header is never passed through unsigned.
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=here,
        )

    def _distribution(
        self,
        origins: Sequence[aws.cloudfront.DistributionOriginArgsDict],
        site: StaticSiteBucket | None,
    ) -> aws.cloudfront.Distribution:
        config, functions = self._args.config, self._args.functions
        default_fn = next((f for f in functions if f.path == "/"), None)
        if site is not None:
            default_behavior = self._site_behavior()
        else:
            # No function at '/' and no site: the first function also answers unmatched paths
            # (CloudFront needs a default behavior, and an empty origin would be one more thing).
            default_behavior = self._api_behavior(default_fn or functions[0])
        ordered: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict] = [
            {**self._api_behavior(fn), "path_pattern": pattern}
            for fn in behavior_order(functions)
            for pattern in path_patterns(fn.path)
        ]
        return aws.cloudfront.Distribution(
            f"{self._name}-cdn",
            enabled=True,
            comment=f"lambda-exposure {pulumi.get_stack()}: function URLs ({config.signing})",
            origins=origins,
            default_cache_behavior=default_behavior,
            ordered_cache_behaviors=ordered,
            default_root_object="index.html" if site is not None else None,
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=config.price_class,
            web_acl_id=self.web_acl.arn if self.web_acl is not None else None,
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True},
            opts=pulumi.ResourceOptions(
                parent=self,
                # The signer must be able to invoke and log from the first request it signs.
                depends_on=list(self.signer.ready) if self.signer is not None else [],
            ),
        )

    # -- origins and behaviors -----------------------------------------------------------------

    def _function_origin(
        self,
        fn: ExposedFunction,
        url: aws.lambda_.FunctionUrl,
        oac: aws.cloudfront.OriginAccessControl | None,
    ) -> aws.cloudfront.DistributionOriginArgsDict:
        origin: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": origin_id(fn),
            "domain_name": url.function_url.apply(origin_domain),
            "custom_origin_config": {
                "http_port": 80,
                "https_port": 443,
                "origin_protocol_policy": "https-only",
                "origin_ssl_protocols": ["TLSv1.2"],
            },
        }
        if oac is not None:
            origin["origin_access_control_id"] = oac.id
        return origin

    def _api_behavior(
        self, fn: ExposedFunction
    ) -> aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict:
        behavior: aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict = {
            "target_origin_id": origin_id(fn),
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ALL_METHODS,
            "cached_methods": CACHED_METHODS,
            # Answers are per caller (whoami, signed requests): never cache them.
            "cache_policy_id": CACHING_DISABLED,
            "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_HEADER,
            "response_headers_policy_id": SECURITY_HEADERS,
        }
        if self.signer is not None:
            behavior["lambda_function_associations"] = [
                {
                    "event_type": "origin-request",
                    "lambda_arn": self.signer.qualified_arn,
                    # The signer hashes the body into the signature; without it, no POST works.
                    "include_body": True,
                }
            ]
        return behavior

    def _site_behavior(self) -> aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict:
        return {
            "target_origin_id": SITE_ORIGIN_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": READ_METHODS,
            "cached_methods": CACHED_METHODS,
            "cache_policy_id": CACHING_OPTIMIZED,
            "response_headers_policy_id": SECURITY_HEADERS,
            "compress": True,
        }

    # -- permissions -------------------------------------------------------------------------

    def _allow_distribution(self, fn: ExposedFunction) -> None:
        """CloudFront may invoke this function's URL, for this distribution only.

        Function URLs created since October 2025 check ``lambda:InvokeFunction`` as well as
        ``lambda:InvokeFunctionUrl``; the former is limited to invocations that come through
        the function URL (``invoked_via_function_url``), so CloudFront gains no Invoke API.
        """
        # (name suffix, action, function_url_auth_type, invoked_via_function_url)
        grants = (
            ("cf-invoke-url", "lambda:InvokeFunctionUrl", "AWS_IAM", None),
            ("cf-invoke", "lambda:InvokeFunction", None, True),
        )
        for suffix, action, url_auth_type, via_url in grants:
            aws.lambda_.Permission(
                f"{self._name}-{fn.name}-{suffix}",
                function=fn.function_name,
                action=action,
                principal="cloudfront.amazonaws.com",
                source_arn=self.distribution.arn,
                function_url_auth_type=url_auth_type,
                invoked_via_function_url=via_url,
                region=fn.region,
                opts=pulumi.ResourceOptions(parent=self),
            )

    # -- standard logs ---------------------------------------------------------------------------

    def _access_logs(self, target: LogTarget) -> aws.cloudwatch.LogDelivery:
        """CloudFront standard logging (v2): source (the distribution) → destination (the log
        bucket, under its prefix) → the delivery joining them.

        Configured through the CloudWatch Logs API in us-east-1 whatever the bucket's region
        ("you must specify the US East (N. Virginia) Region (us-east-1), even if you want to
        enable cross Region delivery"); the legacy ``logging_config`` needs ACLs on the bucket.
        https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
        """
        name, here = self._name, pulumi.ResourceOptions(parent=self)
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-logs-source",
            log_type="ACCESS_LOGS",
            resource_arn=self.distribution.arn,
            region=EDGE_REGION,
            opts=here,
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-logs-destination",
            # The format of the legacy standard logs ("#Fields:" header, one line per
            # request); it can only be set when the destination is created.
            output_format="w3c",
            delivery_destination_configuration={
                # With a prefix the logs go under it (and not under AWSLogs/<account>/).
                "destination_resource_arn": pulumi.Output.concat(
                    target.bucket_arn, "/", target.prefix
                ),
            },
            region=EDGE_REGION,
            opts=here,
        )
        return aws.cloudwatch.LogDelivery(
            f"{name}-logs-delivery",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            region=EDGE_REGION,
            # Delivery starts writing at once: the bucket policy must admit it first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(target.ready)),
        )

    # -- WAF -----------------------------------------------------------------------------------

    def _web_acl(self, config: EdgeConfig) -> aws.wafv2.WebAcl:
        """Admit only ``allowedCidrs`` (one IP set per address family), rate-limited per IP.

        A CLOUDFRONT-scope ACL and its IP sets must be created in us-east-1.
        """
        name = self._name
        here = pulumi.ResourceOptions(parent=self)
        families = {4: "IPV4", 6: "IPV6"}
        ip_sets: list[aws.wafv2.IpSet] = []
        for version, label in families.items():
            cidrs = [c for c in config.allowed_cidrs if ipaddress.ip_network(c).version == version]
            if cidrs:
                ip_sets.append(
                    aws.wafv2.IpSet(
                        f"{name}-allow-{label.lower()}",
                        scope="CLOUDFRONT",
                        region=EDGE_REGION,
                        ip_address_version=label,
                        addresses=cidrs,
                        description="lambda-exposure edge.allowedCidrs",
                        opts=here,
                    )
                )
        matches: list[aws.wafv2.WebAclRuleStatementArgsDict] = [
            {"ip_set_reference_statement": {"arn": s.arn}} for s in ip_sets
        ]
        allowed: aws.wafv2.WebAclRuleStatementArgsDict = (
            matches[0] if len(matches) == 1 else {"or_statement": {"statements": matches}}
        )
        metric = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        return aws.wafv2.WebAcl(
            f"{name}-waf",
            scope="CLOUDFRONT",
            region=EDGE_REGION,
            description="lambda-exposure: only edge.allowedCidrs, rate-limited per source IP",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                block=aws.wafv2.WebAclDefaultActionBlockArgs()
            ),
            rules=[
                {
                    # First, so allow-listed sources are rate-limited too (an allow ends
                    # evaluation).
                    "name": "rate-limit-per-ip",
                    "priority": 0,
                    "action": {"block": {}},
                    "statement": {
                        "rate_based_statement": {
                            "aggregate_key_type": "IP",
                            "limit": config.rate_limit,
                            "evaluation_window_sec": 300,
                        }
                    },
                    "visibility_config": _visibility(f"{metric}-rate-limit"),
                },
                {
                    "name": "allowed-cidrs",
                    "priority": 1,
                    "action": {"allow": {}},
                    "statement": allowed,
                    "visibility_config": _visibility(f"{metric}-allowed-cidrs"),
                },
            ],
            visibility_config=_visibility(metric),
            opts=here,
        )


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric[:128],
        "sampled_requests_enabled": True,
    }


def _cors_args(config: EdgeConfig) -> aws.lambda_.FunctionUrlCorsArgsDict | None:
    cors = config.cors
    if cors is None:
        return None
    return {
        "allow_origins": list(cors.allow_origins),
        "allow_methods": list(cors.allow_methods),
        "allow_headers": list(cors.allow_headers),
        "expose_headers": list(cors.expose_headers),
        "allow_credentials": cors.allow_credentials,
        "max_age": cors.max_age,
    }

"""CloudFront in front of AWS_IAM Lambda function URLs: the edge pattern.

After *Protecting an AWS Lambda function URL with Amazon CloudFront and Lambda@Edge* (AWS
Compute Blog).

Each exposed function gets a function URL whose auth type is ``AWS_IAM`` (never ``NONE``), so a
direct call answers 403; CloudFront is the only caller able to sign. It signs in one of two ways:

* ``signing: oac`` (default) — an Origin Access Control of origin type ``lambda``. No code runs
  at the edge. CloudFront cannot hash a request body for the viewer, so ``PUT``/``POST`` clients
  must send ``x-amz-content-sha256`` themselves.
* ``signing: lambda-edge`` — the article's Lambda@Edge origin-request function
  (``handlers/edge_signer.py``, packaged by ``components/edge_signer_function.py``), which reads
  the body (``include_body``) and signs it, so clients send plain requests.

Then: one cache behavior pair (``/p`` and ``/p/*``) per function path, the function at ``/`` as
the default behavior unless ``staticSite`` puts a private S3 bucket there, optionally a WAF
web ACL (``allowedCidrs``, ``managedRules``: ``components/waf.py``) that admits only listed
sources, rate-limits them and applies AWS managed rule groups, and optionally a custom domain
(``domain``: aliases, their us-east-1 certificate, Route 53 alias records).

``origin: vpc`` replaces the function URLs with one CloudFront VPC origin in front of an internal
ALB that invokes the functions (``components/edge_vpc_origin.py``, which also says why the ALB
is never shared with ``staticIp``'s): no URL, no signing, no body hash. CloudFront then only
chooses between the site and the ALB, and the ALB routes the function paths: without a site,
one default behavior carries every path.

Built from the origins outwards: function URLs (or the ALB and its VPC origin) → who signs (OAC
or the signer) → static site → web ACL → certificate → distribution → the functions'
permissions for it → the site bucket's policy for it → the domain's DNS records →
(``accessLogs``) its standard logs to the stack's log bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from components.certificates import (
    AliasSpec,
    CertificateSpec,
    alias_records,
    dns_validated_certificate,
    viewer_certificate,
)
from components.component import Component
from components.config import EdgeConfig
from components.edge_signer_function import EDGE_REGION, EdgeSignerFunction, EdgeSignerFunctionArgs
from components.edge_vpc_origin import VPC_ORIGIN_ID, VpcOriginAlb, VpcOriginSpec, build_vpc_origin
from components.function import ExposedFunction
from components.logs import LogBuckets, LogTarget
from components.network import Network
from components.region import Region
from components.static_site import StaticSiteBucket, StaticSiteBucketArgs
from components.waf import WebAclSpec, acl_description, build_web_acl

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
# The distribution answers IPv6 viewers; the domain's AAAA records follow this one switch.
IPV6_ENABLED = True


@dataclass(frozen=True)
class EdgeProtectedUrlArgs:
    config: EdgeConfig
    functions: Sequence[ExposedFunction]  # each URL is made in its function's own region
    region: str  # the stack's: where the site bucket lives
    network: Network | None = None  # origin: vpc puts the ALB in its private subnets
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


def routes_at_the_edge(config: EdgeConfig) -> bool:
    """Whether CloudFront needs a behavior pair per function path: with function URLs (one
    origin each), or with a static site, which takes every other path. A VPC origin alone takes
    every path, and its ALB routes them (components/quotas.py counts behaviors with this)."""
    return config.origin == "function-url" or config.static_site


class EdgeProtectedUrl(Component[EdgeProtectedUrlArgs]):
    """Function URLs (AWS_IAM) behind one CloudFront distribution that signs every request, or
    (origin: vpc) a VPC origin to an internal ALB that invokes the functions."""

    TYPE = "lambda-exposure:index:EdgeProtectedUrl"
    url: pulumi.Output[str]
    function_urls: dict[str, pulumi.Output[str]]
    distribution: aws.cloudfront.Distribution
    web_acl: aws.wafv2.WebAcl | None
    signer: EdgeSignerFunction | None
    vpc_origin: VpcOriginAlb | None
    domain_urls: list[str]
    _certificate_arn: pulumi.Input[str] | None

    def _build(self) -> pulumi.Inputs:
        name, args = self._name, self._args
        config, functions = args.config, args.functions
        here = pulumi.ResourceOptions(parent=self)

        # 1. The origins: one AWS_IAM function URL per function, or (origin: vpc) one VPC origin
        # in front of an internal ALB that invokes them all.
        self.vpc_origin = self._vpc_origin() if config.origin == "vpc" else None
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
            if self.vpc_origin is None
        }
        self.function_urls = {n: u.function_url for n, u in urls.items()}

        # 2. Who signs: OAC (CloudFront itself) or the Lambda@Edge signer; nobody for a VPC origin.
        self.signer = None
        lambda_oac = self._signing() if self.vpc_origin is None else None

        # 3. Optional static site at the default behavior.
        site = None
        if config.static_site:
            site = StaticSiteBucket(
                f"{name}-site",
                StaticSiteBucketArgs([(f.name, f.path) for f in functions], region=args.region),
                opts=here,
            )

        # 4. Optional web ACL (source allow-list, rate limit, managed rules), enforced at the
        # edge before any signing happens.
        self.web_acl = self._web_acl(config) if config.web_acl else None

        # 4b. The custom domain's certificate: given, or requested and validated by DNS.
        self._certificate_arn = self._certificate()

        # 5. The distribution.
        if self.vpc_origin is not None:
            origins = [self.vpc_origin.origin]
        else:
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

        # 8. The custom domain's names point at the distribution.
        self.domain_urls = self._domain_records()
        # 9. Standard logs, once the distribution (their source) exists.
        if config.access_logs and args.log_buckets is not None:
            self._access_logs(args.log_buckets.target(args.region, "cloudfront"))

        self.url = self.distribution.domain_name.apply(lambda d: f"https://{d}/")
        outputs: dict[str, pulumi.Input[object]] = {
            "edgeUrl": self.url,
            "functionUrls": self.function_urls,
            "distributionId": self.distribution.id,
            **({"edgeDomainUrls": self.domain_urls} if config.domain.enabled else {}),
        }
        if self.vpc_origin is not None:
            outputs["vpcOriginId"] = self.vpc_origin.vpc_origin.id
            outputs["originAlbArn"] = self.vpc_origin.alb.alb.arn
        return outputs

    def _vpc_origin(self) -> VpcOriginAlb:
        """origin: vpc: the internal ALB in the stack's VPC, and the VPC origin in front of it."""
        args = self._args
        assert args.network is not None  # StackConfig.patterns_needing_vpc asked for it
        return build_vpc_origin(
            VpcOriginSpec(
                prefix=f"{self._name}-origin",
                parent=self,
                region=Region(args.region),
                network=args.network,
                functions=args.functions,
            )
        )

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
            if routes_at_the_edge(config)
        ]
        return aws.cloudfront.Distribution(
            f"{self._name}-cdn",
            enabled=True,
            comment=f"lambda-exposure {pulumi.get_stack()}: {self._origin_text()}",
            origins=origins,
            default_cache_behavior=default_behavior,
            ordered_cache_behaviors=ordered,
            default_root_object="index.html" if site is not None else None,
            http_version="http2and3",
            is_ipv6_enabled=IPV6_ENABLED,
            price_class=config.price_class,
            web_acl_id=self.web_acl.arn if self.web_acl is not None else None,
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            aliases=list(config.domain.names) or None,
            viewer_certificate=(
                viewer_certificate(self._certificate_arn)
                if self._certificate_arn is not None
                else {"cloudfront_default_certificate": True}
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The signer must be able to invoke and log from the first request it signs.
                depends_on=list(self.signer.ready) if self.signer is not None else [],
            ),
        )

    def _origin_text(self) -> str:
        if self.vpc_origin is not None:
            return "VPC origin (internal ALB)"
        return f"function URLs ({self._args.config.signing})"

    # -- custom domain ---------------------------------------------------------------------------

    def _certificate(self) -> pulumi.Input[str] | None:
        """The aliases' certificate ARN (None: no domain). CloudFront takes certificates of
        us-east-1 only, so a requested one is made there whatever the stack's region."""
        domain = self._args.config.domain
        if not domain.enabled:
            return None
        if domain.certificate_arn:
            return domain.certificate_arn
        return dns_validated_certificate(
            CertificateSpec(
                self._name, domain.names, domain.hosted_zone_id, EDGE_REGION, parent=self
            )
        )

    def _domain_records(self) -> list[str]:
        """Alias records of every name to the distribution (with a zone); the domain URLs.

        An alternate domain name can be on one distribution only, in any account: a name still
        on another distribution makes CloudFront refuse this one (CNAMEAlreadyExists) until it
        is moved (docs/patterns/edge.md, Caveats).
        """
        domain = self._args.config.domain
        if domain.hosted_zone_id:
            alias_records(
                AliasSpec(
                    f"{self._name}-alias",
                    domain.names,
                    domain.hosted_zone_id,
                    target_name=self.distribution.domain_name,
                    # Z2FDTNDATAQYW2, CloudFront's zone for every distribution.
                    target_zone_id=self.distribution.hosted_zone_id,
                    ipv6=IPV6_ENABLED,
                    parent=self,
                )
            )
        return domain.urls()

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
            # One VPC origin for every function: the ALB behind it routes by path.
            "target_origin_id": origin_id(fn) if self.vpc_origin is None else VPC_ORIGIN_ID,
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
        """Admit only ``allowedCidrs`` (one IP set per address family), rate-limit per IP, then
        the managed rule groups: ``components/waf.py``'s rules, in its order.

        A CLOUDFRONT-scope ACL and its IP sets must be created in us-east-1.
        """
        allowed_from = "edge.allowedCidrs" if config.allowed_cidrs else ""
        return build_web_acl(
            WebAclSpec(
                prefix=self._name,
                parent=self,
                scope="CLOUDFRONT",
                region=EDGE_REGION,
                description=acl_description(
                    "lambda-exposure", allowed_from, bool(config.managed_rules)
                ),
                rate_limit=config.rate_limit,
                managed_rules=config.managed_rules,
                allowed_cidrs=config.allowed_cidrs,
                allowed_from=allowed_from,
            )
        )


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

"""``lambda-exposure:quotas``: account quotas raised in Service Quotas, declared to the program."""

from __future__ import annotations

from pydantic import Field

from components.config.base import ConfigModel
from components.config.waf import BASE_WEB_ACL_WCUS, MAX_WEB_ACL_WCUS


class QuotasConfig(ConfigModel):
    """Account quotas the config may use, where AWS lets them be raised in Service Quotas.

    The defaults are AWS's defaults (``components/quotas.py`` cites each one). Declare a higher
    value only once AWS has granted it: the program then accepts a config that uses that much.
    """

    # AWS grants at most 1,000 divided by the quota of security groups per network interface
    # (5 by default: 200).
    security_group_rules: int = Field(
        default=60,
        ge=60,
        le=1000,
        alias="securityGroupRules",
        description='"Inbound or outbound rules per security group", counted per address family',
    )
    api_policy_characters: int = Field(
        default=8192,
        ge=8192,
        alias="apiPolicyCharacters",
        description='"Length, in characters, of API Gateway resource policy"',
    )
    cloudfront_cache_behaviors: int = Field(
        default=25,
        ge=25,
        alias="cloudfrontCacheBehaviors",
        description='"Cache behaviors per distribution"',
    )
    alb_listener_rules: int = Field(
        default=100,
        ge=100,
        alias="albListenerRules",
        description='"Rules per Application Load Balancer (excluding default rules)"',
    )
    api_resources: int = Field(
        default=300,
        ge=300,
        alias="apiResources",
        description='"Resources per API": the REST API of `ipRestrictedApi`, its root included',
    )
    # Not a Service Quotas value: AWS accepts up to 5,000 WCUs in any web ACL but bills the
    # requests of one over 1,500 extra, so going past 1,500 is declared, like a raised quota.
    waf_web_acl_capacity: int = Field(
        default=BASE_WEB_ACL_WCUS,
        ge=BASE_WEB_ACL_WCUS,
        le=MAX_WEB_ACL_WCUS,
        alias="wafWebAclCapacity",
        description='"Web ACL capacity units (WCUs)" each web ACL may use: past 1,500 AWS '
        "charges more per request for each 500 WCUs; 5,000 is AWS's fixed maximum",
    )

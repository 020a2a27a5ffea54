"""The stack configuration contract: the only package that knows config key names and defaults.

Every key of the contract is a typed field, with its default in code (Pulumi.yaml defaults are
not applied under mocks, and a program whose behaviour depends on them cannot be tested) and a
``description`` (the docs' options tables are generated from them: ``python -m
tools.doc_tables``). ``load_config()`` turns raw stack config into frozen objects, or stops the
program with one ``pulumi.RunError`` per bad value, naming its key path, *before* any resource
is registered. Components receive these objects and never read ``pulumi.Config`` themselves.

Layout: ``base`` (the model base, ``ConfigError``, text matching), ``types`` (field types shared
by several models: CIDR lists by family, ARNs by service, regions, retention, paths), one module
per top-level key (``functions``, ``network``, ``static_ip``, ``ip_restricted_api``, ``edge``,
``private_endpoint``, ``static_egress``, ``ip_range_sync``, ``quotas``; ``waf`` is the web ACL
settings several of them share), ``stack`` (the whole config and its cross-pattern rules),
``loading`` (raw config in, messages out) and ``access_logs`` (which region's log bucket
receives which access logs). Import from
the package itself: ``from components.config import StackConfig``.
"""

from components.config.access_logs import LogDelivery, access_log_deliveries
from components.config.base import ENTRIES, HANDLERS_DIR, PROJECT, ConfigError, ConfigModel
from components.config.domains import ApiDomainConfig, EdgeDomainConfig
from components.config.edge import CorsConfig, EdgeConfig
from components.config.functions import FunctionConfig
from components.config.ip_range_sync import KNOWN_IP_RANGE_SERVICES, IpRangeSyncConfig
from components.config.ip_restricted_api import (
    ApiRoute,
    HttpMethod,
    IpRestrictedApiConfig,
    Throttling,
    route_literal_prefix,
)
from components.config.loading import (
    load_config,
    model_in,
    parse_config,
    read_raw_config,
    suspicious_config_keys,
    warnings_for,
)
from components.config.network import NetworkConfig
from components.config.private_endpoint import PrivateEndpointConfig, private_dns_effect
from components.config.quotas import QuotasConfig
from components.config.stack import TOP_LEVEL_KEYS, StackConfig
from components.config.static_egress import StaticEgressConfig
from components.config.static_ip import RegionEndpoint, StaticIpConfig
from components.config.types import (
    LOG_RETENTION_DAYS,
    MAX_PATH_LENGTH,
    AcmArn,
    Cidr,
    Cidrs,
    FunctionArn,
    HasPath,
    IamPrincipal,
    Ipv4Cidr,
    Ipv4Cidrs,
    LogRetentionDays,
    PathPrefix,
    Region,
    is_account_id,
    serving_function,
)
from components.config.waf import (
    AWS_MANAGED_RULE_GROUPS,
    MANAGED_RULES_VENDOR,
    ManagedRuleGroup,
    WafConfig,
    web_acl_wcus,
)

__all__ = [
    "AWS_MANAGED_RULE_GROUPS",
    "ENTRIES",
    "HANDLERS_DIR",
    "KNOWN_IP_RANGE_SERVICES",
    "LOG_RETENTION_DAYS",
    "MANAGED_RULES_VENDOR",
    "MAX_PATH_LENGTH",
    "PROJECT",
    "TOP_LEVEL_KEYS",
    "AcmArn",
    "ApiDomainConfig",
    "ApiRoute",
    "Cidr",
    "Cidrs",
    "ConfigError",
    "ConfigModel",
    "CorsConfig",
    "EdgeConfig",
    "EdgeDomainConfig",
    "FunctionArn",
    "FunctionConfig",
    "HasPath",
    "HttpMethod",
    "IamPrincipal",
    "IpRangeSyncConfig",
    "IpRestrictedApiConfig",
    "Ipv4Cidr",
    "Ipv4Cidrs",
    "LogDelivery",
    "LogRetentionDays",
    "ManagedRuleGroup",
    "NetworkConfig",
    "PathPrefix",
    "PrivateEndpointConfig",
    "QuotasConfig",
    "Region",
    "RegionEndpoint",
    "StackConfig",
    "StaticEgressConfig",
    "StaticIpConfig",
    "Throttling",
    "WafConfig",
    "access_log_deliveries",
    "is_account_id",
    "load_config",
    "model_in",
    "parse_config",
    "private_dns_effect",
    "read_raw_config",
    "route_literal_prefix",
    "serving_function",
    "suspicious_config_keys",
    "warnings_for",
    "web_acl_wcus",
]

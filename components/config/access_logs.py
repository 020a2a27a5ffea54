"""Access logs (``staticIp.accessLogs``, ``edge.accessLogs``): which log bucket receives what.

Every delivery lands in the stack's log bucket *of a region*: one private bucket per region
that needs one (``components/logs.py``). Where each delivery must go is decided by AWS:

* ALB access logs: "The bucket must be located in the same Region as the load balancer", so
  each ALB of ``staticIp`` (the stack region's, and one per extra ``staticIp.regions`` entry)
  writes to the bucket of its own region.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
* Global Accelerator flow logs: the accelerator is global and its documentation sets no region
  for the bucket ("an existing S3 bucket that you specify"), so the stack region's bucket.
  https://docs.aws.amazon.com/global-accelerator/latest/dg/monitoring-global-accelerator.flow-logs.html
* CloudFront standard logs (v2): configured in us-east-1, delivered to a bucket "in any Region",
  opt-in Regions included, so the stack region's bucket too.
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html

API Gateway access logs are not here: API Gateway writes them to CloudWatch Logs (or a Firehose
stream), never to S3, and ``ipRestrictedApi.accessLogs`` keeps them in a log group with its own
retention (``ipRestrictedApi.logRetentionDays``).

Nothing here knows a resource name; ``components/logs.py`` turns a delivery into a prefix, a
bucket policy statement and a lifecycle rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

if TYPE_CHECKING:
    from components.config.stack import StackConfig

# Logs are evidence kept for a while, then a cost: three months unless the stack says otherwise.
DEFAULT_ACCESS_LOG_RETENTION_DAYS = 90

# S3 lifecycle expiration takes a positive number of days.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html
AccessLogRetentionDays = Annotated[int, Field(ge=1)]

DeliveryKind = Literal["alb", "accelerator", "cloudfront"]


@dataclass(frozen=True)
class LogDelivery:
    """One kind of log a region's bucket receives, and how long the bucket keeps it."""

    kind: DeliveryKind
    retention_days: int


def access_log_deliveries(config: StackConfig) -> dict[str, list[LogDelivery]]:
    """Region -> what its log bucket receives; empty when no access log is turned on.

    The stack region comes first, then the extra regions of ``staticIp.regions`` in config
    order (the order the buckets are created in).
    """
    plan: dict[str, list[LogDelivery]] = {}
    sip = config.static_ip
    if sip.enabled and sip.access_logs:
        days = sip.access_log_retention_days
        extra = [e.region for e in sip.regions if e.region != config.region]
        for region in [config.region, *extra]:
            plan.setdefault(region, []).append(LogDelivery("alb", days))
        if sip.entry == "global-accelerator":
            plan[config.region].append(LogDelivery("accelerator", days))
    edge = config.edge
    if edge.enabled and edge.access_logs:
        plan.setdefault(config.region, []).append(
            LogDelivery("cloudfront", edge.access_log_retention_days)
        )
    return plan

"""The Lambda@Edge function that SigV4-signs origin requests for AWS_IAM function URLs.

After *Protecting an AWS Lambda function URL with Amazon CloudFront and Lambda@Edge* (AWS
Compute Blog).

Only the packaging lives here; what the function does is ``handlers/edge_signer.py``. The
constraints below are Lambda@Edge's, not choices:

* created in **us-east-1** whatever the stack's region (per-resource ``region``), because
  CloudFront only replicates functions from there;
* **published**: CloudFront associates a numbered version (the qualified ARN), never
  ``$LATEST`` or an alias;
* its role is trusted by ``lambda.amazonaws.com`` *and* ``edgelambda.amazonaws.com``;
* no environment variables, no layers, x86_64 (the edge runtime does not run arm64).

Lambda@Edge replicas outlive the distribution by a while, and a replicated function cannot be
deleted until they are gone; so the function is ``retain_on_delete`` by default
(``edge.retainEdgeFunction``) and ``pulumi destroy`` forgets it instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.function import RUNTIME, ExposedFunction, assume_role_policy, code_archive

EDGE_REGION = "us-east-1"  # the only region CloudFront accepts Lambda@Edge functions from
EDGE_ARCHITECTURE = "x86_64"  # Lambda@Edge does not support arm64 functions
HANDLER_MODULE = "edge_signer"
# Origin-request functions may run up to 30 s; signing takes microseconds, so a short timeout
# turns a stuck replica into a quick 502 rather than a viewer waiting half a minute.
TIMEOUT_SECONDS = 5
MEMORY_MB = 128


@dataclass(frozen=True)
class EdgeSignerFunctionArgs:
    functions: Sequence[ExposedFunction]  # the ones whose URLs it may sign for
    # Left behind by a destroy rather than failing on its replicas (edge.retainEdgeFunction).
    retain: bool


def invoke_policy(function_arns: Sequence[str]) -> str:
    """What the signer's credentials may do: invoke exactly the exposed functions' URLs.

    Function URLs created since October 2025 authorize ``lambda:InvokeFunctionUrl`` *and*
    ``lambda:InvokeFunction``, both on the unqualified ARNs. ``lambda:InvokeFunction`` alone would
    also let these credentials call the Invoke API directly, around CloudFront and its web ACL,
    so it carries ``lambda:InvokedViaFunctionUrl``, as the OAC permissions do
    (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html). That key exists for
    InvokeFunction only, hence two statements.
    """
    arns = list(function_arns)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "InvokeExposedFunctionUrls",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunctionUrl",
                    "Resource": arns,
                },
                {
                    "Sid": "InvokeExposedFunctionsViaTheirUrlsOnly",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": arns,
                    "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
                },
            ],
        }
    )


def edge_logging_policy(function_arn: str, function_name: str) -> str:
    """Log writing for the replicas, in whichever region they run.

    Replicas log to ``/aws/lambda/us-east-1.<name>`` in the region that served the viewer, and
    CloudFront may add regions at any time; so the region is the one part left open. The
    account and the log-group name are pinned, so the role cannot write any other log.
    """
    account = function_arn.split(":")[4]
    partition = function_arn.split(":")[1]
    group = f"arn:{partition}:logs:*:{account}:log-group:/aws/lambda/{EDGE_REGION}.{function_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WriteOwnEdgeLogGroupInAnyRegion",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [group, f"{group}:*"],
                }
            ],
        }
    )


class EdgeSignerFunction(Component[EdgeSignerFunctionArgs]):
    """The signer function in us-east-1, its role, and the published version CloudFront uses."""

    TYPE = "lambda-exposure:index:EdgeSignerFunction"
    qualified_arn: pulumi.Output[str]
    function: aws.lambda_.Function
    role: aws.iam.Role
    # Policies the distribution must wait for, so the first signed request can invoke and log.
    ready: list[pulumi.Resource]

    def _build(self) -> pulumi.Inputs:
        name, args = self._name, self._args
        here = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy(
                "lambda.amazonaws.com", "edgelambda.amazonaws.com"
            ),
            description="lambda-exposure Lambda@Edge signer: invoke the exposed function URLs",
            opts=here,
        )
        invoke = aws.iam.RolePolicy(
            f"{name}-invoke",
            role=self.role.id,
            policy=pulumi.Output.all(*[f.arn for f in args.functions]).apply(invoke_policy),
            opts=here,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            region=EDGE_REGION,
            runtime=RUNTIME,
            architectures=[EDGE_ARCHITECTURE],
            handler=f"{HANDLER_MODULE}.handler",
            code=code_archive(HANDLER_MODULE),
            role=self.role.arn,
            publish=True,
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            description="lambda-exposure: SigV4-signs CloudFront origin requests to function URLs",
            opts=pulumi.ResourceOptions(
                parent=self,
                # Replicas keep the function undeletable for a while after the distribution is
                # gone; retained, it is left behind (and listed in docs/operations.md) instead.
                retain_on_delete=args.retain,
            ),
        )
        logging = aws.iam.RolePolicy(
            f"{name}-logging",
            role=self.role.id,
            policy=pulumi.Output.all(self.function.arn, self.function.name).apply(
                lambda found: edge_logging_policy(found[0], found[1])
            ),
            opts=here,
        )
        self.ready = [invoke, logging]
        self.qualified_arn = self.function.qualified_arn
        return {"qualifiedArn": self.qualified_arn, "functionName": self.function.name}

"""The functions every pattern exposes: a bundled handler, or an existing function by ARN.

Both kinds come out as the same small ``ExposedFunction`` record, so a pattern never needs to
know whether this stack owns the function. Only bundled functions are created (and, for
``staticEgress``, placed in the VPC); an existing function is looked up so a wrong ARN fails the
deployment early, and is never modified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.config import HANDLERS_DIR, FunctionConfig
from components.naming import physical_name
from components.region import Region

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"  # pure-Python handlers: Graviton is cheaper at the same speed


@dataclass(frozen=True)
class ExposedFunction:
    """What a pattern needs to put a function behind an entry point."""

    name: str
    path: str
    bundled: bool
    arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    region: str
    # The resource to depend on / parent permissions to; None for an existing function.
    resource: aws.lambda_.Function | None = None


@dataclass(frozen=True)
class VpcPlacement:
    """Where bundled functions run when a pattern (staticEgress) puts them in the VPC."""

    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    # Resources that must exist before the function (routes to the NAT, so the first call has
    # its egress path).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


@dataclass(frozen=True)
class ExposedFunctionsArgs:
    functions: Sequence[FunctionConfig]
    # The stack's, or the one staticIp.regions copies the functions into (named on each child).
    region: Region
    # staticEgress's: bundled functions in the VPC, and what they read to prove their egress.
    placement: VpcPlacement | None = None
    environment: Mapping[str, str] = field(default_factory=dict)


def code_archive(handler: str) -> pulumi.AssetArchive:
    """A zip of just the handler module: nothing else of the repository is deployed."""
    path = HANDLERS_DIR / f"{handler}.py"
    return pulumi.AssetArchive({f"{handler}.py": pulumi.FileAsset(str(path))})


def assume_role_policy(*services: str) -> str:
    """Trust policy for the given service principals (Lambda@Edge needs two)."""
    principals = list(services) or ["lambda.amazonaws.com"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": principals if len(principals) > 1 else principals[0]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def logging_policy(log_group_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Write access to the function's own log group only (no logs:CreateLogGroup on '*')."""
    return pulumi.Output.from_input(log_group_arn).apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "WriteOwnLogGroup",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [arn, f"{arn}:*"],
                    }
                ],
            }
        )
    )


def vpc_access_policy() -> str:
    """The ENI actions Lambda performs with the function's role to attach it to a VPC.

    The same actions as AWSLambdaVPCAccessExecutionRole minus its logging grant (the function's
    logging policy is scoped to its own log group). Why '*' and no tighter form: the Lambda
    developer guide says ec2:DescribeNetworkInterfaces only works when allowed on all
    resources, and that a DeleteNetworkInterface not allowed on all ENIs can cut the function
    off from the VPC; the ENIs are created by Lambda with IDs nobody knows in advance. Scoping
    CreateNetworkInterface to ``arn:aws:ec2:<region>:<account>:*`` would only restate the
    role's own account, for no practical gain. Lambda needs them to create and delete the ENIs,
    not to invoke the function.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ManageVpcNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    "Resource": "*",
                }
            ],
        }
    )


class ExposedFunctions(Component[ExposedFunctionsArgs]):
    """Creates the bundled functions and looks up the existing ones."""

    TYPE = "lambda-exposure:index:ExposedFunctions"
    functions: list[ExposedFunction]

    def _build(self) -> pulumi.Inputs:
        self.functions = [
            self._bundled(fn) if fn.bundled else self._existing(fn) for fn in self._args.functions
        ]
        return {"functionArns": {f.name: f.arn for f in self.functions}}

    def _bundled(self, fn: FunctionConfig) -> ExposedFunction:
        """Log group → role → its policies → the function, which waits for them."""
        assert fn.handler is not None
        args, child = self._args, f"{self._name}-{fn.name}"
        here = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{child}-logs",
            retention_in_days=fn.log_retention_days,
            region=args.region.arg,
            opts=here,
        )
        role = aws.iam.Role(
            f"{child}-role",
            # A copy in another region carries the region in its logical names; the explicit
            # names they may need shorten it (see components/naming.py).
            name=physical_name(f"{child}-role", "iam-role", args.region.arg),
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            description=f"Execution role of lambda-exposure function {fn.name}: logging only",
            opts=here,
        )
        policies = [
            aws.iam.RolePolicy(
                f"{child}-logging", role=role.id, policy=logging_policy(log_group.arn), opts=here
            )
        ]
        placement = args.placement
        if placement is not None:
            policies.append(
                aws.iam.RolePolicy(
                    f"{child}-vpc-access", role=role.id, policy=vpc_access_policy(), opts=here
                )
            )
        function = aws.lambda_.Function(
            child,
            # The stack's own functions always keep their autoname (functions-<name> fits 64);
            # the copies of staticIp.regions with long names do not.
            name=physical_name(child, "lambda-function", args.region.arg),
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=f"{fn.handler}.handler",
            code=code_archive(fn.handler),
            role=role.arn,
            memory_size=fn.memory_size,
            timeout=fn.timeout,
            logging_config={"log_format": "Text", "log_group": log_group.name},
            environment={"variables": dict(args.environment)} if args.environment else None,
            vpc_config=(
                {
                    "subnet_ids": list(placement.subnet_ids),
                    "security_group_ids": list(placement.security_group_ids),
                }
                if placement is not None
                else None
            ),
            # 256 characters is Lambda's limit; a path has no bound of its own.
            description=f"lambda-exposure: {fn.name} ({fn.handler}.py), served at {fn.path}"[:256],
            region=args.region.arg,
            # The role's policies must exist before the first invocation can log.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*policies, *(placement.depends_on if placement else ())],
            ),
        )
        return ExposedFunction(
            name=fn.name,
            path=fn.path,
            bundled=True,
            arn=function.arn,
            invoke_arn=function.invoke_arn,
            function_name=function.name,
            region=args.region.name,
            resource=function,
        )

    def _existing(self, fn: FunctionConfig) -> ExposedFunction:
        assert fn.arn is not None
        arn_region = fn.arn.split(":")[3]
        # A lookup, not a resource: the function belongs to someone else and is never changed.
        found = aws.lambda_.get_function_output(
            function_name=fn.arn,
            # Lambda answers for its own region only: asked in the stack's region, a function
            # elsewhere is "not found" although its ARN is right.
            region=arn_region,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # No resource to depend on or parent permissions to: the record alone.
        return ExposedFunction(
            fn.name, fn.path, False, found.arn, found.invoke_arn, found.function_name, arn_region
        )

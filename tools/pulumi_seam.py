"""The one seam between this project's harness and the Pulumi SDK's internals.

``tools/synth.py`` runs the real ``__main__.py`` under Pulumi's mocks, many times in one process,
and needs more than the public testing API (``pulumi.runtime.set_mocks`` and
``pulumi.runtime.Mocks``) gives: every resource option the program passed, the construction
order, the stack outputs, and what had been sent to the engine when a run fails.
``tools/check.py`` derives input schemas from the SDK's own input types. Everything either of
them needs from Pulumi beyond its public API is here, behind the functions below; no other
module of the project (tests included) imports ``pulumi.runtime`` internals or ``pulumi._types``.

Written against **pulumi 3.272.0** (``requirements.txt`` pins it; ``WRITTEN_AGAINST`` below).
What is relied on, and why:

==============================================  ================================================
internal                                        why
==============================================  ================================================
``pulumi.runtime.settings.ROOT``                reset to ``None`` before each run: ``set_mocks``
                                                creates a root stack only when there is none,
                                                and the previous run's one belongs to a closed
                                                event loop.
``pulumi.runtime.settings.SETTINGS.outputs``    emptied before and after each run: a run that
                                                failed inside an ``apply`` leaves tasks bound to
                                                its own loop there (``set_mocks`` does not reset
                                                them); the next run would wait on them forever.
``pulumi.runtime.config.set_all_config``        the stack config (the flat, JSON-encoded map the
                                                engine would pass), cleared after each run.
``pulumi.runtime.stack.run_pulumi_func``        runs the program as the language host does:
                                                waits for every outstanding RPC, re-raises.
``pulumi.runtime.mocks.MockMonitor``            subclassed: its ``RegisterResource`` and
                                                ``RegisterResourceOutputs`` see each request;
                                                ``resources`` holds the states the mocks
                                                answered. ``Mocks.new_resource`` alone never
                                                sees parent, dependencies or options.
``pulumi.runtime.mocks._ensure_event_loop``     registrations run on executor threads, which
                                                need a loop to deserialize resource references.
``pulumi.runtime.rpc.deserialize_properties``   the request's inputs / outputs as Python values.
request fields (``RegisterResourceRequest``)    ``type name parent dependencies protect
                                                retainOnDelete deleteBeforeReplace custom
                                                provider ignoreChanges aliases object``; an alias
                                                is ``urn`` or ``spec.name/type/parentUrn/
                                                noParent``; ``RegisterResourceOutputsRequest``:
                                                ``urn outputs``.
``pulumi.Resource.__init__`` (wrapped)          ``(self, t, name, custom, props, opts, ...)``:
                                                the construction order (registrations reach the
                                                monitor in no fixed order) and a hook that lets a
                                                test rename or re-parent resources.
``pulumi.export`` (replaced during a run)       under mocks the root stack's outputs are never
                                                registered; the values are collected instead.
``pulumi.runtime.resource._get_stack_trace``    replaced by an empty ``source_pb2.StackTrace``
(replaced during a run)                         during a run: the source position of each
                                                resource serves only a real engine's
                                                diagnostics, and capturing it (the whole stack,
                                                a file URI per frame) was up to a third of a
                                                run under pytest.
``pulumi._types.is_input_type`` and             ``tools/check.py``: which classes are
``input_type_py_to_pulumi_names``               ``@pulumi.input_type`` and their wire names.
``pulumi.runtime.rpc.get_resource_module``      ``tools/check.py``: type token -> SDK class.
``<generated resource>._internal_init``         ``tools/check.py``: the Python names a resource
                                                class is constructed from.
==============================================  ================================================

When upgrading pulumi: bump the pin in ``requirements.txt`` and ``WRITTEN_AGAINST`` together
(``tests/test_pulumi_seam.py`` fails until both agree), then run ``tests/test_pulumi_seam.py``:
it fails, naming the internal, when one of the above is gone or changed shape. Then the whole
suite and ``python -m tools.urn_snapshot --check`` (URNs come from the runtime too). The usual
suspects are a renamed request field (read directly, so every run fails on it rather than
recording a flag as ``False``) and a new constructor parameter of ``pulumi.Resource``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import runpy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from pulumi import _types as pulumi_types
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func

WRITTEN_AGAINST = "3.272.0"

STACK_TYPE = "pulumi:pulumi:Stack"

# (type token, logical name, custom?, opts) -> (logical name, opts): applied to every resource
# the program constructs, before the SDK sees it. A stand-in for a refactor in tests.
ConstructionHook = Callable[[str, str, bool, Any], tuple[str, Any]]

# The RegisterResourceRequest fields read for each registration.
REQUEST_FIELDS = (
    "type",
    "name",
    "parent",
    "dependencies",
    "protect",
    "retainOnDelete",
    "deleteBeforeReplace",
    "custom",
    "provider",
    "ignoreChanges",
    "aliases",
    "object",
)


@dataclass
class Registration:
    """One ``RegisterResource`` request, as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    custom: bool
    provider: str
    ignore_changes: list[str]
    # Each alias as one string: a URN, or "name=..;type=..;parentUrn=.." for an alias spec.
    aliases: list[str] = field(default_factory=list)


@dataclass
class ProgramRun:
    """What one run of a program under mocks sent to the engine, and what it got back."""

    # In the order the program constructed the resources (the root stack left out).
    registrations: list[Registration]
    # URN -> the state the mocks answered for it (the resource's outputs).
    states: dict[str, dict[str, Any]]
    # Component URN -> what its register_outputs registered.
    component_outputs: dict[str, dict[str, Any]]
    # pulumi.export(name, value), every value resolved.
    exports: dict[str, Any]


class ProgramFailed(pulumi.RunError):
    """The program raised: its message, and what it had asked of the engine until then.

    ``constructed`` lists every resource the program created an object for (``type::name``),
    ``registered`` those whose registration reached the engine: a resource whose inputs failed
    (an error inside an ``apply``) is constructed and never registered. A subclass of
    ``pulumi.RunError``, so callers that expect the program's own error keep catching it.
    """

    def __init__(self, message: str, *, constructed: list[str], registered: list[str]) -> None:
        super().__init__(message)
        self.constructed = constructed
        self.registered = registered

    def registered_types(self) -> set[str]:
        return {entry.split("::", 1)[0] for entry in self.registered}


class _Monitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, keeping each request's fields (it drops the options)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requested: list[str] = []
        self.registrations: list[Registration] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        self.requested.append(f"{request.type}::{request.name}")
        response = super().RegisterResource(request)
        # Registrations run on executor threads: read this request's own inputs.
        pulumi_mocks._ensure_event_loop()
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                inputs=dict(rpc.deserialize_properties(request.object)),
                dependencies=list(request.dependencies),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                custom=bool(request.custom),
                provider=request.provider,
                ignore_changes=list(request.ignoreChanges),
                aliases=[_alias_text(a) for a in request.aliases],
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = rpc.deserialize_properties(request.outputs)
        self.component_outputs[request.urn] = dict(outputs)
        return super().RegisterResourceOutputs(request)


def _alias_text(alias: Any) -> str:
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    parts = [
        f"{key}={getattr(spec, key)}" for key in ("name", "type", "parentUrn") if getattr(spec, key)
    ]
    if spec.noParent:
        parts.append("noParent")
    return ";".join(parts)


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The engine's WARNING severity only: pulumi.log.warn, the program's warnings.
        if record.levelno == logging.WARNING:
            self.messages.append(record.getMessage())


def warning_logger() -> tuple[logging.Logger, list[str]]:
    """A logger for ``run_program`` and the list its warnings (``pulumi.log.warn``) land in."""
    logger = logging.Logger("lambda-exposure.synth")  # not registered: one per run
    logger.propagate = False
    collector = _WarningCollector()
    logger.addHandler(collector)
    return logger, collector.messages


async def _resolve(value: Any) -> Any:
    if isinstance(value, pulumi.Output):
        return await _resolve(await value.future())
    if isinstance(value, dict):
        return {k: await _resolve(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [await _resolve(v) for v in value]
    if asyncio.isfuture(value) or asyncio.iscoroutine(value):
        return await _resolve(await value)
    return value


def _reset_runtime() -> None:
    # A fresh root stack per run: the previous one belongs to another event loop.
    settings.ROOT.set(None)
    # Pending output tasks of a run that failed inside an apply (see the module docstring).
    settings.SETTINGS.outputs = set()


@contextlib.contextmanager
def _constructions(hook: ConstructionHook | None) -> Iterator[list[tuple[str, str]]]:
    """Record (type, name) of every resource constructed, in order; apply ``hook`` first."""
    constructed: list[tuple[str, str]] = []
    original = pulumi.Resource.__init__

    def recording_init(
        self: Any,
        t: str,
        name: str,
        custom: bool,
        props: Any = None,
        opts: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if hook is not None:
            name, opts = hook(t, name, custom, opts)
        constructed.append((t, name))
        original(self, t, name, custom, props, opts, *args, **kwargs)

    with mock.patch.object(pulumi.Resource, "__init__", recording_init):
        yield constructed


def run_program(
    program: Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    mocks: pulumi.runtime.Mocks,
    logger: logging.Logger,
    hook: ConstructionHook | None = None,
) -> ProgramRun:
    """Run ``program`` once under ``mocks``, isolated from any previous run.

    ``config`` is Pulumi's flat config map (``{"aws:region": "eu-west-1",
    "lambda-exposure:staticIp": "{...json...}"}``). Raises ``ProgramFailed`` when the program
    raises a ``pulumi.RunError`` (any other exception propagates as it is, a bug to see).
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _reset_runtime()
    set_all_config(dict(config))
    monitor = _Monitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=False, logger=logger, monitor=monitor
    )
    exports: dict[str, Any] = {}
    with (
        _constructions(hook) as constructed,
        # Source positions only point diagnostics of a real engine at a line; capturing one
        # (the whole Python stack, a file URI per frame) per resource is a third of a run.
        mock.patch.object(runtime_resource, "_get_stack_trace", source_pb2.StackTrace),
    ):

        def body() -> None:
            with mock.patch.object(pulumi, "export", exports.__setitem__):
                runpy.run_path(str(program), run_name="__main__")

        try:
            loop.run_until_complete(run_pulumi_func(body))
            resolved = loop.run_until_complete(_resolve(exports))
        except pulumi.RunError as exc:
            _reset_runtime()
            raise ProgramFailed(
                str(exc),
                constructed=[f"{t}::{n}" for t, n in constructed],
                registered=list(monitor.requested),
            ) from exc
        finally:
            set_all_config({})
            loop.close()
    order = {key: index for index, key in reversed(list(enumerate(constructed)))}
    registrations = sorted(
        monitor.registrations, key=lambda r: order.get((r.type, r.name), len(order))
    )
    return ProgramRun(
        registrations=registrations,
        states={urn: dict(reg.state) for urn, reg in monitor.resources.items()},
        component_outputs=monitor.component_outputs,
        exports=resolved,
    )


# -- the SDK's input types, for tools/check.py -------------------------------------------------


def is_input_type(cls: type) -> bool:
    """True for a ``@pulumi.input_type`` class (``FooArgs``)."""
    return bool(pulumi_types.is_input_type(cls))


def wire_names(input_type: type) -> dict[str, str]:
    """Python property name -> wire (camelCase) name, for a ``@pulumi.input_type`` class."""
    return dict(pulumi_types.input_type_py_to_pulumi_names(input_type))


def resource_module(package: str, module_token: str) -> Any:
    """The module object an SDK package registered for ``package:module`` (or None)."""
    return rpc.get_resource_module(package, module_token, "")


def constructor_parameters(resource_class: type) -> frozenset[str]:
    """Python names a generated resource class is constructed from (its ``_internal_init``)."""
    internal_init = getattr(resource_class, "_internal_init", None)
    if internal_init is None:
        raise TypeError(
            f"{resource_class.__name__} has no _internal_init: the SDK's generated resource "
            "classes changed shape (see tools/pulumi_seam.py)"
        )
    parameters = inspect.signature(internal_init).parameters
    return frozenset(p for p in parameters if p not in ("__self__", "resource_name", "opts"))


def missing_internals() -> list[str]:
    """The internals above that are gone or changed shape: empty while the seam holds."""

    def params(fn: Any) -> list[str]:
        return list(inspect.signature(fn).parameters)

    def request_fields() -> bool:
        from pulumi.runtime.proto import alias_pb2, resource_pb2

        register = set(resource_pb2.RegisterResourceRequest.DESCRIPTOR.fields_by_name)
        outputs = set(resource_pb2.RegisterResourceOutputsRequest.DESCRIPTOR.fields_by_name)
        alias = set(alias_pb2.Alias.Spec.DESCRIPTOR.fields_by_name)
        return (
            set(REQUEST_FIELDS) <= register
            and {"urn", "outputs"} <= outputs
            and {"name", "type", "parentUrn", "noParent"} <= alias
        )

    probes: list[tuple[str, Callable[[], bool]]] = [
        ("pulumi.runtime.settings.ROOT (a ContextVar)", lambda: hasattr(settings.ROOT, "set")),
        (
            "pulumi.runtime.settings.SETTINGS.outputs (a set)",
            lambda: isinstance(settings.SETTINGS.outputs, set),
        ),
        (
            "pulumi.runtime.config.set_all_config(config, ...)",
            lambda: params(set_all_config)[:1] == ["config"],
        ),
        (
            "pulumi.runtime.stack.run_pulumi_func(func)",
            lambda: params(run_pulumi_func) == ["func"],
        ),
        (
            "pulumi.runtime.mocks.MockMonitor: RegisterResource, RegisterResourceOutputs, "
            ".resources",
            lambda: (
                callable(getattr(pulumi_mocks.MockMonitor, "RegisterResource", None))
                and callable(getattr(pulumi_mocks.MockMonitor, "RegisterResourceOutputs", None))
                and isinstance(_Monitor(_NoMocks()).resources, dict)
            ),
        ),
        (
            "pulumi.runtime.mocks._ensure_event_loop()",
            lambda: callable(getattr(pulumi_mocks, "_ensure_event_loop", None)),
        ),
        (
            "pulumi.runtime.rpc.deserialize_properties(props_struct, ...)",
            lambda: params(rpc.deserialize_properties)[:1] == ["props_struct"],
        ),
        (
            "RegisterResourceRequest, RegisterResourceOutputsRequest, Alias.Spec fields",
            request_fields,
        ),
        (
            "pulumi.Resource.__init__(self, t, name, custom, props, opts, ...)",
            lambda: (
                params(pulumi.Resource.__init__)[:6]
                == ["self", "t", "name", "custom", "props", "opts"]
            ),
        ),
        (
            "pulumi.runtime.set_mocks(mocks, ..., preview=, logger=, monitor=)",
            lambda: {"preview", "logger", "monitor"} <= set(params(pulumi.runtime.set_mocks)),
        ),
        (
            "pulumi._types.is_input_type, input_type_py_to_pulumi_names",
            lambda: (
                callable(getattr(pulumi_types, "is_input_type", None))
                and callable(getattr(pulumi_types, "input_type_py_to_pulumi_names", None))
            ),
        ),
        (
            "pulumi.runtime.resource._get_stack_trace() -> source_pb2.StackTrace",
            lambda: (
                params(runtime_resource._get_stack_trace) == []
                and isinstance(runtime_resource._get_stack_trace(), source_pb2.StackTrace)
            ),
        ),
        (
            "pulumi.runtime.rpc.get_resource_module(package, module, version)",
            lambda: len(params(rpc.get_resource_module)) == 3,
        ),
    ]
    missing = []
    for name, probe in probes:
        try:
            holds = probe()
        except Exception as exc:  # so changed that probing it raised: say how
            missing.append(f"{name}: {exc!r}")
            continue
        if not holds:
            missing.append(name)
    return missing


class _NoMocks(pulumi.runtime.Mocks):
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[Any]]:
        return {}, []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        return None, {}

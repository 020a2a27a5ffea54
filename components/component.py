"""The one shape of every component: ``Component(name, args, opts=None)``.

``args`` is a small frozen dataclass defined next to the component (``StaticIpEntryArgs``, ...):
the pattern's config plus what it needs from the rest of the stack (functions, network, region).
A component's ``_build`` creates its children in the order its module docstring's arrows read
and returns its outputs, which are registered last, once every child exists.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

import pulumi

ArgsT = TypeVar("ArgsT")


class Component(pulumi.ComponentResource, Generic[ArgsT]):
    # The component's type token is part of its URN and of every child's: it never changes, even
    # when the class is renamed (pulumi would replace everything under it).
    TYPE: ClassVar[str]

    def __init__(self, name: str, args: ArgsT, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self._name = name
        self._args = args
        self.register_outputs(self._build())

    def _build(self) -> pulumi.Inputs:
        """Create the children, in architecture order; return the outputs to register."""
        raise NotImplementedError

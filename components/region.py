"""Where a component's children are created: the stack's region, or another one by name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A region, and whether the children say so (pulumi-aws 7's per-resource ``region``).

    The stack's own resources leave ``region`` unset, which means the provider's region (the
    stack's ``aws:region``): their inputs stay what they were before per-resource regions
    existed, so no deployed resource sees a diff. A copy in another region (``staticIp.regions``)
    names that region on every child.
    """

    name: str
    explicit: bool = False

    @property
    def arg(self) -> str | None:
        """The ``region=`` argument of a child: ``None`` says "the provider's region"."""
        return self.name if self.explicit else None

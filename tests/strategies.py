"""Hypothesis strategies the handler tests share."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def json_values(*, text_size: int, leaves: int) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars (strings up to ``text_size``), lists and objects of them, up to
    ``leaves`` scalars in all."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=text_size),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=leaves,
    )

"""The notebook face of a matrix or lazy result: ``_repr_html_``.

What Dask's array shows (a table of facts beside a drawing of the chunks),
for a distributed row matrix: shape, dtype, dense or sparse, the row blocks
drawn with :func:`dask.array.svg.svg`, labels when there are any, and the
optimized plan (what ``explain()`` prints), folded under ``<details>``.
Nothing is computed and no graph is built: the plan is the optimizer's
output, and the drawing needs only the row-block sizes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from dask.array.svg import svg

__all__ = ["html_repr", "labels_text"]

#: Labels shown at each end of a long label list.
_LABELS_SHOWN = 3


def labels_text(labels: Sequence | None) -> str | None:
    """``a, b, c, …, z`` (the first and last few labels), or None without labels."""
    if labels is None:
        return None
    items = [str(x) for x in labels]
    if len(items) > 2 * _LABELS_SHOWN + 1:
        items = [*items[:_LABELS_SHOWN], "…", *items[-_LABELS_SHOWN:]]
    return ", ".join(items)


def html_repr(title: str, facts: list[tuple[str, Any]], chunks: tuple | None, plan: str) -> str:
    """A facts table, the block drawing when ``chunks`` is given, and the folded plan.

    Examples
    --------
    >>> text = html_repr("dlinalg.DRM", [("Shape", "6 x 2")], ((3, 3), (2,)), "Leaf")
    >>> "<svg" in text and "Shape" in text and "<details>" in text
    True
    """
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in facts
        if v is not None
    )
    table = f"<table><thead><tr><th colspan='2' style='text-align:left'>{html.escape(title)}</th></tr></thead><tbody>{rows}</tbody></table>"
    picture = ""
    if chunks is not None and all(chunks):
        try:
            picture = svg(chunks, size=120)
        except (NotImplementedError, ValueError):  # too many blocks to draw
            picture = ""
    plan_html = (
        "<details><summary>Optimized plan</summary>"
        f"<pre style='font-size:85%'>{html.escape(plan)}</pre></details>"
    )
    return (
        "<div class='dlinalg-repr'><table style='border:none'><tr>"
        f"<td style='vertical-align:top;border:none'>{table}</td>"
        f"<td style='vertical-align:top;border:none'>{picture}</td>"
        f"</tr></table>{plan_html}</div>"
    )

"""What a refused edit says about the parts of its instruction that were not applied.

Edits are all or nothing: when one clause of "make it brighter and remove the watermark" cannot
be done, no new picture is made, so the brightening did not happen either. The refusal names
the clause that failed (its own message says why) and, with this sentence, the other clauses,
so the user never believes part of the instruction was applied when none of it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.plan import EditPlan, Operation


def others_not_applied(plan: EditPlan, failed: Sequence[Operation], zh: bool) -> str:
    """A sentence naming the clauses of ``plan`` besides ``failed`` (not applied either), or ``""``
    when there are none. Clauses a purpose added (``implied``) are left out: the user did not
    write them."""
    failed_sources = {op.source for op in failed}
    others: list[str] = []
    for op in plan.operations:
        if op.implied or op in failed or not op.source or op.source in failed_sources:
            continue
        if op.source not in others:
            others.append(op.source)
    if not others:
        return ""
    if zh:
        return "其余部分（" + "、".join(f"“{source}”" for source in others) + "）也没有应用，图片没有改动。"
    return (
        "The other parts ("
        + ", ".join(f"'{source}'" for source in others)
        + ") were not applied either, so the picture is unchanged."
    )

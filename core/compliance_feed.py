"""What the quality report reads from compliance checking (issue 17, branch `comp`).

Until that branch lands there is no findings table and no `post_wage` roster column, so both
readers say "unknown" (None) and the report prints that the data is not available yet. When it
lands, wire these two functions to its rule book and findings table (the rule ids of SPEC 12);
the report needs no other change.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from models import ConsoleUser


def findings_by_rule(
    session: Session, user: ConsoleUser, *, first: date, last: date
) -> list[dict] | None:
    """Findings open at some point in [first, last], per rule, in the user's scope; None when
    compliance checking is not available.

    Each item: {"rule": id, "label": Chinese name, "severity": critical|major,
    "open": n, "resolved": n, "waived": n, "unknown": placements lacking the rule's data}.
    """
    return None


def low_pay_cases(session: Session, user: ConsoleUser, as_of: date) -> dict | None:
    """Placements paid below 80% of the same post's wage (the `low_pay` rule's wage half), as
    {"cases": n, "known": placements with both wages recorded}; None while `post_wage` is
    not recorded."""
    return None

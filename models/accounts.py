"""Bindings of chat accounts: invite codes, binding and unbinding, wrong-code lockouts.

Keyword-only functions over prebuilt Core statements; each takes a Connection or a Session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import DateTime, String, bindparam, column, func, insert, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from models.batch_sql import BinaryStatement, bind_of, listed, unnest_of
from models.channel import BindFailure, ChannelAccount, InviteCode
from models.prepared import Prepared, Read, read_all

# The writer batch's bindings made ahead (claims_ahead_read): (channel, external_id) ->
# (code, binding, a student's receipt line or None), each taken by its message's handler.
CLAIMED_AHEAD = "claimed_ahead"
_ACCOUNT = ChannelAccount.__table__
_CODE = InviteCode.__table__
_FAILURE = BindFailure.__table__

_ACCOUNT_ANY_STATE = sa_select(_ACCOUNT).where(
    _ACCOUNT.c.channel == bindparam("channel"), _ACCOUNT.c.external_id == bindparam("external_id")
)
_ACCOUNT_BY_ID = sa_select(_ACCOUNT).where(_ACCOUNT.c.id == bindparam("id"))
_BOUND_COLUMNS = (
    "channel", "external_id", "person_kind", "person_id", "school_id", "language",
    "display_name", "active", "bound_at",
)  # fmt: skip


def _bind_statement(dialect):
    """One statement: a new binding row, or the sender's old row rebound; returns the row."""
    stmt = dialect.insert(_ACCOUNT).values({name: bindparam(name) for name in _BOUND_COLUMNS})
    return _rebinding(stmt).returning(*_ACCOUNT.c)


def _rebinding(stmt):
    """An insert of a binding that rebinds the sender's old row instead."""
    rebound = {name: stmt.excluded[name] for name in _BOUND_COLUMNS[2:]}
    return stmt.on_conflict_do_update(index_elements=["channel", "external_id"], set_=rebound)


_BIND = Prepared({"postgresql": _bind_statement(postgresql), "sqlite": _bind_statement(sqlite)})


def _claim_and_bind_from(wanted):
    """PostgreSQL: claim codes and bind their senders in ONE statement (the claim a
    data-modifying CTE). `wanted`: a CTE of (code, now, channel, external_id, language,
    display_name) rows, one per sender; a code already used or expired binds nobody. Returns
    the bindings made."""
    claimed = (
        update(_CODE)
        .where(
            _CODE.c.code == wanted.c.code,
            _CODE.c.used_at.is_(None),
            _CODE.c.expires_at > wanted.c.now,
        )
        .values(used_at=wanted.c.now)
        .returning(_CODE.c.person_kind, _CODE.c.person_id, _CODE.c.school_id, *wanted.c)
        .cte("claimed")
    )
    rows = sa_select(
        *(claimed.c[name] for name in _BOUND_COLUMNS[:7]), true(), claimed.c.now
    ).select_from(claimed)
    stmt = postgresql.insert(_ACCOUNT).from_select(list(_BOUND_COLUMNS), rows)
    return _rebinding(stmt).returning(*_ACCOUNT.c).add_cte(wanted).add_cte(claimed)


# What a sender asks to claim: the code, the message's time, since when a wrong code counts
# (claims ahead only), and the binding's own columns.
_WANTED = (
    ("code", String),
    ("now", DateTime(timezone=True)),
    ("since", DateTime(timezone=True)),
    ("channel", String),
    ("external_id", String),
    ("language", String),
    ("display_name", String),
)
# One sender, given as parameters (claim_and_bind; its handler checked the lockout).
_ONE = [bindparam(name, type_=type_).label(name) for name, type_ in _WANTED if name != "since"]
_CLAIM_AND_BIND = Prepared(_claim_and_bind_from(sa_select(*_ONE).cte("wanted")))


def _claims_ahead_statement():
    """Many senders, given as arrays (one element each); a sender with a wrong code in the
    lockout's reach is left out."""
    given = (
        func.unnest(
            *(bindparam(f"{name}s", type_=postgresql.ARRAY(type_)) for name, type_ in _WANTED)
        )
        .table_valued(*(column(name, type_) for name, type_ in _WANTED))
        .render_derived(name="w")
    )
    failed = sa_select(_FAILURE.c.id).where(
        _FAILURE.c.channel == given.c.channel,
        _FAILURE.c.external_id == given.c.external_id,
        _FAILURE.c.at > given.c.since,
    )
    return _claim_and_bind_from(sa_select(given).where(~failed.exists()).cte("free"))


_CLAIMS_AHEAD = Prepared(_claims_ahead_statement())
_DEACTIVATE = update(_ACCOUNT).where(_ACCOUNT.c.id == bindparam("b_id")).values(active=False)
_CODE_BY_VALUE = sa_select(_CODE).where(_CODE.c.code == bindparam("code"))
# Conditional: of two senders racing for one code, exactly one claims it. Claiming a code by
# its value also reads it: one statement where a binding succeeds.
_CLAIM_BY_VALUE = Prepared(
    update(_CODE)
    .where(
        _CODE.c.code == bindparam("b_code"),
        _CODE.c.used_at.is_(None),
        _CODE.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(*_CODE.c)
)
_CODE_USER = Prepared(
    update(_CODE).where(_CODE.c.code == bindparam("b_code")).values(used_by=bindparam("by"))
)
_RECENT_FAILURES = Prepared.per_dialect(
    lambda member: (
        sa_select(_FAILURE.c.external_id, _FAILURE.c.at)
        .where(
            _FAILURE.c.channel == bindparam("channel"),
            member(_FAILURE.c.external_id, "external_ids", String),
            _FAILURE.c.at > bindparam("since"),
        )
        .order_by(_FAILURE.c.external_id, _FAILURE.c.at.desc())
    )
)
_COUNT_FAILURES = sa_select(func.count()).where(
    _FAILURE.c.channel == bindparam("channel"),
    _FAILURE.c.external_id == bindparam("external_id"),
    _FAILURE.c.at > bindparam("since"),
)
_INSERT_FAILURE = insert(_FAILURE)


def account_by_id(executor, *, account_id: int) -> Row | None:
    return executor.execute(_ACCOUNT_BY_ID, {"id": account_id}).first()


def account_for(executor, *, channel: str, external_id: str) -> Row | None:
    """The binding row of a sender, active or not (one row per channel + external id)."""
    params = {"channel": channel, "external_id": external_id}
    return executor.execute(_ACCOUNT_ANY_STATE, params).first()


def claim_and_bind(
    executor,
    *,
    code: str,
    now: datetime,
    channel: str,
    external_id: str,
    language: str,
    display_name: str,
    also: Iterable[Read] = (),
) -> tuple[Row | None, list]:
    """Claim `code` (conditionally: of two senders racing for it, one binds) and bind the
    sender to the code's person, reusing the sender's old binding row. Returns the active
    binding, None when the code could not be claimed (invite_code tells why), and the results
    of the reads `also`, run after the binding (they see it and the claimed code). On
    PostgreSQL that is one statement, sent with `also` in one round trip."""
    values = dict(
        channel=channel, external_id=external_id, language=language, display_name=display_name[:64]
    )
    if bind_of(executor).dialect.name == "postgresql":
        claim = Read(_CLAIM_AND_BIND, {**values, "code": code, "now": now}, _first)
        account, *found = read_all(executor, [claim, *also])
        return account, found
    invite = claim_code(executor, code=code, now=now)
    if invite is None:
        return None, [read.run(executor) for read in also]
    person = dict(
        person_kind=invite.person_kind, person_id=invite.person_id, school_id=invite.school_id
    )
    account = _BIND.first(executor, {**values, **person, "active": True, "bound_at": now})
    return account, [read.run(executor) for read in also]


def claims_ahead_read(executor, *, wanted: list[dict]) -> Read | None:
    """claim_and_bind for many senders at once, as a read to send with others: each of
    `wanted` (code, now, since, channel, external_id, language, display_name; one per
    sender, codes distinct) is claimed and bound unless the code cannot be claimed or the
    sender has a wrong code recorded after `since`. Its rows are the bindings made, by
    (channel, external_id). None on SQLite, where a claim is no round trip to save."""
    if bind_of(executor).dialect.name != "postgresql" or not wanted:
        return None
    params = {f"{name}s": [w[name] for w in wanted] for name, _ in _WANTED}
    params["display_names"] = [name[:64] for name in params["display_names"]]
    return Read(_CLAIMS_AHEAD, params, lambda rows: {(r.channel, r.external_id): r for r in rows})


def _first(rows: list):
    return rows[0] if rows else None


def deactivate_account(executor, *, account_id: int) -> None:
    executor.execute(_DEACTIVATE, {"b_id": account_id})


def invite_code(executor, *, code: str) -> Row | None:
    return executor.execute(_CODE_BY_VALUE, {"code": code}).first()


def claim_code(executor, *, code: str, now: datetime) -> Row | None:
    """Mark the code `code` used if it exists, is unused and unexpired, and return it; None
    otherwise (invite_code then tells why)."""
    return _CLAIM_BY_VALUE.first(executor, {"b_code": code, "now": now})


def set_code_user(executor, *, code: str, account_id: int, batch=None) -> None:
    """Which binding a claimed code made (with the inbound path's writer `batch`: written with
    the batch's other writes before its commit)."""
    params = {"b_code": code, "by": account_id}
    if batch is None:
        _CODE_USER.run(executor, params)
    else:
        batch.rows("code_users", _set_code_users).append(params)


def _set_code_users(conn, rows: list[dict]) -> None:
    """A writer batch's codes and the accounts that used them: on PostgreSQL one UPDATE from
    arrays, where an executemany runs (and plans) one per row."""
    if len(rows) > 1 and conn.dialect.name == "postgresql":
        arrays = {"r_code": [r["b_code"] for r in rows], "r_by": [r["by"] for r in rows]}
        _CODE_USERS_FROM_ARRAYS(conn, arrays)
    else:
        _CODE_USER.run(conn, rows)


def _code_users_from_arrays() -> BinaryStatement:
    params: dict = {}
    pairs = unnest_of({"code": _CODE.c.code, "by": _CODE.c.used_by}, "r", params)
    statement = update(_CODE).where(_CODE.c.code == pairs.c.code).values(used_by=pairs.c.by)
    return BinaryStatement(statement, params)


_CODE_USERS_FROM_ARRAYS = _code_users_from_arrays()


def recent_bind_failures(
    executor, *, channel: str, external_ids: Iterable[str], since: datetime
) -> dict[str, list[datetime]]:
    """The times of senders' wrong codes after `since`, newest first, by external id (one
    statement for a batch's unbound senders)."""
    params = dict(channel=channel, external_ids=listed(executor, sorted(external_ids)), since=since)
    out: dict[str, list[datetime]] = {}
    for external_id, at in _RECENT_FAILURES.all(executor, params):
        out.setdefault(external_id, []).append(at)
    return out


def count_bind_failures(executor, *, channel: str, external_id: str, since: datetime) -> int:
    params = dict(channel=channel, external_id=external_id, since=since)
    return int(executor.execute(_COUNT_FAILURES, params).scalar() or 0)


def record_bind_failure(executor, *, channel: str, external_id: str, at: datetime) -> None:
    executor.execute(_INSERT_FAILURE, dict(channel=channel, external_id=external_id, at=at))

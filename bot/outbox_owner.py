"""Who may send a claimed outbox row: a delivery pass holding a lock that dies with it.

Each delivery pass draws a random 63-bit id, takes a lock named by it before it claims anything
and keeps the lock until it has marked what it claimed. A claimed row carries the id
(`claimed_by`). The lock is one that its holder cannot keep once it is dead, however it dies
(SIGKILL, a lost connection, a power cut of the client):

- PostgreSQL: a session advisory lock, taken on the one connection the pass claims and marks
  with. The server drops it when that session ends: at once when the client process dies,
  within about 90 s (TCP keepalive) when its machine vanishes. If the connection is lost,
  SQLAlchemy would quietly open a new session on next use, which holds no lock: `check()`
  refuses to go on.
- SQLite: an exclusive flock on `<database>.senders/<id>.lock`, held by an open file of the
  sending process. The kernel drops it when the file is closed or the process exits. (SQLite
  needs the database's folder writable for its -wal and -shm files already; every process of
  one SQLite database runs on one machine, containers sharing a volume included, and flock
  works across them.) A lock, rather than the owner's host, pid and start time: there is
  nothing to compare, so neither a reused pid nor a container's own pid numbering can make a
  dead sender look alive or a live one dead.

So "the owner of a row is dead" is a question any process can ask the same authority that
enforces it: `owner_is_dead` tries to take the owner's lock without waiting. While the owner
lives that fails, so two live passes never hold the same row; once it has died it succeeds at
once, so a new `shixi tick` or sender takes the rows over without waiting for a clock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import BigInteger, func, literal, select
from sqlalchemy.engine import Connection, Engine

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite senders there cannot be checked
    fcntl = None  # type: ignore[assignment]

__all__ = ["Owner", "OwnerLost", "open_owner", "owner_is_dead", "owning", "release"]


class OwnerLost(RuntimeError):
    """The pass can no longer prove it holds its lock: it must not claim or mark anything."""


@dataclass
class Owner:
    """A delivery pass: its id, the connection it works on and (SQLite) its lock file."""

    id: int
    conn: Connection
    lock_dir: Path | None = None  # SQLite: where every pass of this database keeps its lock
    _fd: int | None = None

    def check(self) -> None:
        """Raise OwnerLost when the lock may be gone (PostgreSQL: the session was lost)."""
        if self.conn.invalidated or self.conn.closed:
            raise OwnerLost(f"outbox pass {self.id} lost its database session")


# The server probes an idle sender's connection, so that the lock of a client machine that
# vanished from the network is dropped within about 90 s, not the system's two hours.
KEEPALIVE = (("tcp_keepalives_idle", "60"), ("tcp_keepalives_interval", "10"),
             ("tcp_keepalives_count", "3"))  # fmt: skip
KEEPALIVES = tuple(func.set_config(name, value, False) for name, value in KEEPALIVE)
# Back to the system's values when the connection returns to the pool.
KEEPALIVES_OFF = tuple(func.set_config(name, "0", False) for name, _ in KEEPALIVE)


def _key(owner_id: int):
    return literal(owner_id, BigInteger)


def _lock_dir(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError("the outbox sender needs a SQLite database file")
    path = Path(database).resolve()
    return path.with_name(path.name + ".senders")


def _hold_file(lock_dir: Path, owner_id: int) -> int:
    """Create and flock this pass's lock file; returns the descriptor that holds the lock."""
    lock_dir.mkdir(exist_ok=True)
    path = lock_dir / f"{owner_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_owner(engine: Engine) -> Owner:
    """A new pass identity with its lock held, on a connection of its own."""
    owner_id = secrets.randbits(63) or 1
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        # Each statement of a pass is a transaction of its own: a sending round is one
        # statement, and one round trip instead of three.
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    owner = Owner(owner_id, conn)
    try:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_lock(_key(owner_id)), *KEEPALIVES))
            conn.commit()  # SQLAlchemy's transaction; the server has committed already
        elif fcntl is not None:
            owner.lock_dir = _lock_dir(engine)
            owner._fd = _hold_file(owner.lock_dir, owner_id)
    except BaseException:
        release(owner)
        raise
    return owner


@contextlib.contextmanager
def owning(engine: Engine) -> Iterator[Owner]:
    """open_owner ... release.

    The caller has recorded (or given up on) every row it claimed before this exits: from
    then on anyone may take over what is still 'sending' under this id.
    """
    owner = open_owner(engine)
    try:
        yield owner
    finally:
        release(owner)


def release(owner: Owner) -> None:
    """Give up the lock and the connection (what is still 'sending' is up for taking)."""
    conn = owner.conn
    try:
        if conn.dialect.name == "postgresql" and not (conn.invalidated or conn.closed):
            try:
                conn.rollback()
                conn.execute(select(func.pg_advisory_unlock(_key(owner.id)), *KEEPALIVES_OFF))
                conn.commit()
            except Exception:
                conn.invalidate()  # closing the session drops the lock all the same
    finally:
        conn.close()
        if owner._fd is not None:
            # Unlink first: a file that exists is either held or left by a dead pass.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(owner.lock_dir / f"{owner.id}.lock")
            os.close(owner._fd)
            owner._fd = None


def owner_is_dead(owner: Owner, other: int | None) -> bool:
    """Whether the pass `other` is gone for good (None: claimed before owners were recorded).

    PostgreSQL: its advisory lock can be taken (at once given back). SQLite: its lock file is
    gone or can be flocked; a dead pass's file is removed once found. A dead pass never comes
    back (ids are never reused), so the answer stays true.
    """
    if other is None:
        return True
    if other == owner.id:
        return False
    if owner.conn.dialect.name == "postgresql":
        probe = select(func.pg_try_advisory_xact_lock(_key(other)))
        return bool(owner.conn.execute(probe).scalar())
    if owner.lock_dir is None:  # no flock on this platform: only our own rows are known
        return False
    return _file_is_free(owner.lock_dir / f"{other}.lock")


def _file_is_free(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # its owner is dead and will not come back for it
        return True
    finally:
        os.close(fd)

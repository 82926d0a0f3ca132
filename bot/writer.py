"""Group commit: one writer thread runs many requests' database work in one transaction.

Requests hand the writer a job (a function of a Core connection) and await it. The writer
takes every job queued meanwhile, runs them one after the other on one connection, commits
once and only then answers them all: a reply is never sent before its writes are durable, and
SQLite's single writer sees one transaction per batch instead of one per request. Jobs run in
order, so a later job sees what an earlier one wrote (a repeated MsgId in the same batch meets
the first one's dedupe row; rows a job leaves for later, Batch.write_later, are written before
any job that may read them). If a batch fails, each of its jobs is retried in a transaction of
its own, so one bad request cannot take the others down. Jobs may carry a `prepare(conn,
batch, jobs)` that the writer calls once per batch for all jobs sharing it (set-based reads).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy.engine import Connection, Engine

from models.prepared import together

log = logging.getLogger(__name__)

MAX_BATCH = 256
IDLE_EXIT_S = 30.0  # the thread goes away when nothing came for this long
# The connection is kept while jobs keep coming: between two batches of a busy writer the queue
# is often empty for a moment (every request of the last batch is being answered), and handing
# the connection back then cost each batch a checkout and, on PostgreSQL, a ping round trip.
HOLD_S = 1.0
# The driver lets go of the GIL around every SQLite step / PostgreSQL round trip, and taking it
# back waits for the busy event loop to yield it: up to the switch interval (5 ms by default).
# A shorter interval was tried (0.5 ms): it cost the webhook bench ~10% more CPU per request on
# SQLite (GIL hand-offs), and no throughput on PostgreSQL, now that a batch runs a few
# statements rather than a few per job. The writer leaves the interval alone.


class Batch:
    """What the jobs of one transaction share: work to do once, just before the commit."""

    def __init__(self) -> None:
        self.data: dict[Hashable, Any] = {}
        self._before_commit: dict[Hashable, Callable[[Connection], None]] = {}
        self._later: dict[Hashable, Callable[[Connection], None]] = {}
        self.job_no = 0  # jobs started so far: job_no is the running job's place in the batch

    def before_commit(self, key: Hashable, fn: Callable[[Connection], None]) -> None:
        """Run `fn(conn)` once before this batch commits (the first registration per key wins)."""
        self._before_commit.setdefault(key, fn)

    def write_later(self, key: Hashable, fn: Callable[[Connection], None]) -> None:
        """Rows a later job might read: `fn(conn)` writes them all at once when the batch
        settles (before a job that may read them) or before it commits, whichever is first."""
        self._later.setdefault(key, fn)

    def rows(
        self,
        key: Hashable,
        write: Callable[[Connection, Any], None],
        *,
        later: bool = False,
        new: Callable[[], Any] = list,
    ) -> Any:
        """The batch's collection under `key` (`new()` the first time), which
        `write(conn, collection)` writes at once before the commit, or with `later` when the
        batch settles (write_later): messages add to it instead of each writing its own."""
        found = self.data.get(key)
        if found is None:
            found = self.data[key] = new()

            def flush(conn: Connection) -> None:
                del self.data[key]  # written: what comes after starts a new collection
                write(conn, found)

            (self.write_later if later else self.before_commit)(key, flush)
        return found

    def write_now(self, conn: Connection, key: Hashable) -> None:
        """Write what was collected under `key` (Batch.rows) now: a job is about to read it."""
        flush = self._before_commit.pop(key, None) or self._later.pop(key, None)
        if flush is not None:
            flush(conn)

    def kept(self, key: Hashable, read: Callable[[], Any], fits: Callable[[Any], bool]) -> Any:
        """What `read()` reads set-wise for the batch's messages of one kind, kept while such
        messages follow one another and `fits(value)` holds for the running one: any other
        message may change what it read, so it is read again after one."""
        found = self.data.get(key)
        if found is None or found[0] < self.job_no - 1 or not fits(found[1]):
            found = (self.job_no, read())
        self.data[key] = (self.job_no, found[1])
        return found[1]

    def settle(self, conn: Connection) -> None:
        """Write what was left for later, so that the next job sees it (see write_later)."""
        if self._later:
            with together(conn):
                self._settle(conn)

    def _settle(self, conn: Connection) -> None:
        while self._later:
            later, self._later = self._later, {}
            for fn in later.values():
                fn(conn)

    def flush(self, conn: Connection, *, commit: bool = False) -> None:
        """Write everything collected, before the commit (and with `commit`, commit). The
        writers only write (they read no answers), so on PostgreSQL they and the COMMIT all
        travel in one round trip (together)."""
        with together(conn):
            self._settle(conn)
            for fn in self._before_commit.values():
                fn(conn)
            if commit:
                conn.commit()


Job = Callable[[Connection, Batch], Any]


def _prepare(conn: Connection, batch: Batch, jobs: list[Job]) -> None:
    """Let jobs that share a `prepare(conn, batch, jobs)` read what they need in one go."""
    groups: dict[Any, list[Job]] = {}
    for job in jobs:
        prepare = getattr(job, "prepare", None)
        if prepare is not None:
            groups.setdefault(prepare, []).append(job)
    for prepare, group in groups.items():
        prepare(conn, batch, group)


class GroupCommitWriter:
    """A lazily started writer thread with its own connection; see the module docstring."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH, idle_s: float = IDLE_EXIT_S):
        self.engine = engine
        # answer(items, results) once a batch committed: by default resolve the futures; a
        # writer process sends them back to the web process instead (bot.writer_process).
        self.answer: Callable[[list, list], None] = self.resolve_all
        self.max_batch = max_batch
        self.idle_s = idle_s
        self.batches = 0  # counters for tests and the benchmark's profile
        self.jobs = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    # --- the callers' side ----------------------------------------------------------------

    def submit(self, job: Job) -> asyncio.Future:
        """Queue `job` from a coroutine; the future resolves after its batch has committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._put((job, loop, future))
        return future

    def run(self, job: Job, timeout: float | None = None) -> Any:
        """Queue `job` from a plain thread and wait for its result."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._put((job, None, future))
        return future.result(timeout)

    def run_together(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        """Run `jobs` as one batch on the calling thread: (ok, result or exception) for each."""
        link = Link(self.engine)
        try:
            return self.run_batch(link, jobs)
        finally:
            link.close()

    def put(self, job: Job, loop, future) -> None:
        """Queue `job` whose `future` (of `loop`, None for a concurrent future) is waiting."""
        self._put((job, loop, future))

    def _put(self, item) -> None:
        self._queue.put(item)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="shixi-writer", daemon=True).start()

    # --- the writer thread ----------------------------------------------------------------

    def _loop(self) -> None:
        link = Link(self.engine)  # this thread's own connection
        try:
            while True:
                try:
                    first = self._queue.get(timeout=self._wait_s(link))
                except queue.Empty:
                    if link.conn is not None:
                        # Idle: hand the connection back to the pool, so that an idle writer
                        # holds no server connection and the engine can dispose it.
                        link.close()
                        continue
                    with self._lock:
                        if self._queue.empty():
                            self._running = False
                            return
                    continue
                items = [first]
                while len(items) < self.max_batch:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                self.answer(items, self.run_batch(link, [job for job, _, _ in items]))
        except BaseException:
            with self._lock:
                self._running = False
            raise
        finally:
            link.close()

    def _wait_s(self, link: Link) -> float:
        """How long to wait for a job: while holding a connection, HOLD_S (then let it go)."""
        return min(HOLD_S, self.idle_s) if link.conn is not None else self.idle_s

    def run_batch(self, link: Link, jobs: list[Job]) -> list[tuple[bool, Any]]:
        """Run `jobs` in one transaction on `link` ((ok, result or exception) for each); if
        it fails, each job again in a transaction of its own."""
        self.batches += 1
        self.jobs += len(jobs)
        try:
            return [(True, value) for value in link.transaction(jobs)]
        except Exception as exc:
            if len(jobs) == 1:
                log.exception("writer job failed")
                return [(False, exc)]
            log.warning(
                "a batch of %d failed; retrying its jobs one by one", len(jobs), exc_info=True
            )
        out = []
        for job in jobs:
            try:
                out.append((True, link.transaction([job])[0]))
            except Exception as exc:
                log.exception("writer job failed")
                out.append((False, exc))
        return out

    @staticmethod
    def resolve_all(items: list, results: list[tuple[bool, Any]]) -> None:
        """Resolve the futures, one wake-up per event loop rather than one per request."""
        by_loop: dict[Any, list] = {}
        for (_, loop, future), result in zip(items, results, strict=True):
            if loop is None:
                ok, value = result
                future.set_result(value) if ok else future.set_exception(value)
            else:
                by_loop.setdefault(loop, []).append((future, result))
        for loop, pairs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, pairs)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass


def _resolve(pairs: list) -> None:
    """Settle (future, (ok, value)) pairs on their event loop's thread."""
    for future, (ok, value) in pairs:
        if future.cancelled():
            continue
        future.set_result(value) if ok else future.set_exception(value)


class Link:
    """A writer's connection, kept between batches and renewed after a failure."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.conn: Connection | None = None

    def transaction(self, jobs: list[Job]) -> list[Any]:
        if self.conn is None or self.conn.closed or self.conn.invalidated:
            self.conn = self.engine.connect()
        conn = self.conn
        try:
            if not conn.in_transaction():
                conn.begin()
            batch = Batch()
            _prepare(conn, batch, jobs)
            values = []
            for job in jobs:
                batch.job_no += 1
                values.append(job(conn, batch))
            batch.flush(conn, commit=True)
            return values
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # the connection itself broke
                pass
            # Start afresh next time: a COMMIT that failed inside psycopg's pipeline leaves
            # SQLAlchemy no transaction to roll back while the server's is still aborted; the
            # pool's reset on return rolls the connection itself back.
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # a broken connection only needs to be let go
                log.debug("closing the writer connection failed", exc_info=True)
            self.conn = None

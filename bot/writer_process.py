"""The pipeline's writer in a process of its own, so that it has a core (and a GIL) of its own.

In one process the event loop (HTTP, WeChat's crypto and XML) and the group-commit writer
(routing, handlers, the batch's SQL) take turns on one GIL: about half a millisecond of Python
per message each way, and the writer waits for the GIL after every round trip. With the writer
in a child process both run at once. The parent sends each message as (id, Inbound, key,
mode, deadline, replay key) over a socket pair; the child runs them through the same Pipeline
in the same batches (bot/writer.py) and sends back each message's Handled once its batch has
committed, so nothing changes in what is answered when: an answer still means the effect,
the dedupe mark and the stored reply are durable.

If the child dies, the parent takes over with its own writer thread: messages it was waiting
for that carry a dedupe key are run again there (a batch that had committed finds its stored
replies; one that had not is redone); a message without a key cannot be told apart from a new
one and fails ("sorry"). If the parent dies, the child sees the socket close and exits after
the batch it is running: that batch commits or not, as in one process.

Frames are a 4-byte big-endian length and a pickle; both ends are this code, of one version.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.writer import GroupCommitWriter

if TYPE_CHECKING:
    from bot.pipeline import MessageJob
    from core.settings import Settings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent  # the project: `bot` is importable from here
HEADER = 4
CHUNK = 1 << 16
# A child that is still starting (importing, loading jieba: seconds on a busy machine) when
# the app shuts down gets this long to answer what it was sent.
CLOSE_WAIT_S = 60.0
# The app's start-up waits this long for the writer process to be ready (imports, jieba), so
# that the first callbacks are not answered late.
READY_WAIT_S = 60.0


class ChildGone(RuntimeError):
    """The writer process went away before answering a message."""


def frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(HEADER, "big") + payload


class Frames:
    """Whole frames from a blocking socket, as many as have arrived."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.ended = False  # the other end closed: what is buffered is all there is

    def read(self, timeout: float | None = None) -> list[Any]:
        """Wait up to `timeout` (None: for ever) for a frame, then take every whole frame that
        has arrived ([] on timeout). EOFError once the other end has closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._drain()
            found = self._split()
            if found:
                return found
            if self.ended:
                raise EOFError("the other end closed")
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return []
            select.select([self.sock], [], [], wait)

    def _drain(self) -> None:
        while not self.ended:
            try:
                chunk = self.sock.recv(CHUNK, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            if not chunk:
                self.ended = True
                return
            self.buf += chunk

    def _split(self) -> list[Any]:
        found, buf, at = [], self.buf, 0
        while len(buf) - at >= HEADER:
            size = int.from_bytes(buf[at : at + HEADER], "big")
            if len(buf) - at - HEADER < size:
                break
            found.append(pickle.loads(buf[at + HEADER : at + HEADER + size]))
            at += HEADER + size
        if at:
            del buf[:at]
        return found


# --- the parent's side ---------------------------------------------------------------------


class ProcessWriter:
    """Sends messages to the writer process and resolves their futures with its answers."""

    def __init__(self, settings: Settings, *, late_after_s: float, fallback: GroupCommitWriter):
        self.settings, self.late_after_s, self.fallback = settings, late_after_s, fallback
        self.failed = False  # the child died: the fallback thread writes from now on
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[MessageJob, Any, Any]] = {}
        self._next_id = 0
        self._unsent: list[tuple] = []  # this turn's messages, not yet sent (see submit)
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen | None = None
        self._closing = False

    def start(self) -> None:
        """Start the child (it loads what the handlers use before it reads a message)."""
        parent_end, child_end = socket.socketpair()
        path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
        cmd = [sys.executable, "-m", "bot.writer_process", str(child_end.fileno())]
        self._proc = subprocess.Popen(cmd, pass_fds=[child_end.fileno()], env=env)
        child_end.close()
        parent_end.sendall(frame((self.settings, self.late_after_s)))
        frames = Frames(parent_end)
        try:  # its first frame (no answers) says it is ready: serving starts after that
            if not frames.read(READY_WAIT_S):
                log.warning("the writer process is not ready after %.0f s", READY_WAIT_S)
        except EOFError:
            pass  # it exited at once: the reader finds the end and hands over to the thread
        self._sock = parent_end
        threading.Thread(
            target=self._read,
            args=(frames, parent_end, self._proc),
            name="shixi-writer-link",
            daemon=True,
        ).start()

    def submit(self, job: MessageJob) -> asyncio.Future:
        """Like GroupCommitWriter.submit: a future that resolves once the batch committed.

        The messages submitted during one turn of the event loop travel as one frame, sent at
        the end of that turn (one pickle and one write for a burst, not one per message)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if self._sock is None:
                self.fallback.put(job, loop, future)
                return future
            self._next_id += 1
            self._pending[self._next_id] = (job, loop, future)
            if not self._unsent:
                loop.call_soon(self._send)
            self._unsent.append(
                (self._next_id, job.inbound, job.key, job.mode, job.deadline, job.replay_key)
            )
        return future

    def _send(self) -> None:
        with self._lock:
            self._send_unsent()

    def _send_unsent(self) -> None:
        specs, self._unsent = self._unsent, []
        if not specs or self._sock is None:  # gone: its messages were handed over (_gone)
            return
        try:
            self._sock.sendall(frame(specs))
        except OSError:  # the child is gone; the reader hands its messages over
            log.debug("sending to the writer process failed", exc_info=True)

    def close(self, timeout: float = CLOSE_WAIT_S) -> None:
        """Let the child finish what it was sent, then stop it (killed after `timeout`: what
        it left unanswered is then written here, see _gone)."""
        with self._lock:
            self._send_unsent()  # what this turn of the event loop has not sent yet
            sock, proc, self._closing = self._sock, self._proc, True
        if sock is None or proc is None:
            return
        try:
            sock.shutdown(socket.SHUT_WR)  # the child answers what it has, then sees the end
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _read(self, frames: Frames, sock: socket.socket, proc: subprocess.Popen) -> None:
        try:
            while True:
                for answers in frames.read():
                    with self._lock:
                        items = [self._pending.pop(rid) for rid, _, _ in answers]
                    GroupCommitWriter.resolve_all(items, [(ok, value) for _, ok, value in answers])
        except (EOFError, OSError):
            pass
        self._gone(sock, proc)

    def _gone(self, sock: socket.socket, proc: subprocess.Popen) -> None:
        """The child closed its end: hand what it left unanswered to the writer thread."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._sock = None
            closing = self._closing
        sock.close()
        try:
            code = proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if not closing:
            self.failed = True
            log.error(
                "the writer process exited (%s) with %d messages unanswered; "
                "this process writes them from now on",
                code,
                len(pending),
            )
        lost = []
        for item in pending.values():
            if item[0].key:  # run again: a committed batch answers from its stored reply
                self.fallback.put(*item)
            else:
                lost.append(item)
        gone = (False, ChildGone("the writer process exited"))
        GroupCommitWriter.resolve_all(lost, [gone] * len(lost))


# --- the child's side ----------------------------------------------------------------------


def _sendable(ok: bool, value: Any) -> tuple[bool, Any]:
    """An exception that does not pickle travels as its text."""
    if ok:
        return ok, value
    try:
        pickle.dumps(value)
    except Exception:
        return False, RuntimeError(f"{type(value).__name__}: {value}")
    return False, value


def serve(sock: socket.socket) -> None:
    """Run the messages the parent sends through the pipeline's writers until it closes its
    end; each batch's answers go back as one frame once it has committed."""
    from bot.pipeline import MessageJob, Pipeline
    from models.db import make_engine

    frames = Frames(sock)
    first = frames.read()
    settings, late_after_s = first[0]
    engine = make_engine(settings.database.url, echo=settings.database.echo, pool_size=2)
    # One lane, as in one process: two (threads here) measured no faster on PostgreSQL and
    # with a worse p99 (fewer messages per batch, the same Python per message).
    pipeline = Pipeline(engine, settings, late_after_s=late_after_s)
    sending = threading.Lock()

    def answer(items: list, results: list) -> None:
        answers, own_items, own_results = [], [], []
        for item, (ok, value) in zip(items, results, strict=True):
            if isinstance(item[2], int):  # a message of the parent's, by its id
                answers.append((item[2], *_sendable(ok, value)))
            else:  # this process's own (the barrier at the end)
                own_items.append(item)
                own_results.append((ok, value))
        if answers:
            try:
                with sending:
                    sock.sendall(frame(answers))
            except OSError:  # the parent is gone: nobody is waiting any more
                pass
        if own_items:  # only after the answers: the barrier lets the socket close
            GroupCommitWriter.resolve_all(own_items, own_results)

    for writer in pipeline.writers:
        writer.answer = answer
    _warm_up()
    # As the web process does after start-up (api.wechat_lane): what is loaded by now lives as
    # long as the process, and full collections no longer walk it.
    gc.collect()
    gc.freeze()
    sock.sendall(frame([]))  # ready
    try:
        got = first[1:]
        while True:
            for specs in got:  # a frame: the messages of one turn of the parent's event loop
                for rid, *spec in specs:
                    job = MessageJob(pipeline, *spec)
                    pipeline.writer_for(job.inbound).put(job, None, rid)
            got = frames.read()
    except (EOFError, OSError):
        pass  # the parent closed its end (or died)
    finally:
        for writer in pipeline.writers:  # what was sent is answered before the end
            writer.run(lambda conn, batch: None)
        engine.dispose()


def _warm_up() -> None:
    try:
        from core.intents import detect

        detect("你好")  # jieba's dictionary (~2 s) before the first message, not inside it
    except Exception:
        log.warning("warming up the intent detector failed", exc_info=True)


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: the
    # web process shuts down gracefully and closes the socket, which is this process's end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(argv[1]))
    try:
        serve(sock)
    finally:
        sock.close()


if __name__ == "__main__":
    main(sys.argv)

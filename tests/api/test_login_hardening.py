"""Review findings on sign-in: the lock-out counts atomically, names cannot be told apart by
timing, and invite codes are revoked on re-issue and claimed once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

import api.console.auth as auth_module
import core.accounts as accounts
from core.invites import claim_invite, issue_invite
from models import ConsoleUser, InviteCode
from tests.api.console_world import build_world, csrf_of, make_client
from tests.factories import make_student


def _counting(monkeypatch, module, calls: list):
    real = module.verify_password
    lock = threading.Lock()

    def counted(password_hash, password):
        with lock:
            calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(module, "verify_password", counted)


def test_forty_concurrent_wrong_passwords_lock_the_account_after_the_limit(
    settings, engine, session, now, monkeypatch
):
    build_world(session, now)
    checked: list = []
    _counting(monkeypatch, auth_module, checked)
    client = make_client(settings, engine, now)
    csrf = csrf_of(client.get("/admin/login").text)
    form = {"username": "teacher_a", "password": "wrong-password", "csrf": csrf}
    with client, ThreadPoolExecutor(max_workers=40) as pool:
        codes = list(pool.map(lambda _: client.post("/admin/login", data=form).status_code,
                              range(40)))  # fmt: skip
    limit = settings.console.max_failed_logins
    assert len(checked) <= limit  # never more passwords tried than the limit allows
    assert codes.count(401) == len(checked) and codes.count(403) == 40 - len(checked)
    session.expire_all()
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == "teacher_a")).one()
    assert user.locked_until is not None and user.locked_until > now
    right = {"username": "teacher_a", "password": "correct-horse-42", "csrf": csrf}
    assert client.post("/admin/login", data=right).status_code == 403  # locked: not even tried


def test_an_unknown_or_disabled_user_costs_a_password_check_like_a_real_one(
    settings, engine, session, now, monkeypatch
):
    build_world(session, now)
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == "school_a")).one()
    user.active = False
    session.add(user)
    session.commit()
    checked: list = []
    _counting(monkeypatch, accounts, checked)
    client = make_client(settings, engine, now)
    csrf = csrf_of(client.get("/admin/login").text)
    for name in ("no-such-user", "school_a"):
        form = {"username": name, "password": "guess-123", "csrf": csrf}
        resp = client.post("/admin/login", data=form)
        assert resp.status_code == 401 and "用户名或密码不正确" in resp.text
    assert checked == ["guess-123", "guess-123"]


def test_issuing_a_new_invite_revokes_the_persons_older_codes(session, now):
    student = make_student(session)
    first = issue_invite(session, person_kind="student", person_id=student.id,
                         school_id=student.school_id, now=now, ttl_days=30)  # fmt: skip
    second = issue_invite(session, person_kind="student", person_id=student.id,
                          school_id=student.school_id, now=now, ttl_days=30)  # fmt: skip
    session.commit()
    session.expire_all()
    assert session.get(InviteCode, first.id).expires_at <= now  # void
    assert session.get(InviteCode, second.id).expires_at > now
    assert not claim_invite(session, invite_id=first.id, at=now)


def test_an_invite_code_is_claimed_once_even_by_two_at_the_same_time(engine, session, now):
    student = make_student(session)
    invite = issue_invite(session, person_kind="student", person_id=student.id,
                          school_id=student.school_id, now=now, ttl_days=30)  # fmt: skip
    session.commit()
    barrier = threading.Barrier(2)

    def claim(_):
        from sqlmodel import Session

        with Session(engine) as own:
            barrier.wait()
            won = claim_invite(own, invite_id=invite.id, at=now)
            own.commit()
            return won

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(claim, range(2)))
    assert results == [False, True]

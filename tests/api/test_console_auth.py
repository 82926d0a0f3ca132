"""Console sign-in: sessions, cookie flags, lock-out, CSRF and sign-out."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models import AuditLog, ConsoleUser
from tests.api.console_world import PASSWORD, build_world, csrf_of, login, make_client


def test_pages_need_a_signed_in_user(settings, engine, session, now):
    client = make_client(settings, engine, now)
    resp = client.get("/admin/students?q=x")
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/admin/login?next=/admin/students")
    assert client.get("/admin/feed.json").status_code == 401


def test_login_sets_a_signed_httponly_lax_cookie(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    resp = login(client, "school_a")
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/"
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert client.get("/admin/").status_code == 200


def test_secure_flag_follows_the_setting(settings, engine, session, now):
    secure = settings.model_copy(deep=True)
    secure.server.cookie_secure = True
    client = make_client(secure, engine, now)
    assert "secure" in client.get("/admin/login").headers["set-cookie"].lower()


def test_a_wrong_password_is_refused_and_audited(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    resp = login(client, "school_a", "wrong-password")
    assert resp.status_code == 401
    assert "用户名或密码不正确" in resp.text
    assert client.get("/admin/").status_code == 303
    actions = session.exec(select(AuditLog.action).where(AuditLog.actor == "school_a")).all()
    assert "login_failed" in actions


def test_repeated_failures_lock_the_account_until_the_lockout_ends(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    for _ in range(settings.console.max_failed_logins):
        login(client, "teacher_a", "wrong-password")
    resp = login(client, "teacher_a")  # even the right password is refused while locked
    assert resp.status_code == 403 and "已锁定" in resp.text
    session.expire_all()
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == "teacher_a")).one()
    assert user.locked_until > now
    later = now + timedelta(minutes=settings.console.lockout_min + 1)
    client.app.state.clock = lambda: later
    assert login(client, "teacher_a").status_code == 303


def test_a_post_without_the_csrf_token_is_refused(settings, engine, session, now):
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    client.get("/admin/login")
    resp = client.post("/admin/login", data={"username": "province", "password": PASSWORD})
    assert resp.status_code == 403
    login(client, "province")
    journal = world.ids["mine"]["journal"]
    for token in ("", "forged"):
        resp = client.post(f"/admin/journals/{journal}/grade", data={"score": "80", "csrf": token})
        assert resp.status_code == 403


def test_the_csrf_token_changes_at_login(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    before = csrf_of(client.get("/admin/login").text)
    login(client, "province")
    after = csrf_of(client.get("/admin/students").text)
    assert before != after


def test_logout_ends_the_session_and_every_copy_of_its_cookie(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    login(client, "province")
    stolen = dict(client.cookies)
    csrf = csrf_of(client.get("/admin/").text)
    assert client.post("/admin/logout", data={"csrf": csrf}).headers["location"] == "/admin/login"
    assert client.get("/admin/").status_code == 303
    replay = make_client(settings, engine, now)
    replay.cookies.update(stolen)
    assert replay.get("/admin/").status_code == 303


def test_login_never_redirects_off_site(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    csrf = csrf_of(client.get("/admin/login").text)
    resp = client.post(
        "/admin/login",
        data={
            "username": "province",
            "password": PASSWORD,
            "csrf": csrf,
            "next": "https://evil.example/admin",
        },
    )
    assert resp.headers["location"] == "/admin/"


def test_a_tampered_cookie_is_ignored(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    client.cookies.set("shixi_session", "eyJ1IjoxfQ.forged.signature")
    assert client.get("/admin/").status_code == 303


def test_without_a_secret_key_sessions_hold_across_web_processes(settings, engine, session, now):
    build_world(session, now)
    keyless = settings.model_copy(deep=True)
    keyless.server.secret_key = ""
    first, second = make_client(keyless, engine, now), make_client(keyless, engine, now)
    assert login(first, "school_a").status_code == 303
    second.cookies.update(first.cookies)
    assert second.get("/admin/").status_code == 200


def test_a_hash_made_with_older_argon2_parameters_is_replaced_at_sign_in(
    settings, engine, session, now
):
    from argon2 import PasswordHasher

    build_world(session, now)
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == "province")).one()
    user.password_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(
        PASSWORD
    )
    session.add(user)
    session.commit()
    client = make_client(settings, engine, now)
    assert login(client, "province").status_code == 303
    session.expire_all()
    stored = session.get(ConsoleUser, user.id).password_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    client = make_client(settings, engine, now)
    assert login(client, "province").status_code == 303  # the new hash verifies the same password

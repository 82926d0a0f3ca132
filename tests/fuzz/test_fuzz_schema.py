"""Schema-driven fuzzing (Schemathesis): every /api/v1 operation from /openapi.json, and every
console form and page from an OpenAPI description of the console's own routes, with generated
parameters and bodies; no answer may be a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.openapi.utils import get_openapi
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.console import ROUTERS
from core.settings import Settings
from tests.fuzz.conftest import budget, signed_in

# Built from the code alone (no database is touched to describe the routes).
_APP = create_app(Settings(database={"url": "sqlite:///:memory:"}, scheduler={"enabled": False}))
API = schemathesis.openapi.from_dict(_APP.openapi())
CONSOLE_SPEC = get_openapi(
    title="Shixi console",
    version="fuzz",
    routes=[route for module in ROUTERS for route in module.router.routes],
)
CONSOLE = schemathesis.openapi.from_dict(CONSOLE_SPEC)
# Signing out would end the session the other examples run in.
SKIPPED = {"POST /admin/logout"}


def _operations(schema) -> dict:
    ops = {}
    for result in schema.get_all_operations():
        op = result.ok()
        if op.label not in SKIPPED:
            ops[op.label] = op
    return ops


API_OPS = _operations(API)
CONSOLE_OPS = _operations(CONSOLE)


def _send(client, case, **override):
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items()
               if k.lower() not in ("accept-encoding", "connection", "cookie")}  # fmt: skip
    headers.update(override.pop("headers", {}))
    body = kwargs.pop("json", None)
    data = kwargs.pop("data", None)
    if isinstance(data, dict) and "csrf" in override:
        data = {**data, "csrf": override.pop("csrf")}
    return client.request(
        kwargs.pop("method"),
        kwargs.pop("url"),
        params=kwargs.pop("params", None),
        headers=headers,
        json=body,
        data=data,
        files=kwargs.pop("files", None),
    )


def test_the_openapi_description_lists_every_api_route_and_no_console_page():
    assert {label.split()[1] for label in API_OPS} >= {
        "/api/v1/students", "/api/v1/checkins", "/api/v1/journals", "/api/v1/tickets",
        "/api/v1/alerts", "/api/v1/stats/overview",
    }  # fmt: skip
    assert not any("/admin" in label for label in API_OPS)
    assert len(CONSOLE_OPS) >= 15


@pytest.mark.parametrize("label", sorted(API_OPS))
def test_api_operations_never_answer_5xx(fuzz_world, fuzz_client, label):
    _, world = fuzz_world
    tokens = st.sampled_from([*world.tokens.values(), None])

    @budget(40)
    @given(case=API_OPS[label].as_strategy(), token=tokens)
    def run(case, token):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = _send(fuzz_client, case, headers=headers)
        assert resp.status_code < 500, (label, case.query, case.path_parameters, resp.text[:300])

    run()


@pytest.mark.parametrize("label", sorted(CONSOLE_OPS))
def test_console_pages_and_forms_never_answer_5xx(fuzz_world, fuzz_client, label):
    csrf = signed_in(fuzz_client, "school_a")

    @budget(25)
    @given(case=CONSOLE_OPS[label].as_strategy())
    def run(case):
        resp = _send(fuzz_client, case, csrf=csrf)
        assert resp.status_code < 500, (
            label, case.path_parameters, case.query, case.body, resp.text[:300],
        )  # fmt: skip

    run()

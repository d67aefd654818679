"""No request makes the app fail: every route, given malformed ids, query strings and form fields by a
signed-in admin (who may reach all of them), answers with a page below 500 and writes nothing unintended."""

from __future__ import annotations

import collections
import itertools

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from webapp_support import sign_in

from specscan.webapp.models import Component

JUNK = ["", "0", "-1", "99999999999999999999", "abc", "%00", "<script>x</script>", "ä" * 300, "1e309", "[]",
        "'; DROP TABLE components; --"]
ONE_FIELD_JUNK = ("", "99999999999999999999", "<script>x</script>")
FIELDS = ["q", "label", "human", "band", "model_version", "page", "size", "sort", "dir", "disagree", "from", "to",
          "actor", "entity_id", "description", "part_number", "supplier", "category", "version", "reason", "role",
          "username", "password", "active", "note", "next"]


def _routes() -> list[tuple[str, str]]:
    from specscan.webapp.routes import admin, audit, components, dashboard, people, transfer

    return sorted((method, route.path) for module in (people, components, transfer, dashboard, audit, admin)
                  for route in module.router.routes if isinstance(route, APIRoute) for method in route.methods)


def _paths(path: str, component_id: int) -> list[str]:
    if "{" not in path:
        return [path]
    return [path.replace("{component_id}", value).replace("{user_id}", value).replace("{key_id}", value)
            for value in (str(component_id), "0", "abc", "99999999999999999999")]


def test_no_route_answers_a_server_error_to_malformed_input(client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "ada")
    created = client.post("/components", data={"csrf_token": csrf, "description": "Brake disc"},
                          follow_redirects=False)
    component_id = int(created.headers["location"].split("/")[2].split("?")[0])
    failures, statuses = [], collections.Counter()
    for (method, route), junk in itertools.product(_routes(), JUNK):
        for path in _paths(route, component_id):
            if path == "/logout":
                continue  # would end the session the rest of the sweep needs
            # all fields junk at once, then each alone (so that one refused field does not shield the others)
            singles = ({field: junk} for field in FIELDS) if junk in ONE_FIELD_JUNK else ()
            for params in (dict.fromkeys(FIELDS, junk), *singles):
                if method == "GET":
                    response = client.get(path, params=params)
                else:
                    response = client.post(path, data={**params, "csrf_token": csrf})
                statuses[response.status_code] += 1
                if response.status_code >= 500 or "Traceback" in response.text:
                    failures.append(f"{method} {path} with {params if len(params) == 1 else junk[:20]!r}: "
                                    f"{response.status_code}")
    assert failures == []
    assert client.get("/components", follow_redirects=False).status_code == 200  # still signed in: all were tried
    assert statuses[200] > 50 and sum(statuses.values()) > 300, statuses
    with sessions() as db:  # junk descriptions were refused or saved as typed, never half-written
        for component in db.scalars(select(Component)):
            assert component.description.strip() and len(component.description) <= 1000
        assert db.scalar(select(func.count()).select_from(Component)) >= 1


def test_a_path_with_a_trailing_slash_is_not_redirected_to_the_host_the_request_named(client: TestClient) -> None:
    sign_in(client, "ada")
    paths = sorted({path for _, path in _routes() if path != "/"} | {"/login", "/static"})
    answers = {path: client.get(_paths(path, 1)[0] + "/", headers={"Host": "evil.example"}, follow_redirects=False)
               for path in paths}

    assert {path: (a.status_code, a.headers.get("location")) for path, a in answers.items()} == {
        path: (404, None) for path in paths}

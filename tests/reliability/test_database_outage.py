"""PostgreSQL goes away under a running server (the test cuts a TCP proxy between them; the
shared database keeps running): every request that needs the database is a 503 problem+json
with Retry-After, nobody gets a 500 or a reset connection, the log is not flooded with
tracebacks, and the service answers again as soon as the database is back."""

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import PG_URL
from tests.reliability.harness import Database, database, running, token
from tests.reliability.proxy import Proxy


def _through(db: Database, proxy: Proxy) -> Database:
    parts = urlsplit(db.url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return Database(urlunsplit(parts._replace(netloc=netloc)), db.engine)


def _requests(base: str, sup: dict[str, str]) -> list[tuple[str, str, dict]]:
    body = {"code": "X-1", "title": "t"}
    return [
        ("GET", "/api/v1/plans", {"headers": sup}),
        ("GET", "/api/v1/targets?q=医院", {"headers": sup}),
        ("POST", "/api/v1/plans", {"headers": sup, "json": body}),
        ("GET", "/api/v1/tasks", {"headers": sup}),
        ("GET", "/console/", {"cookies": {"spotcheck_session": "x" * 43}}),
        ("POST", "/console/login", {"data": {"username": "admin", "password": "x" * 12}}),
    ]


def test_a_database_nobody_answers_is_503_in_process(settings):
    # Without PostgreSQL at hand: a server whose database port has nothing behind it.
    from fastapi.testclient import TestClient

    from app.db import make_engine
    from app.main import create_app

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    with TestClient(create_app(settings, engine=engine)) as client:
        for method, path in (("GET", "/api/v1/plans"), ("POST", "/api/v1/plans")):
            r = client.request(method, path, headers={"Authorization": "Bearer sc_x"}, json={})
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"] == "5"
        health = client.get("/api/v1/health").json()
        assert health["status"] == "degraded" and health["database"] == "unavailable"
    engine.dispose()


@pytest.mark.postgres
def test_requests_during_an_outage_are_503_with_retry_after(tmp_path):
    if not PG_URL:
        pytest.skip("SPOTCHECK_TEST_POSTGRES_URL not set")
    target = urlsplit(PG_URL.replace("postgresql+psycopg", "postgresql"))
    proxy = Proxy((target.hostname or "127.0.0.1", target.port or 5432))
    try:
        with database("postgresql", tmp_path) as db:
            sup = token(db, "supervisor")
            served = _through(db, proxy)
            with running(served, tmp_path / "publish", workers=2) as server:
                base = server.base
                assert httpx.get(base + "/api/v1/plans", headers=sup).status_code == 200
                proxy.cut()
                calls = [(m, p, dict(kw)) for m, p, kw in _requests(base, sup) * 8]
                t0 = time.monotonic()

                def call(c):
                    method, path, kw = c
                    try:
                        cookies = kw.pop("cookies", None)
                        with httpx.Client(cookies=cookies, timeout=30) as c:
                            return c.request(method, base + path, **kw)
                    except httpx.HTTPError as exc:
                        return exc

                with ThreadPoolExecutor(8) as pool:
                    answers = list(pool.map(call, calls))
                outage = time.monotonic() - t0
                statuses = [
                    a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers
                ]
                assert all(s == 503 for s in statuses), statuses
                for a in answers:
                    assert a.headers["content-type"] == "application/problem+json"
                    assert int(a.headers["retry-after"]) >= 1
                    assert a.json()["status"] == 503
                health = httpx.get(base + "/api/v1/health").json()
                assert health["database"] == "unavailable"
                proxy.restore()
                t1 = time.monotonic()
                while time.monotonic() - t1 < 30:
                    if httpx.get(base + "/api/v1/plans", headers=sup).status_code == 200:
                        break
                    time.sleep(0.1)
                recovery = time.monotonic() - t1
                assert httpx.get(base + "/api/v1/plans", headers=sup).status_code == 200
                log = server.log.read_text()
                tracebacks = log.count("Traceback")
                print(
                    f"outage: {len(answers)} requests in {outage:.1f} s, all 503; "
                    f"{tracebacks} tracebacks; recovery {recovery:.2f} s"
                )
                assert tracebacks <= 2, log[-4000:]
    finally:
        proxy.close()

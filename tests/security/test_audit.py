"""Audit chain: one entry per kind of change, tampering detected and named, head on every page."""

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.audit.service import GENESIS, append, entry_hash, verify_chain
from app.clock import today_local
from app.db import make_sessionmaker
from app.models import AuditEntry
from app.publish.write import publish
from tests.factories import uscc
from tests.plans.conftest import plan_body
from tests.rounds import approver


def _entries(db):
    with make_sessionmaker(db)() as s:
        return [
            (e.action, e.entity) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def _result_body():
    return {
        "outcome": "发现问题已责令改正",
        "decided_on": today_local().isoformat(),
        "findings": "超标准收费",
        "measures": [{"kind": "约谈"}],
        "recovered_amount": "100.00",
    }


@pytest.fixture
def full_round(client, drawn, make_token, db, settings):
    """Every kind of change through the API, then one publication."""
    sup, draw = drawn
    task = draw["tasks"][0]
    target = uscc(1)
    assert (
        client.patch(
            f"/api/v1/targets/{target}", headers=sup, json={"credit_grade": "C"}
        ).status_code
        == 200
    )
    assert client.delete("/api/v1/items/YB-09", headers=sup).status_code == 200
    r = client.post("/api/v1/plans", headers=sup, json=plan_body(code="2026-YB-Q5"))
    assert r.status_code == 201, r.text
    r = client.put(
        "/api/v1/plans/2026-YB-Q5",
        headers=sup,
        json=plan_body(code="2026-YB-Q5", title="改过的标题"),
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/plans/{draw['plan']}/adjustments",
        headers=sup,
        json={
            "reason": "调整检查时间",
            "changes": {"window": {"start": "2026-12-01", "end": "2027-01-15"}},
        },
    )
    assert r.status_code == 201, r.text
    r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=sup, json=_result_body())
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task['id']}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/tasks/{task['id']}/follow-ups", headers=sup, json={"reason": "回头看整改"}
    )
    assert r.status_code == 201, r.text
    credit = make_token("credit", name="信用模块")
    r = client.put(
        "/api/v1/credit/grades",
        headers=credit,
        json=[{"uscc": target, "grade": "D", "as_of": date.today().isoformat()}],
    )
    assert r.status_code == 200, r.text
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
    return sup, draw, task


EXPECTED = [
    ("token.create", r"token:\d+"),
    ("items.import", "registry:items"),
    ("targets.import", "registry:targets"),
    ("inspectors.import", "registry:inspectors"),
    ("plan.create", "plan:2026-YB-Q4"),
    ("plan.publish", "plan:2026-YB-Q4"),
    ("draw.create", r"draw:.+"),
    (r"targets\.\w+", "targets:" + uscc(1)),
    (r"items\.\w+", "items:YB-09"),
    ("plan.create", "plan:2026-YB-Q5"),
    ("plan.edit", "plan:2026-YB-Q5"),
    ("plan.adjust", "plan:2026-YB-Q4"),
    ("result.submit", r"task:.+"),
    ("result.approve", r"task:.+"),
    ("task.follow_up", r"task:.+"),
    ("credit.grades", r".+"),
    ("result.publish", "results"),
]


@pytest.mark.parametrize(("action", "entity"), EXPECTED, ids=[a for a, _ in EXPECTED])
def test_every_kind_of_change_has_its_audit_entry(full_round, db, action, entity):
    entries = _entries(db)
    assert any(re.fullmatch(action, a) and re.fullmatch(entity, e) for a, e in entries), entries


def test_the_whole_round_leaves_an_intact_chain(full_round, db):
    with make_sessionmaker(db)() as s:
        report = verify_chain(s)
    assert report.problems == []
    assert report.entries == len(_entries(db)) >= len(EXPECTED)


def test_a_refused_change_leaves_no_entry(client, city, db):
    before = _entries(db)
    r = client.post("/api/v1/plans", headers=city, json=plan_body(ratio=0.01))
    assert r.status_code == 422
    assert _entries(db) == before


# --- tampering: edit, insert, delete are detected and the entry is named --------------------


@pytest.fixture
def chain(client, city, db):
    """A chain of a few entries (tokens, imports, plans)."""
    for n in range(3):
        r = client.post("/api/v1/plans", headers=city, json=plan_body(code=f"2026-T-{n}"))
        assert r.status_code == 201
    with make_sessionmaker(db)() as s:
        report = verify_chain(s)
    assert report.problems == [] and report.entries >= 6
    return report


def _problems(db):
    with make_sessionmaker(db)() as s:
        return verify_chain(s).problems


def test_edited_entry_is_named(chain, db):
    with db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET entity = 'plan:FORGED' WHERE seq = 5"))
    assert _problems(db) == ["第 5 条内容被修改 (entry 5 edited)"]


def test_edited_data_with_recomputed_hash_breaks_the_next_link(chain, db):
    with make_sessionmaker(db)() as s:
        e = s.get(AuditEntry, 4)
        e.data = {**e.data, "forged": True}
        e.entry_hash = entry_hash(
            prev_hash=e.prev_hash,
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            data=e.data,
        )
        s.commit()
    problems = _problems(db)
    assert any(p.startswith("第 5 条的前序哈希不符") for p in problems), problems


def test_deleted_entry_is_named(chain, db):
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    problems = _problems(db)
    assert problems[0].startswith("第 3 条缺失"), problems
    assert any(p.startswith("第 4 条的前序哈希不符") for p in problems)


def test_inserted_entry_is_named(chain, db):
    # A forger renumbers entries after 3 and slips a well-formed entry in as number 4.
    with make_sessionmaker(db)() as s:
        last = chain.entries
        for seq in range(last, 3, -1):
            s.execute(
                text("UPDATE audit_log SET seq = :n WHERE seq = :o"), {"n": seq + 1, "o": seq}
            )
        third = s.get(AuditEntry, 3)
        forged = dict(
            seq=4,
            at=third.at,
            actor="admin:mallory",
            action="plan.create",
            entity="plan:FORGED",
            data={},
        )
        s.add(
            AuditEntry(
                **forged,
                prev_hash=third.entry_hash,
                entry_hash=entry_hash(prev_hash=third.entry_hash, **forged),
            )
        )
        s.commit()
    problems = _problems(db)
    assert not any(p.startswith("第 4 条") for p in problems), problems  # the forgery chains...
    assert any(p.startswith("第 5 条") for p in problems), problems  # ...but its successor breaks


def test_cli_names_a_deleted_entry(chain, db, monkeypatch, capsys):
    from app import cli
    from app.config import get_settings

    if db.dialect.name == "postgresql":
        pytest.skip("CLI tests share the SQLite path; verify_chain is the same on both")
    monkeypatch.setenv("SPOTCHECK_DATABASE_URL", db.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    assert cli.main(["audit", "verify"]) == 1
    assert "第 2 条缺失" in capsys.readouterr().out
    get_settings.cache_clear()


def test_genesis_head_of_an_empty_chain(db):
    with make_sessionmaker(db)() as s:
        report = verify_chain(s)
    assert (report.entries, report.head, report.problems) == (0, GENESIS, [])


# --- the chain head is printed on every published page --------------------------------------


def test_chain_head_on_the_home_page_and_no_stale_head_on_carried_ones(client, drawn, db, settings):
    """The home page, rebuilt with each publication, prints the current head; every other
    page is a unit carried unchanged from build to build while its data is the same (a draw's
    own, the sections and plans, statistics, results, the yearly counts) and prints none (a
    stale head would mislead): it points to the home page for it."""
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        seq, head = verify_chain(s).entries, verify_chain(s).head
    root = settings.publish_dir.resolve()
    pages = sorted(root.rglob("*.html"))
    assert len(pages) >= 8
    carried = 0
    for page in pages:
        html = page.read_text()
        if "</footer>" not in html:
            continue  # fragments without the site frame
        m = re.search(
            r"<span data-audit-seq>(\d+)</span> 条，<code data-audit-head>([0-9a-f]{64})<", html
        )
        if page.relative_to(root).as_posix() != "index.html":
            assert m is None, page
            assert "审计链头见" in html, page
            carried += 1
            continue
        assert m, page
        assert (int(m.group(1)), m.group(2)) == (seq, head), page
    assert carried >= 8


SET_BACK = datetime(2023, 9, 15, 2, 50, tzinfo=UTC)  # a clock set back (10:50 北京时间)


def test_the_audit_chain_refuses_back_dated_entries(session: Session) -> None:
    """A clock set back never dates an entry before the newest; an entry back-dated in the
    database (and re-chained by an operator) is named by audit verify."""
    append(session, actor="a", action="x.create", entity="x:1")
    with time_machine.travel(SET_BACK):
        late = append(session, actor="a", action="x.create", entity="x:2")
    assert late.at.year >= 2026  # never dated before the newest entry
    assert verify_chain(session).problems == []
    # The operator rewrites the entry with a 2023 date in the database and re-chains it.
    back = datetime(2023, 9, 15, 2, 50, tzinfo=UTC)
    e = session.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
    forged = entry_hash(
        prev_hash=e.prev_hash,
        seq=2,
        at=back,
        actor=e.actor,
        action=e.action,
        entity=e.entity,
        data=e.data,
    )
    session.execute(
        update(AuditEntry).where(AuditEntry.seq == 2).values(at=back, entry_hash=forged)
    )
    session.expire_all()
    problems = verify_chain(session).problems
    assert any("倒填日期" in p for p in problems), problems
    session.rollback()

"""The merge of changed rows (importer._Importer.merge): records of known keys replaced by one
executemany UPDATE by key, their old versions archived in bulk — every column as the ORM wrote
it (a JSON list in SQLAlchemy's encoding), a deactivated record made active again, and nothing
written for a rejected file. Both backends, forked and not."""

import json
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.errors import ValidationFailed
from app.models import RegistryHistory, Target
from app.registries import importer, service
from tests.factories import TARGET_HEADER, encode, import_targets, target_row


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "CHUNK", 4)


def _import(session: Session, rows: list[list[str]], *, forked: bool) -> Any:
    return import_targets(
        session, encode("utf-8", TARGET_HEADER, rows)[1], forked=forked, actor="merger"
    )


def _table(session: Session) -> dict[str, dict[str, Any]]:
    session.expire_all()
    out = {}
    for t in session.scalars(select(Target)):
        out[t.uscc] = {c.name: getattr(t, c.name) for c in Target.__table__.columns}
    return out


@pytest.mark.parametrize("forked", [False, True])
def test_changed_rows_are_replaced_column_by_column_and_archived(session, forked):
    rows = [target_row(i) for i in range(1, 11)]
    _import(session, rows, forked=forked)
    service.deactivate(session, kind="targets", key=rows[6][0], actor="admin", reason="停业")
    session.commit()
    before = _table(session)
    changed = [list(r) for r in rows]
    changed[1][1] = "更名医院"
    changed[2][9] = "C"
    changed[3] = target_row(4, region="370403")
    changed[4][10] = "举报:2；智能监控:6"
    result = _import(session, changed, forked=forked)
    # rows 2-5 changed, row 7 deactivated since: made active again with its values
    assert (result.created, result.updated, result.unchanged) == (0, 5, 5)
    after = _table(session)
    stamp = after[changed[1][0]]["updated_at"]
    for i, row in enumerate(changed):
        key = row[0]
        old, new = before[key], after[key]
        if i not in (1, 2, 3, 4, 6):
            assert new == old
            continue
        assert new["version"] == new["row_hash_version"] == old["version"] + 1
        assert new["active"] is True
        assert (new["updated_by"], new["updated_at"]) == ("merger", stamp)
        # the same cells hash alike (the reactivated record), changed ones otherwise
        assert new["row_hash"] and (new["row_hash"] == old["row_hash"]) == (i == 6)
    assert after[changed[1][0]]["name"] == "更名医院"
    assert after[changed[2][0]]["credit_grade"] == "C"
    assert (after[changed[3][0]]["region"], after[changed[3][0]]["fixmedins_code"]) == (
        "370403",
        changed[3][12],
    )
    assert after[changed[4][0]]["tags"] == ["举报:2", "智能监控:6"]
    # the list stored as SQLAlchemy's JSON type writes it (as the ORM update did)
    raw = session.execute(
        text("SELECT CAST(tags AS TEXT) FROM targets WHERE uscc = :k"), {"k": changed[4][0]}
    ).scalar()
    assert raw == json.dumps(["举报:2", "智能监控:6"])
    history = session.scalars(select(RegistryHistory).order_by(RegistryHistory.id)).all()
    by_key = {}
    for h in history:
        by_key.setdefault(h.key, []).append(h)
    for i in (1, 2, 3, 4):
        (h,) = by_key[changed[i][0]]
        old = before[changed[i][0]]
        assert (h.version, h.op, h.valid_from, h.valid_to) == (
            1,
            "create",
            old["updated_at"],
            stamp,
        )
        assert h.data["name"] == old["name"] and h.data["tags"] == old["tags"]
    deactivated = by_key[changed[6][0]]
    assert [h.op for h in deactivated] == ["create", "deactivate"]
    assert deactivated[-1].valid_to == stamp
    assert _import(session, changed, forked=forked).unchanged == 10


def test_a_rejected_file_leaves_changed_records_alone(session):
    rows = [target_row(i) for i in range(1, 11)]
    _import(session, rows, forked=False)
    before = _table(session)
    changed = [list(r) for r in rows]
    changed[1][1] = "更名医院"
    changed[9][9] = "Z"  # no such grade: the file is refused after row 2 was merged
    with pytest.raises(ValidationFailed) as caught:
        _import(session, changed, forked=False)
    assert [(e["row"], e["field"]) for e in caught.value.errors] == [(11, "信用等级")]
    assert _table(session) == before
    assert session.scalars(select(RegistryHistory)).all() == []

"""A CSV whose first MiB is UTF-8 is read as UTF-8 without decoding the whole file first
(reader.guess_encoding). Every answer must be the one the whole-file check up front gives:
files that are UTF-8 only at their beginning (the rest GB18030, or neither), accepted or
refused, forked or not, compare equal — result, errors and stored rows — to an import with
the guess turned off. The head is cut to 200 bytes here so that small files show it."""

import io
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ValidationFailed
from app.models import Target
from app.registries import importer, reader
from app.registries.fields import TARGETS
from tests.factories import TARGET_HEADER, target_row, to_csv


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "_CHUNK", 200)
    monkeypatch.setattr(importer, "CHUNK", 3)


def _outcome(session: Session, body: bytes, forked: bool) -> Any:
    """The import's result or refusal, and the rows it stored (then rolled back)."""
    try:
        result = importer.import_file(
            session,
            kind="targets",
            fh=io.BytesIO(body),
            actor="tester",
            parallel_min_bytes=0 if forked else 1 << 40,
        )
        answer: Any = ("ok", result)
    except ValidationFailed as exc:
        answer = ("refused", exc.detail, exc.errors, exc.extra)
    stored = [tuple(r) for r in session.execute(select(Target.__table__).order_by(Target.uscc))]
    session.rollback()
    return answer, stored


def _same_as_without_guess(session, monkeypatch, body: bytes, forked: bool) -> Any:
    guessed = _outcome(session, body, forked)
    with monkeypatch.context() as m:
        m.setattr(importer, "guess_encoding", lambda fh: (reader.detect_encoding(fh), True))
        whole = _outcome(session, body, forked)
    # the timestamps of a run differ; everything else must not
    assert _strip(guessed) == _strip(whole)
    return guessed


def _strip(outcome: Any) -> Any:
    answer, stored = outcome
    return answer, [tuple(v for v in row if not hasattr(v, "isoformat")) for row in stored]


def _ascii_rows(n: int, start: int = 1) -> list[list[str]]:
    return [[target_row(i)[0], f"Clinic {i}", *target_row(i)[2:]] for i in range(start, start + n)]


def _mixed(utf8_rows: list[list[str]], gb_rows: list[list[str]]) -> bytes:
    head = to_csv(TARGET_HEADER, utf8_rows, "utf-8")
    tail = to_csv(TARGET_HEADER, gb_rows, "gb18030").split(b"\n", 1)[1]  # without its header
    return head + tail


@pytest.mark.parametrize("forked", [False, True])
def test_a_file_utf8_only_at_its_beginning_is_read_as_a_whole_check_reads_it(
    session, monkeypatch, forked
):
    body = _mixed(_ascii_rows(3), [target_row(i) for i in range(10, 16)])
    assert len(body) > 200 and reader.guess_encoding(io.BytesIO(body)) == ("utf-8-sig", False)
    answer, _ = _same_as_without_guess(session, monkeypatch, body, forked)
    assert answer[0] in ("ok", "refused")


@pytest.mark.parametrize("forked", [False, True])
def test_an_ascii_head_and_a_gb18030_tail_import_as_gb18030(session, monkeypatch, forked):
    """A GB18030 file whose first bytes are ASCII (English column names) reads as UTF-8 at
    first: it is imported as GB18030, its Chinese intact."""
    monkeypatch.setattr(reader, "_CHUNK", 64)
    header = [f.name for f in TARGETS.fields]
    gb = [target_row(i, name=f"某某医院{i}") for i in range(10, 16)]
    body = to_csv(header, gb, "gb18030")
    assert reader.guess_encoding(io.BytesIO(body)) == ("utf-8-sig", False)
    answer, stored = _same_as_without_guess(session, monkeypatch, body, forked)
    assert answer[0] == "ok" and answer[1].created == 6
    assert {r[1] for r in stored} >= {f"某某医院{i}" for i in range(10, 16)}


@pytest.mark.parametrize("forked", [False, True])
def test_a_refusal_in_the_utf8_part_is_the_refusal_of_the_whole_file(session, monkeypatch, forked):
    bad = _ascii_rows(3)
    bad[1][5] = "99"  # a bad 医保区划 in the part read as UTF-8
    body = _mixed(bad, [target_row(i, name=f"某某医院{i}") for i in range(10, 16)])
    answer, _ = _same_as_without_guess(session, monkeypatch, body, forked)
    assert answer[0] == "refused"


def test_a_tail_in_no_encoding_is_refused_as_before(session, monkeypatch):
    body = to_csv(TARGET_HEADER, _ascii_rows(4), "utf-8") + b"\xff\xfe\xff,\n"
    answer, stored = _same_as_without_guess(session, monkeypatch, body, False)
    assert answer[0] == "refused" and "无法识别文件编码" in answer[1] and stored == []


def test_a_utf8_file_is_not_decoded_before_it_is_read(session, monkeypatch):
    calls: list[int] = []
    detect = reader.detect_encoding

    def spy(fh):  # type: ignore[no-untyped-def]
        calls.append(1)
        return detect(fh)

    monkeypatch.setattr(reader, "detect_encoding", spy)
    monkeypatch.setattr(importer, "detect_encoding", spy)
    body = to_csv(TARGET_HEADER, [target_row(i) for i in range(1, 12)], "utf-8-sig")
    answer, stored = _outcome(session, body, forked=True)
    assert answer[0] == "ok" and answer[1].created == 11 and len(stored) == 11
    assert calls == []

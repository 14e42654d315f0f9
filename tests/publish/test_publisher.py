"""One owner of the build: requests record publication due, the publisher job coalesces them,
builds incrementally (unchanged units carried as hard links) and equals a full rebuild; time
alone publishes closed windows and results nearing their deadline."""

import filecmp
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import jobs
from app.clock import LOCAL_TZ, local_date
from app.config import Settings
from app.db import make_sessionmaker
from app.models import PublishBuild, PublishRequest, Result
from app.publish.publisher import publish_pending, result_release
from app.publish.write import publish
from app.scheduler import CALENDAR_CHECK, DRAW_DUE, PUBLISH, PUBLISH_ON_TIME, register_jobs
from app.tasks.deadlines import publication_due as deadline_of
from app.tasks.workdays import load_calendar
from tests.publish.conftest import (
    create_and_publish,
    draw,
    own_engine,
    published_results,
    site_files,
    tick_together,
)
from tests.rounds import approver

T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def quiet(db, settings):
    """An API client whose requests only record publication due (SPOTCHECK_SCHEDULER=off):
    the test runs the publisher itself, on its own clock."""
    from app.main import create_app

    off = settings.model_copy(update={"scheduler": "off"})
    with TestClient(create_app(off, engine=db)) as c:
        yield c


@pytest.fixture
def calendar_file(tmp_path: Path) -> Path:
    """A calendar override for the years around today that the installed chinesecalendar has
    no data for (weekdays work, 1 January off): the release-day tests count 18 working days
    from today, which in December reaches into a year the package may not know yet (the
    service then publishes at once, by design — see result_release)."""
    known = load_calendar(None).years
    this_year = local_date(datetime.now(UTC)).year
    years = [y for y in range(this_year, this_year + 3) if y not in known]
    path = tmp_path / "calendar-override.json"
    path.write_text(json.dumps({str(y): {"holidays": [f"{y}-01-01"]} for y in years}))
    return path


@pytest.fixture
def scheduled(settings, calendar_file):
    """The service's periodic jobs registered for `settings`, at most one build per 2 s
    (removed afterwards), with a calendar that knows the years around today."""
    register_jobs(
        settings.model_copy(
            update={"publish_interval_seconds": 2.0, "calendar_override_file": calendar_file}
        )
    )
    yield
    for name in (PUBLISH, PUBLISH_ON_TIME, CALENDAR_CHECK, DRAW_DUE):
        jobs.unregister(name)


def _approve(client, sup, task_id, outcome="未发现问题", decided_on=None):
    body = {
        "outcome": outcome,
        "decided_on": (decided_on or local_date(datetime.now(UTC))).isoformat(),
        "findings": "检查记录",
        "measures": [],
        "recovered_amount": "0.00",
    }
    r = client.put(f"/api/v1/tasks/{task_id}/result", headers=sup, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task_id}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text


def _count(db, model):
    with make_sessionmaker(db)() as s:
        return s.scalar(select(func.count()).select_from(model))


def _build(db, settings, now):
    with make_sessionmaker(db)() as s:
        report = publish_pending(s, settings.publish_dir, now=now, release=result_release(settings))
        s.commit()
    return report


def test_requests_only_record_publication_due_and_close_marks_it(quiet, pub_city, db, settings):
    create_and_publish(quiet, pub_city)
    d = draw(quiet, pub_city, "PUB-1")
    r = quiet.post("/api/v1/plans/PUB-1/close", headers=pub_city, json={"reason": "本轮结束"})
    assert r.status_code == 200, r.text
    with make_sessionmaker(db)() as s:
        scopes = list(s.scalars(select(PublishRequest.scope).order_by(PublishRequest.id)))
    assert scopes == ["plan:PUB-1", f"draw:{d['id']}", "plan:PUB-1"]
    assert not settings.publish_dir.resolve().joinpath("index.html").exists()  # nobody built
    assert _build(db, settings, T0) is not None
    assert _count(db, PublishRequest) == 0
    assert _build(db, settings, T0) is None  # nothing due: no build
    assert _count(db, PublishBuild) == 1
    plan = json.loads(site_files(settings.publish_dir)["plans/PUB-1.json"])
    assert plan["status"] == "closed"


def test_publish_does_not_commit_the_callers_transaction(quiet, pub_city, db, settings):
    create_and_publish(quiet, pub_city)
    d = draw(quiet, pub_city, "PUB-1")
    _approve(quiet, pub_city, d["tasks"][0]["id"])
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir, now=T0)
        assert s.scalar(select(Result.published_at)) is not None  # in this transaction
        s.rollback()
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(Result.published_at)) is None


def test_a_burst_of_approvals_is_a_few_builds(quiet, pub_city, db, settings, scheduled):
    create_and_publish(quiet, pub_city, code="PUB-1", ratio=1.0, min_per_stratum=1)
    d = draw(quiet, pub_city, "PUB-1")
    tasks = [t["id"] for t in d["tasks"]]
    assert len(tasks) >= 60
    factory = make_sessionmaker(db)
    ran = []
    for i, task_id in enumerate(tasks):  # one approval every 20 ms, the scheduler ticking
        _approve(quiet, pub_city, task_id)
        ran += jobs.run_due(factory, T0 + timedelta(seconds=0.02 * i))
    ran += jobs.run_due(factory, T0 + timedelta(seconds=0.02 * len(tasks) + 2))
    builds = _count(db, PublishBuild)
    assert ran.count(PUBLISH) == builds <= 3, (len(tasks), builds)
    assert _count(db, PublishRequest) == 0
    results = published_results(site_files(settings.publish_dir))
    assert sorted(r["task_id"] for r in results) == sorted(tasks)


def _inodes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_ino for p in root.rglob("*") if p.is_file()}


def _site(files: set[str]) -> set[str]:
    """The site's pages and files, without the public log (log/, app/publish/log.py)."""
    return {rel for rel in files if not rel.startswith("log/")}


def _log_writes(files: set[str]) -> set[str]:
    """The public log's files a build wrote: the new checkpoint (latest, by size, the list of
    sizes), the tiles at the log's right edge and the proofs of what changed (a draw's, a
    results page's) — a few, whatever the history (tests/tlog)."""
    written = {rel for rel in files if rel.startswith("log/")}
    assert "log/checkpoint" in written
    assert all(
        rel in ("log/checkpoint", "log/checkpoints.json")
        or rel.startswith(("log/checkpoints/", "log/tile/", "log/proofs/"))
        for rel in written
    ), written
    assert len(written) <= 8, written
    return written


def test_an_approval_rewrites_only_what_it_touches_and_equals_a_full_rebuild(
    quiet, pub_city, db, settings, tmp_path
):
    create_and_publish(quiet, pub_city, code="PUB-1")
    create_and_publish(quiet, pub_city, code="PUB-2", title="第二个计划")
    d1 = draw(quiet, pub_city, "PUB-1")
    d2 = draw(quiet, pub_city, "PUB-2", entropy="1-2-3-0-0-0")
    _approve(quiet, pub_city, d1["tasks"][0]["id"])
    _build(db, settings, T0)
    before_root = settings.publish_dir.resolve()
    before = _inodes(before_root)
    assert "results/page-1.json" in before

    _approve(quiet, pub_city, d1["tasks"][1]["id"])
    at = T0 + timedelta(minutes=5)
    report = _build(db, settings, at)
    root = settings.publish_dir.resolve()
    assert root != before_root
    after = _inodes(root)
    assert _site(set(after)) == _site(set(before))  # the result joins page 1: same files
    written = {rel for rel, ino in after.items() if ino != before.get(rel)}
    log_written = _log_writes(written)
    rewritten = _site(written)
    carried = set(after) - written
    # Every file of both draws is carried (a result changes no draw file), and so are the
    # other draw's statistics, the static assets, the items, plans and tasks sections; the
    # approved result's draw statistics, the results and statistics indexes, home and feed
    # are rewritten — nothing else.
    draw_files = {rel for rel in after if rel.startswith("draws/")}
    assert {f"draws/{d1['id']}.json", f"draws/{d2['id']}.tasks.xlsx"} <= draw_files
    assert draw_files | {f"statistics/{d2['id']}.json", f"statistics/{d2['id']}.html"} <= carried
    assert {rel for rel in after if rel.startswith(("static/", "schemas/", "downloads/v"))} <= (
        carried
    )
    # The yearly counts count visits carried out (docs/rules.md#r4-0): the page of the
    # inspected institution's region and the index, no other page of the counts.
    year = str(local_date(datetime.now(UTC)).year)
    region = d1["tasks"][1]["uscc"][2:6]
    counts = {
        "inspection/index.json",
        "inspection/index.html",
        f"inspection/{year}/{region}.json",
        f"inspection/{year}/{region}.html",
    }
    assert {rel for rel in after if rel.startswith("inspection/")} - counts <= carried
    assert rewritten == counts | {
        f"statistics/{d1['id']}.json",
        f"statistics/{d1['id']}.html",
        "statistics/index.json",
        "statistics/index.html",
        "results/index.json",
        "results/index.html",
        "results/page-1.json",
        "results/page-1.html",
        "results/page-1.csv",
        "results/page-1.xlsx",
        "index.html",
        "index.json",
        "feed.atom",
    }
    assert rewritten.isdisjoint(draw_files)
    assert report is not None and report.files_linked == len(carried)
    assert report.files_written == len(rewritten) + len(log_written)

    # The incremental site is byte for byte the site a full rebuild at that moment writes.
    full_dir = tmp_path / "full" / "publish"
    with make_sessionmaker(db)() as s:
        publish(s, full_dir, now=at, full=True, result_release=result_release(settings))
        s.rollback()
    full = full_dir.resolve()
    cmp = filecmp.dircmp(root, full)
    assert _tree(root) == _tree(full), cmp.report_full_closure()


def test_paged_results_and_strata_rewrite_one_page_and_equal_a_full_rebuild(
    quiet, pub_city, db, settings, tmp_path, monkeypatch
):
    """With 2 results per page and 1 stratum per statistics page: an approval rewrites the
    results page it lands on and its stratum's page; the others are carried; the site equals
    a full rebuild byte for byte."""
    from app.publish import collect
    from app.stats import render as stats_render

    monkeypatch.setattr(collect, "RESULTS_PER_PAGE", 2)
    monkeypatch.setattr(stats_render, "STRATA_PER_PAGE", 1)
    create_and_publish(quiet, pub_city, code="PUB-1", ratio=1.0, min_per_stratum=1)
    d = draw(quiet, pub_city, "PUB-1")
    by_stratum: dict[str, list[str]] = {}
    for t in d["tasks"]:
        by_stratum.setdefault(t["stratum"], []).append(t["id"])
    strata = sorted(by_stratum)
    assert len(strata) >= 3, strata
    for task_id in by_stratum[strata[0]][:3]:  # three results: two pages
        _approve(quiet, pub_city, task_id)
    _build(db, settings, T0)
    before = _inodes(settings.publish_dir.resolve())
    strata_pages = sorted(rel for rel in before if "/strata-" in rel)
    assert len(strata_pages) == len(strata) - 1

    last = strata[-1]  # on the last strata page
    _approve(quiet, pub_city, by_stratum[last][0])
    with make_sessionmaker(db)() as s:
        ids = sorted(s.scalars(select(Result.id)))
    page = collect.page_of(ids[-1])  # ids may have gaps (PostgreSQL sequences): by id
    assert page != collect.page_of(ids[0])  # an earlier page exists, to be carried
    at = T0 + timedelta(minutes=5)
    _build(db, settings, at)
    root = settings.publish_dir.resolve()
    after = _inodes(root)
    rewritten = {rel for rel, ino in after.items() if ino != before.get(rel)}
    results_files = {rel for rel in after if rel.startswith("results/page-")}
    assert {rel for rel in results_files if rel in rewritten} == {
        f"results/page-{page}.{ext}" for ext in ("json", "html", "csv", "xlsx")
    }
    draw_stats = f"statistics/{d['id']}"
    assert {rel for rel in strata_pages if rel in rewritten} == {
        f"{draw_stats}/strata-{len(strata)}.html"
    }
    assert {f"{draw_stats}.json", f"{draw_stats}.html"} <= rewritten
    files = site_files(settings.publish_dir)
    assert len(published_results(files)) == 4

    full_dir = tmp_path / "full" / "publish"
    with make_sessionmaker(db)() as s:
        publish(s, full_dir, now=at, full=True, result_release=result_release(settings))
        s.rollback()
    assert _tree(root) == _tree(full_dir.resolve())


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _sizes(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_size)
        for p in root.rglob("*")
        if p.is_file()
    }


def _approval_writes(quiet, pub_city, db, settings, task_id, at):  # type: ignore[no-untyped-def]
    """Approves one result, builds; the files the build rendered (not carried): path -> bytes."""
    before = _sizes(settings.publish_dir.resolve())
    _approve(quiet, pub_city, task_id)
    report = _build(db, settings, at)
    after = _sizes(settings.publish_dir.resolve())
    written = {rel: size for rel, (ino, size) in after.items() if before.get(rel, (0,))[0] != ino}
    assert report is not None and report.files_written == len(written)
    assert report.bytes == sum(written.values())
    return written


# The indexes an approval rewrites that list every draw or the newest announcements: they grow
# with the history (the feed and home page up to their limits), and change with the approval —
# and the yearly counts (its index, the page of the institution's region and year, which lists
# every draw's tasks there: bounded by PAGE_ROWS institutions a file).
LISTINGS = {
    "index.html",
    "index.json",
    "feed.atom",
    "inspection/index.html",
    "inspection/index.json",
    "results/index.html",
    "results/index.json",
    "statistics/index.html",
    "statistics/index.json",
}


def test_an_approval_rewrites_the_same_files_with_one_or_four_draws_published(
    quiet, pub_city, db, settings, tmp_path, monkeypatch
):
    """SPEC: the site update after one approval does not grow with the number of earlier
    draws. One result per results page, so that each approval starts its own page: the same
    files are rewritten after one draw and after four (the plan pages, the tasks index and
    the other draws' files are carried), nothing of the other plans or draws, and the
    approval's own files are the same size; the site still equals a full rebuild."""
    from app.publish import collect

    monkeypatch.setattr(collect, "RESULTS_PER_PAGE", 1)
    create_and_publish(quiet, pub_city, code="PUB-1")
    d = draw(quiet, pub_city, "PUB-1")
    _build(db, settings, T0)
    # two tasks whose result rows are alike (same stratum, names of the same length)
    first, second = next(
        (a, b)
        for a in d["tasks"]
        for b in d["tasks"]
        if a["id"] < b["id"] and a["stratum"] == b["stratum"] and len(a["name"]) == len(b["name"])
    )
    one = _approval_writes(quiet, pub_city, db, settings, first["id"], T0 + timedelta(minutes=1))

    for k, entropy in (
        (2, "1-2-3-0-0-0"),
        (3, "4-5-6-0-0-0"),
        (4, "2-2-2-0-0-0"),
    ):  # three more plans, drawn
        create_and_publish(quiet, pub_city, code=f"PUB-{k}", title=f"第{k}个计划")
        draw(quiet, pub_city, f"PUB-{k}", entropy=entropy)
    _build(db, settings, T0 + timedelta(minutes=2))
    at = T0 + timedelta(minutes=3)
    four = _approval_writes(quiet, pub_city, db, settings, second["id"], at)

    with make_sessionmaker(db)() as s:
        page_one, page_two = (collect.page_of(i) for i in sorted(s.scalars(select(Result.id))))

    def own_all(written: dict[str, int], page: int) -> dict[str, int]:
        """The approval's own files, its results page named `page-P`."""
        return {
            rel.replace(f"results/page-{page}.", "results/page-P."): size
            for rel, size in written.items()
            if rel not in LISTINGS and not rel.startswith("log/")
        }

    mine = {f"statistics/{d['id']}.json", f"statistics/{d['id']}.html"} | {
        f"results/page-P.{ext}" for ext in ("json", "html", "csv", "xlsx")
    }
    region = f"inspection/{local_date(datetime.now(UTC)).year}/{first['uscc'][2:6]}"
    pages = {f"{region}.json", f"{region}.html"}
    assert second["uscc"][2:6] == first["uscc"][2:6]  # same stratum: same region

    def own(written: dict[str, int], page: int) -> dict[str, int]:
        return {k: v for k, v in own_all(written, page).items() if k not in pages}

    assert set(own(one, page_one)) == set(own(four, page_two)) == mine
    assert set(one) & LISTINGS == set(four) & LISTINGS == LISTINGS
    assert pages <= set(one) and pages <= set(four)
    assert len(_site(set(four))) == len(_site(set(one))) == 17
    assert len(_log_writes(set(four))) == len(_log_writes(set(one)))
    # The approval's own files: the same size whatever the history (the draw's statistics
    # count one more result, a few bytes).
    for rel, size in own(one, page_one).items():
        assert abs(own(four, page_two)[rel] - size) <= 64, rel

    full_dir = tmp_path / "full" / "publish"
    with make_sessionmaker(db)() as s:
        publish(s, full_dir, now=at, full=True, result_release=result_release(settings))
        s.rollback()
    assert _tree(settings.publish_dir.resolve()) == _tree(full_dir.resolve())


def test_a_plan_adjustment_rewrites_that_plans_page_and_the_lists_of_plans_only(
    quiet, pub_city, db, settings, tmp_path
):
    """A plan's page is a unit whose fingerprint holds the plan: an adjustment re-renders its
    page (new window, the reason), the plans index, home and feed; the other plan's page, the
    tasks, results and statistics sections and every draw file are carried. A plan page left
    stale fails here (content and the full rebuild)."""
    create_and_publish(quiet, pub_city, code="PUB-1")
    create_and_publish(quiet, pub_city, code="PUB-2", title="第二个计划")
    d = draw(quiet, pub_city, "PUB-1")
    _approve(quiet, pub_city, d["tasks"][0]["id"])
    _build(db, settings, T0)
    before = _inodes(settings.publish_dir.resolve())

    window = {"start": "2026-12-10", "end": "2027-01-20"}
    r = quiet.post(
        "/api/v1/plans/PUB-2/adjustments",
        headers=pub_city,
        json={"reason": "检查时间顺延至次年一月", "changes": {"window": window}},
    )
    assert r.status_code == 201, r.text
    at = T0 + timedelta(minutes=5)
    _build(db, settings, at)
    root = settings.publish_dir.resolve()
    after = _inodes(root)
    rewritten = {rel for rel, ino in after.items() if ino != before.get(rel)}
    _log_writes(rewritten)
    assert _site(rewritten) == {
        "plans/PUB-2.html",
        "plans/PUB-2.json",
        "plans/index.html",
        "plans/index.json",
        "index.html",
        "index.json",
        "feed.atom",
    }
    files = site_files(settings.publish_dir)
    plan = json.loads(files["plans/PUB-2.json"])
    assert plan["spec"]["window"] == window and plan["versions"][-1]["kind"] == "adjustment"
    page = files["plans/PUB-2.html"].decode()
    assert "检查时间顺延至次年一月" in page and "2027-01-20" in page
    assert "2027-01-20" in files["plans/index.html"].decode()

    full_dir = tmp_path / "full" / "publish"
    with make_sessionmaker(db)() as s:
        publish(s, full_dir, now=at, full=True, result_release=result_release(settings))
        s.rollback()
    assert _tree(root) == _tree(full_dir.resolve())


def _shanghai(day: str, hh: int = 0, mm: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}:00").replace(tzinfo=LOCAL_TZ)


def test_window_closing_and_result_deadline_publish_with_nobody_touching_the_service(
    quiet, pub_city, db, settings, scheduled, calendar_file
):
    today = local_date(datetime.now(UTC))
    end = (today + timedelta(days=60)).isoformat()
    window = {"start": today.isoformat(), "end": end}
    create_and_publish(quiet, pub_city, publish_tasks="after_window", window=window)
    d = draw(quiet, pub_city, "PUB-1")
    visited = d["tasks"][0]
    _approve(quiet, pub_city, visited["id"], decided_on=today)
    factory = make_sessionmaker(db)
    jobs.run_due(factory, T0)  # the requests of the draw and the approval
    files = site_files(settings.publish_dir)
    assert json.loads(files[f"draws/{d['id']}.json"])["tasks_withheld"] is True
    assert published_results(files) == []

    # The day the result must go public by (18 of the 20 working days: 2 before the deadline).
    release = deadline_of(load_calendar(calendar_file), today, 18)
    assert release < date_of(end)
    builds = _count(db, PublishBuild)
    eve = _shanghai((release - timedelta(days=1)).isoformat(), 23, 59)
    jobs.run_due(factory, eve)
    assert _count(db, PublishBuild) == builds  # nothing due yet
    jobs.run_due(factory, _shanghai(release.isoformat(), 0, 1))
    files = site_files(settings.publish_dir)
    published = published_results(files)
    assert [r["task_id"] for r in published] == [visited["id"]]
    withheld = json.loads(files[f"draws/{d['id']}.json"])
    assert withheld["tasks_withheld"] is True and "tasks" not in withheld  # unvisited hidden
    other_uscc = d["tasks"][1]["uscc"]
    assert other_uscc.encode() not in b"".join(files.values())
    builds = _count(db, PublishBuild)

    # The window closes at 00:00 北京时间 the day after its end: one build, by time alone.
    jobs.run_due(factory, _shanghai(end, 23, 59))
    assert _count(db, PublishBuild) == builds
    opening = datetime.combine(date_of(end) + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    jobs.run_due(factory, opening + timedelta(seconds=30))
    jobs.run_due(factory, opening + timedelta(minutes=5))  # later ticks: nothing new
    assert _count(db, PublishBuild) == builds + 1
    body = json.loads(site_files(settings.publish_dir)[f"draws/{d['id']}.json"])
    assert len(body["tasks"]) == len(d["tasks"])


def date_of(text: str):  # type: ignore[no-untyped-def]
    from datetime import date

    return date.fromisoformat(text)


def test_two_workers_ticking_at_once_build_exactly_once(quiet, pub_city, db, settings, scheduled):
    create_and_publish(quiet, pub_city)
    draw(quiet, pub_city, "PUB-1")
    factory = make_sessionmaker(db)
    barrier = threading.Barrier(4)
    ran: list[list[str]] = []

    def worker():
        barrier.wait()
        ran.append(jobs.run_due(factory, T0))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.count(PUBLISH) for r in ran) == 1, ran
    assert _count(db, PublishBuild) == 1
    assert os.path.islink(settings.publish_dir)


def test_a_job_that_fails_is_retried_and_a_registered_job_runs_once_per_period(db):
    calls: list[datetime] = []

    def flaky(session, now):  # type: ignore[no-untyped-def]
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    jobs.register("test_flaky", 60, flaky)
    try:
        factory = make_sessionmaker(db)
        assert jobs.run_job(factory, jobs.registered()[-1], T0) is False  # failed: not claimed
        assert jobs.run_job(factory, jobs.registered()[-1], T0) is True  # retried
        assert jobs.run_job(factory, jobs.registered()[-1], T0 + timedelta(seconds=59)) is False
        assert jobs.run_job(factory, jobs.registered()[-1], T0 + timedelta(seconds=60)) is True
        assert len(calls) == 3
    finally:
        jobs.unregister("test_flaky")


def test_settings_name_the_scheduler_modes():
    assert Settings().scheduler == "inline"
    with pytest.raises(ValueError):
        Settings(scheduler="sometimes")  # type: ignore[arg-type]


def test_several_workers_publish_each_time_event_exactly_once(
    quiet, pub_city, db, settings, scheduled, calendar_file, caplog
):
    """Three workers, each with its own engine (as three `spotcheck worker` processes), tick at
    the same moments: the result's release day and the window's close each lead to exactly one
    build, by time alone, and no job fails (no "database is locked")."""
    today = local_date(datetime.now(UTC))
    end = (today + timedelta(days=60)).isoformat()
    window = {"start": today.isoformat(), "end": end}
    create_and_publish(quiet, pub_city, publish_tasks="after_window", window=window)
    d = draw(quiet, pub_city, "PUB-1")
    visited = d["tasks"][0]
    _approve(quiet, pub_city, visited["id"], decided_on=today)
    engines = [own_engine(db) for _ in range(3)]
    factories = [make_sessionmaker(e) for e in engines]
    try:
        ran = tick_together(factories, T0)  # the requests of the draw and the approval
        assert sum(r.count(PUBLISH) for r in ran) == 1, ran
        assert _count(db, PublishBuild) == 1
        assert published_results(site_files(settings.publish_dir)) == []

        release = deadline_of(load_calendar(calendar_file), today, 18)
        ticks = [_shanghai((release - timedelta(days=1)).isoformat(), 23, 59)]
        tick_together(factories, ticks[0])
        assert _count(db, PublishBuild) == 1  # nothing due the evening before
        day = _shanghai(release.isoformat(), 0, 1)
        for k in range(4):  # the day comes; a few later ticks find nothing more to do
            tick_together(factories, day + timedelta(seconds=61 * k))
        assert _count(db, PublishBuild) == 2
        files = site_files(settings.publish_dir)
        assert [r["task_id"] for r in published_results(files)] == [visited["id"]]
        assert json.loads(files[f"draws/{d['id']}.json"])["tasks_withheld"] is True

        opening = datetime.combine(date_of(end) + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
        tick_together(factories, opening - timedelta(seconds=30))
        assert _count(db, PublishBuild) == 2
        for k in range(4):
            tick_together(factories, opening + timedelta(seconds=1 + 61 * k))
        assert _count(db, PublishBuild) == 3
        body = json.loads(site_files(settings.publish_dir)[f"draws/{d['id']}.json"])
        assert len(body["tasks"]) == len(d["tasks"])
        assert _count(db, PublishRequest) == 0
    finally:
        for e in engines:
            e.dispose()
    failures = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
    assert not [m for m in failures if "locked" in m or "失败" in m], failures

"""The 检查通知书 prints on one A4 page (two at most with a long item list) and reads on a
390 px phone without sideways scrolling — printed and laid out by headless Debian chromium."""

import shutil
from pathlib import Path

import pytest

from app.db import make_sessionmaker
from app.models import Item
from tests.browser import (
    BROWSER,
    chromium,
    driver,
    full_shot,
    page_width,
    pdf_page_size_mm,
    pdf_to_pngs,
    print_pdf,
    shots_dir,
)

pytestmark = BROWSER


def _leader(make_token, task):
    badge = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    return make_token("inspector", badge=badge)


def _notice(client, make_token, task, tmp_path) -> Path:
    r = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=_leader(make_token, task))
    assert r.status_code == 200, r.text
    page = tmp_path / "notice.html"
    page.write_text(r.text, encoding="utf-8")
    return page


def test_the_notice_prints_on_one_a4_page(client, drawn, make_token, tmp_path):
    _sup, draw = drawn
    page = _notice(client, make_token, draw["tasks"][0], tmp_path)
    pdf = tmp_path / "notice.pdf"
    assert print_pdf(page.as_uri(), pdf) == 1
    width, height = pdf_page_size_mm(pdf.read_bytes())
    assert (round(width), round(height)) == (210, 297)  # A4, not US Letter
    out = shots_dir()
    if out is not None:
        chromium(page.as_uri(), screenshot=out / "notice-1366.png", window="1366,1400")
        pdf_to_pngs(pdf, out, "notice-a4")


def test_a_long_item_list_takes_two_pages_at_most(client, drawn, make_token, tmp_path, db):
    _sup, draw = drawn
    task = draw["tasks"][0]
    with make_sessionmaker(db)() as s:  # every item of the task with a long legal basis
        for item in s.query(Item).filter(Item.code.in_(task["items"])):
            item.legal_basis = "《医疗保障基金使用监督管理条例》第十五条、第三十八条；" * 6
        s.commit()
    page = _notice(client, make_token, task, tmp_path)
    assert print_pdf(page.as_uri(), tmp_path / "notice.pdf") <= 2


@pytest.mark.skipif(shutil.which("chromedriver") is None, reason="no chromedriver")
def test_the_notice_fits_a_390_px_phone(client, drawn, make_token, tmp_path):
    _sup, draw = drawn
    page = _notice(client, make_token, draw["tasks"][0], tmp_path)
    d = driver(390, 844)
    try:
        width = page_width(d, page.as_uri())
        assert width <= 390, width
        out = shots_dir()
        if out is not None:
            full_shot(d, out / "notice-390.png")
    finally:
        d.quit()

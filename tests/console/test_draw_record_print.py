"""The 抽取记录 prints on A4 with the plan code, the commitment and page x / y on every page,
the full verify address (the configured public base URL) and its QR code, and the witnesses'
signature lines beside the verification, never alone on a page; before the draw, the ceremony
keeps what was typed when it was typed too early."""

import re
import unicodedata

import pytest

from app.db import begin_write, make_sessionmaker
from app.demo import DEMO_PLAN, demo_round, load_registries
from app.migrate import ROOT
from tests.browser import BROWSER, pdf_to_pngs, print_pdf, shots_dir
from tests.console.conftest import csrf_of, sign_in

CSS = ROOT / "app" / "console" / "static" / "console.css"


def _demo(db):
    with make_sessionmaker(db)() as s:
        begin_write(s)
        load_registries(s, ROOT / "registries")
        draw_id = demo_round(s)
        s.commit()
    return draw_id


def _standalone(html: str) -> str:
    """The page with its stylesheet inlined, to print from a file."""
    link = '<link rel="stylesheet" href="/console/static/console.css">'
    return html.replace(link, f"<style>{CSS.read_text(encoding='utf-8')}</style>")


@pytest.mark.parametrize("_b", [pytest.param(0, marks=BROWSER)])
def test_the_draw_record_prints_on_a4_with_its_header_and_page_numbers_on_every_page(
    _b, client, db, make_user, tmp_path
):
    from pypdf import PdfReader

    client.app.state.settings.public_site_url = "https://ybj.example.gov.cn/public/"
    draw_id = _demo(db)
    make_user("jianguan", region="3704")
    sign_in(client, "jianguan")
    html = client.get(f"/console/plans/{DEMO_PLAN}/ceremony").text
    verify = f"https://ybj.example.gov.cn/public/draws/{draw_id}/verify.html"
    assert f'href="{verify}"' in html and "<svg" in html.split('data-role="verify"')[1]
    page = tmp_path / "record.html"
    page.write_text(_standalone(html), encoding="utf-8")
    pdf = tmp_path / "record.pdf"
    pages = print_pdf(page.as_uri(), pdf)
    reader = PdfReader(str(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (
        210,
        297,
    )
    commitment = re.search(r'data-role="commitment">([0-9a-f]{64})<', html).group(1)
    # PDF text comes back with radicals for some ideographs (页 as ⻚): NFKC, and any one
    # character where 页 stands
    texts = [unicodedata.normalize("NFKC", p.extract_text()) for p in reader.pages]
    for n, text in enumerate(texts, start=1):
        flat = re.sub(r"\s+", "", text)
        assert re.search(f"第{n}./共{pages}.", flat), (n, flat[-200:])
        assert DEMO_PLAN in flat and commitment in flat, n
    tasks = len(re.findall(r"<tr><td>\d+</td>", html.split('data-role="drawn"')[1]))
    assert pages <= 2 + tasks // 30, (pages, tasks)  # 58 tasks took 7 pages of US Letter
    last = re.sub(r"\s+", "", texts[-1])
    assert "扫描二维码" in last and "证人签字" in last  # the signatures never alone
    out = shots_dir()
    if out is not None:
        pdf_to_pngs(pdf, out, "draw-record-a4")


def test_dice_typed_before_the_moment_stay_in_the_ceremony(client, city, make_user):
    from tests.plans.conftest import published

    code = published(client, city)
    make_user("jianguan")
    sign_in(client, "jianguan")
    page = client.get(f"/console/plans/{code}/ceremony").text
    assert 'data-role="wait-note"' in page  # the button waits for the moment
    r = client.post(
        f"/console/plans/{code}/draw",
        data={"csrf": csrf_of(page), "entropy": "3-1-4-1-5-9"},
        follow_redirects=False,
    )
    assert r.status_code in (409, 422), r.status_code
    assert 'data-role="draw-form"' in r.text and 'value="3-1-4-1-5-9"' in r.text
    assert 'data-role="problem"' in r.text  # why, on the same page
    assert "<h1>抽取仪式</h1>" in r.text

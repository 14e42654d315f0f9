"""Numbers and dates that used to overflow into a 500: each is a 422 naming the field, and
nothing is written."""

import io
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.db import make_sessionmaker
from app.models import CreditGrade, Plan
from app.spreadsheets import FORMULA_START, guard, unguard, xlsx_bytes
from tests.factories import uscc


@pytest.mark.parametrize(
    "weights",
    [
        {"A": 10**400},
        {"A": 1e300},
        {"A": 0},
        {"A": -1},
        {"flags": {"x": 10**400}},
        {"complaint": 5000},
    ],
)
def test_out_of_range_risk_weights_are_refused_when_the_plan_is_created(client, city, db, weights):
    body = plan_body(risk_weights=weights)
    r = client.post("/api/v1/plans", headers=city, json=body)
    assert r.status_code == 422, r.text
    assert "risk_weights" in r.text
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0


@pytest.mark.parametrize("rate", [10**400, 2, -0.1])
def test_out_of_range_grade_rates_are_refused(client, city, db, rate):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(grade_rates={"D": rate}))
    assert r.status_code == 422, r.text
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_credit_as_of_out_of_range_is_a_422_with_row_and_field(client, city, credit, db, as_of):
    entries = [{"uscc": uscc(1), "grade": "A", "as_of": as_of}]
    r = client.put("/api/v1/credit/grades", headers=credit, json=entries)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["row"] == 0 and r.json()["errors"][0]["field"] == "as_of"
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).select_from(CreditGrade)) == 0


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_registry_as_of_near_the_ends_of_time_is_not_a_500(client, city, at):
    r = client.get("/api/v1/registries/targets", headers=city, params={"as_of": at})
    assert r.status_code < 500, r.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_weekly_report_near_the_ends_of_time_is_not_a_500(client, city, day):
    r = client.get("/api/v1/reports/weekly", headers=city, params={"from": day, "to": day})
    assert r.status_code < 500, r.text


def test_one_guard_list_covers_every_former_prefix_and_full_width():
    for p in ("=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠"):
        assert p in FORMULA_START
        assert guard(p + "1") == "'" + p + "1" and unguard(guard(p + "1")) == p + "1"
    assert guard("医院") == "医院" and unguard("'医院") == "'医院"


def test_xlsx_amount_columns_are_numbers_with_a_format():
    body = xlsx_bytes(
        "s",
        ["a", "元"],
        [["x", "1234.50"], ["y", Decimal("0.10")], ["z", ""]],
        number_formats={1: "0.00"},
    )
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        styles = zf.read("xl/styles.xml").decode()
    assert '<c s="1"><v>1234.50</v></c>' in sheet and '<c s="1"><v>0.10</v></c>' in sheet
    assert 'formatCode="0.00"' in styles
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    assert ws["B2"].value == 1234.5 and ws["B2"].number_format == "0.00"
    assert ws["B4"].value is None


from tests.plans.conftest import plan_body  # noqa: E402

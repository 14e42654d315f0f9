"""PURE page framing of the public site: the Jinja2 environment, labels, and the header every
HTML page and JSON document carries.

All text reaches HTML and XML through Jinja2 autoescaping.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from app.clock import local_day, local_time
from app.publish.collect import DrawData, SiteData
from app.publish.tables import percent
from app.regions import region_label, stratum_label
from app.states import DrawStatus, draw_label, plan_label

SCHEMA_VERSION = "1"
STRATA_LABELS = {
    "kind": "类型",
    "level": "级别",
    "ownership": "性质",
    "region": "县级区划",
    "city": "市级区划",
}


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("app.publish", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["strata_label"] = lambda k: STRATA_LABELS.get(k, k)
    env.filters["local_time"] = local_time  # every time shown: 北京时间, labelled
    env.filters["local_day"] = local_day
    env.filters["percent"] = percent
    env.filters["region"] = region_label
    env.filters["stratum"] = stratum_label
    env.globals["risk_weight_rows"] = risk_weight_rows
    env.globals["status_label"] = plan_label
    env.globals["draw_state"] = draw_state
    env.globals["draw_badge"] = draw_badge
    return env


def draw_state(d: DrawData) -> str:
    """Chinese state of a draw for lists."""
    if d.status in (DrawStatus.SUPERSEDED, DrawStatus.FAILED):
        return draw_label(d.status)  # 已作废, 抽取失败
    return "现行" if d.public else "待公布"


def draw_badge(d: DrawData) -> Markup:
    """A coloured badge with the draw's state."""
    cls = "void" if d.status in (DrawStatus.SUPERSEDED, DrawStatus.FAILED) else "current"
    return Markup('<span class="badge {}">{}</span>').format(cls, draw_state(d))


def risk_weight_rows(weights: Any) -> list[tuple[str, str]]:
    """A plan's `risk_weights` (app/draw/weights.py) as (factor, effect) rows for people."""
    rows: list[tuple[str, str]] = []
    if not isinstance(weights, dict):
        return rows
    for key, value in weights.items():
        if key == "complaint":
            rows.append(("每件投诉举报", f"权重增加 {percent(value)}（最多计 10 件）"))
        elif key == "flags" and isinstance(value, dict):
            rows += [(f"监测标记“{k}”", f"权重 × {v:g}") for k, v in value.items()]
        else:
            rows.append((f"信用等级 {key} 级", f"权重 × {value:g}"))
    return rows


_ENV = _env()


def render_template(template: str, **ctx: Any) -> bytes:
    """The package template `template` rendered with `ctx`, as UTF-8."""
    return _ENV.get_template(template).render(**ctx).encode()


def html_page(
    template: str,
    *,
    root: str,
    json_href: str | None,
    data: SiteData,
    stamp: bool = True,
    **ctx: Any,
) -> bytes:
    """An HTML page: `template` with the site's footer (generation time, audit head); without
    them (`stamp=False`) for pages carried unchanged from build to build (a draw's pages)."""
    return render_template(
        template,
        root=root,
        json_href=json_href,
        generated_at=data.generated_at.isoformat() if stamp else "",
        generated_at_local=local_time(data.generated_at) if stamp else "",
        audit_seq=data.audit_head[0],
        audit_hash=data.audit_head[1],
        **ctx,
    )


def json_doc(kind: str, data: SiteData | None, **fields: Any) -> dict[str, Any]:
    """A JSON document of `kind` with the schema version and generation time (`data` None:
    without it, for a document carried unchanged from build to build)."""
    stamp = {} if data is None else {"generated_at": data.generated_at.isoformat()}
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **stamp, **fields}

"""PURE page framing of the public site: the Jinja2 environment, labels, and the header every
HTML page and JSON document carries.

All text reaches HTML and XML through Jinja2 autoescaping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from app.clock import LOCAL_TZ
from app.publish.collect import DrawData, SiteData
from app.states import DrawStatus, plan_label

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
    env.globals["status_label"] = plan_label
    env.globals["draw_state"] = draw_state
    env.globals["draw_badge"] = draw_badge
    return env


def draw_state(d: DrawData) -> str:
    """Chinese state of a draw for lists."""
    if d.status == DrawStatus.SUPERSEDED:
        return "已作废"
    return "现行" if d.public else "待公布"


def draw_badge(d: DrawData) -> Markup:
    """A coloured badge with the draw's state."""
    cls = "void" if d.status == DrawStatus.SUPERSEDED else "current"
    return Markup('<span class="badge {}">{}</span>').format(cls, draw_state(d))


_ENV = _env()


def render_template(template: str, **ctx: Any) -> bytes:
    """The package template `template` rendered with `ctx`, as UTF-8."""
    return _ENV.get_template(template).render(**ctx).encode()


def _local(dt: datetime) -> str:
    return dt.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def html_page(
    template: str, *, root: str, json_href: str | None, data: SiteData, **ctx: Any
) -> bytes:
    """An HTML page: `template` with the site's header (generation time, audit head)."""
    return render_template(
        template,
        root=root,
        json_href=json_href,
        generated_at=data.generated_at.isoformat(),
        generated_at_local=_local(data.generated_at),
        audit_seq=data.audit_head[0],
        audit_hash=data.audit_head[1],
        **ctx,
    )


def json_doc(kind: str, data: SiteData, **fields: Any) -> dict[str, Any]:
    """A JSON document of `kind` with the schema version and generation time."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "generated_at": data.generated_at.isoformat(),
        **fields,
    }

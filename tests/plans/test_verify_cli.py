"""`spotcheck verify`: a published draw replays; tampering fails (1), a missing file is incomplete (3)."""

import json

from app import cli
from tests.entropy import post_draw
from tests.plans.conftest import published


def _write_draw(client, city, tmp_path):
    """The draw as the public gets it: a copy of the published site's draws/ and plans/."""
    code = published(
        client, city, joint_departments=["某市卫生健康委员会"], team={"size": 2, "joint_members": 1}
    )
    draw = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "6-6-1-2-0-0"}
    ).json()
    pop = client.get(f"/api/v1/draws/{draw['id']}/population", headers=city).content
    (tmp_path / "draws").mkdir()
    (tmp_path / "plans").mkdir()
    path = tmp_path / "draws" / f"{draw['id']}.json"
    path.write_text(json.dumps(draw, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "draws" / draw["population_file"]).write_bytes(pop)
    plan = client.get(f"/public/plans/{code}.json")
    assert plan.status_code == 200, plan.text
    (tmp_path / "plans" / f"{code}.json").write_bytes(plan.content)
    for kind in ("csv", "xlsx"):  # the task lists, checked cell by cell (draw-spec §11.5)
        listed = client.get(f"/public/draws/{draw['id']}.tasks.{kind}")
        assert listed.status_code == 200, listed.text
        (tmp_path / "draws" / f"{draw['id']}.tasks.{kind}").write_bytes(listed.content)
    # spotcheck-draw/3: the frozen inspector frame the teams were drawn from
    frame = client.get(f"/public/draws/{draw['id']}.inspectors.csv")
    assert frame.status_code == 200, frame.text
    (tmp_path / "draws" / f"{draw['id']}.inspectors.csv").write_bytes(frame.content)
    return path, draw


def test_verify_accepts_the_published_draw(client, city, tmp_path, capsys):
    path, draw = _write_draw(client, city, tmp_path)
    assert cli.main(["verify", str(path)]) == 0
    assert "验证通过" in capsys.readouterr().out
    assert any(m["role"] == "联合检查" for t in draw["tasks"] for m in t["team"])


def test_verify_rejects_tampering_and_missing_population(client, city, tmp_path, capsys):
    path, draw = _write_draw(client, city, tmp_path)
    badges = sorted({m["badge"] for t in draw["tasks"] for m in t["team"]})
    cases = {
        "member": lambda d: d["tasks"][0]["team"][-1].update(
            badge=next(b for b in badges if b not in {m["badge"] for m in d["tasks"][0]["team"]})
        ),
        "ticket": lambda d: d["tasks"][0].update(ticket="0." + "1" * 40),
        "pi": lambda d: d["tasks"][0].update(inclusion_prob=d["tasks"][0]["inclusion_prob"] / 2),
        "entropy": lambda d: d["seed_inputs"].update(entropy="1-2-3-0-0-0"),
        "secret": lambda d: d["seed_inputs"].update(secret="0" * 64),
        "dropped": lambda d: d["tasks"].pop(),
    }
    for name, tamper in cases.items():
        d = json.loads(path.read_text(encoding="utf-8"))
        tamper(d)
        bad = tmp_path / "draws" / f"bad-{name}.json"
        bad.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
        assert (
            cli.main(
                [
                    "verify",
                    str(bad),
                    "--population",
                    str(tmp_path / "draws" / draw["population_file"]),
                ]
            )
            == 1
        ), name
        assert "验证失败" in capsys.readouterr().out
    # Without the population file nothing wrong is found, but the replay was not made: 3, never 0
    (tmp_path / "draws" / draw["population_file"]).unlink()
    assert cli.main(["verify", str(path)]) == 3
    out = capsys.readouterr().out
    assert "验证未完成（incomplete）" in out and "population file missing" in out
    assert "验证通过" not in out
    # A population file named on the command line that is not there is a failure
    missing = str(tmp_path / "nowhere.csv")
    assert cli.main(["verify", str(path), "--population", missing]) == 1
    assert "找不到文件" in capsys.readouterr().out

"""Generations of the public site (app/publish/write.py): an incremental build recycles the
generation it would otherwise delete. What readers see must not change: the live generation and
the `KEEP_GENERATIONS` before it are complete and exactly what their build made, at every
moment; a generation is swapped in only once whole; carried files are never written in place."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from app.publish import write
from app.publish.formats import render_unit
from app.publish.write import KEEP_GENERATIONS, build_site

Site = dict[str, dict[str, bytes]]  # unit -> rel -> bytes


def _fingerprint(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return h.hexdigest()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _flat(site: Site) -> dict[str, bytes]:
    return {rel: body for files in site.values() for rel, body in files.items()}


def _producer(site: Site, during=None):
    def produce(sink):
        for key in sorted(site):
            files = site[key]

            def render(files=files):
                for rel, body in files.items():
                    sink[rel] = body
                if during is not None:
                    during()

            render_unit(sink, key, _fingerprint(files), render)

    return produce


def _seasons() -> list[Site]:
    """A site changing build by build: units changed, added, removed, a file dropped from a
    unit, a folder that empties, a unit unchanged throughout."""
    site: Site = {
        "home": {"index.html": b"home 0"},
        "stable": {"static/app.css": b"css", "static/app.js": b"js"},
        "draw:1": {"draws/1.json": b"d1", "draws/1/verify.html": b"v1", "draws/1.csv": b"c1"},
        "results": {"results/page-1.json": b"r0"},
    }
    out = [site]
    for n in range(1, 12):
        site = {key: dict(files) for key, files in site.items()}
        site["home"]["index.html"] = f"home {n}".encode()
        if n % 2:
            site["results"]["results/page-1.json"] = f"r{n}".encode()
        if n == 3:
            site[f"draw:{n}"] = {f"draws/{n}.json": b"d", f"draws/{n}/verify.html": b"v"}
        if n == 5:
            del site["draw:3"]  # its folder draws/3/ empties
        if n == 6:
            del site["draw:1"]["draws/1.csv"]
            site["draw:1"]["draws/1.json"] = b"d1 voided"
        if n == 8:
            site["draw:8"] = {"draws/3/verify.html": b"back again", "draws/8.json": b"8"}
        out.append(site)
    return out


def _olds(gens: Path, current: Path) -> list[Path]:
    return write._olds(gens, current)


def test_recycled_generations_are_exactly_the_sites_built_and_the_kept_ones_stay_whole(
    tmp_path,
):
    target = tmp_path / "publish"
    gens = tmp_path / "publish.generations"
    built: dict[str, dict[str, bytes]] = {}  # generation name -> the files it must hold
    seasons = _seasons()
    for n, site in enumerate(seasons):
        expected_live = built.get(target.resolve().name) if target.is_symlink() else None

        def during(expected_live=expected_live):
            # mid-build: the live generation and the kept ones are whole and unchanged
            if expected_live is not None:
                assert _tree(target.resolve()) == expected_live
            for old in _olds(gens, target.resolve())[:KEEP_GENERATIONS]:
                assert _tree(old) == built[old.name]

        report = build_site(target, _producer(site, during))
        built[report.generation.name] = _flat(site)
        assert target.resolve() == report.generation
        assert _tree(report.generation) == _flat(site), n
        # every generation still on disk is byte for byte what its build made
        for old in _olds(gens, report.generation):
            assert _tree(old) == built[old.name], (n, old.name)
        assert len(_olds(gens, report.generation)) <= KEEP_GENERATIONS + 1
        assert not [p for p in target.resolve().rglob("*") if p.is_dir() and not any(p.iterdir())]
    # and the last one is what a full build of the same site makes
    full = build_site(target, _producer(seasons[-1]), carry=False)
    assert _tree(full.generation) == _flat(seasons[-1])


def test_a_generation_is_swapped_in_only_when_whole(tmp_path, monkeypatch):
    target = tmp_path / "publish"
    seasons = _seasons()
    swapped: list[tuple[int, dict[str, bytes]]] = []
    real_replace = os.replace
    step = {"n": 0}

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == target:  # the swap: what the link will point at must be whole now
            swapped.append((step["n"], _tree(Path(os.path.realpath(src)))))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(write.os, "replace", replace)
    for n, site in enumerate(seasons):
        step["n"] = n
        build_site(target, _producer(site))
    assert [n for n, _ in swapped] == list(range(len(seasons)))
    for n, tree in swapped:
        assert tree == _flat(seasons[n]), n


def test_a_failed_recycling_build_leaves_the_live_and_kept_generations_whole(tmp_path):
    target = tmp_path / "publish"
    gens = tmp_path / "publish.generations"
    seasons = _seasons()
    built = {}
    for site in seasons[:5]:
        built[build_site(target, _producer(site)).generation.name] = _flat(site)
    live = target.resolve()

    def broken(sink):
        _producer(seasons[5])(sink)
        raise RuntimeError("render failed halfway")

    with pytest.raises(RuntimeError):
        build_site(target, broken)
    assert target.resolve() == live and _tree(live) == built[live.name]
    for old in _olds(gens, live):
        assert _tree(old) == built[old.name]
    assert not [p for p in gens.iterdir() if p.name.startswith(write.BUILDING)]
    # the next build is whole again
    report = build_site(target, _producer(seasons[5]))
    assert _tree(report.generation) == _flat(seasons[5])


def test_an_unchanged_site_costs_no_link_no_unlink_and_no_hashing_once_recycled(
    tmp_path, monkeypatch
):
    """Cost follows the change: once the generation recycled already holds the carried files,
    a build that renders one unit links, unlinks and hashes nothing else."""
    target = tmp_path / "publish"
    site: Site = {f"unit:{i}": {f"u/{i}/f{j}.html": b"x" * j for j in range(5)} for i in range(40)}
    site["home"] = {"index.html": b"0"}
    for n in range(KEEP_GENERATIONS + 2):  # until the generation recycled has every file
        site["home"] = {"index.html": str(n).encode()}
        build_site(target, _producer(site))
    calls = {"link": 0, "unlink": 0, "hash": 0}
    real_link, real_unlink, real_hash = os.link, os.unlink, write._file_sha256

    def link(*a, **k):
        calls["link"] += 1
        return real_link(*a, **k)

    def unlink(*a, **k):
        calls["unlink"] += 1
        return real_unlink(*a, **k)

    def file_sha256(path):
        calls["hash"] += 1
        return real_hash(path)

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(write, "_file_sha256", file_sha256)
    site["home"] = {"index.html": b"next"}
    report = build_site(target, _producer(site))
    # the recycled generation's manifest and its index.html: nothing else
    assert calls == {"link": 0, "unlink": 2, "hash": 0}
    assert report.files_written == 1 and report.files_linked == 200
    assert _tree(report.generation) == _flat(site)
    # and its records are true: the build after that hashes nothing either
    site["home"] = {"index.html": b"after"}
    build_site(target, _producer(site))
    assert calls["hash"] == 0


def test_a_recycled_generation_turns_files_into_folders_and_back(tmp_path):
    target = tmp_path / "publish"
    shapes: list[Site] = [
        {"home": {"index.html": b"0"}, "a": {"x/y": b"file"}},
        {"home": {"index.html": b"1"}, "a": {"x/y/z.html": b"deeper"}},
        {"home": {"index.html": b"2"}, "a": {"x": b"now a file"}},
        {"home": {"index.html": b"3"}, "a": {"x/y": b"file"}},
    ]
    sites = shapes * 3  # each shape meets every other in the generation recycled
    # a unit carried (unchanged) onto a path that is a folder in the generation recycled
    sites += [{"home": {"index.html": str(n).encode()}, "a": {"x/y": b"file"}} for n in range(5)]
    sites += [{"home": {"index.html": str(n).encode()}, "a": {"x": b"top"}} for n in range(5)]
    for n, site in enumerate(sites):
        report = build_site(target, _producer(site))
        assert _tree(report.generation) == _flat(site), n

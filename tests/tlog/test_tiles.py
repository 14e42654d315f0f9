"""The C2SP tlog-tiles layout: paths, widths, tile contents, bundles."""

from __future__ import annotations

import pytest

from app.tlog import tiles
from app.tlog.merkle import Tree


@pytest.mark.parametrize(
    ("n", "path"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_paths(n: int, path: str) -> None:
    assert tiles.index_path(n) == path


def test_tile_paths_and_widths() -> None:
    assert tiles.tile_path(0, 3) == "tile/0/003"
    assert tiles.tile_path("entries", 1, 7) == "tile/entries/001.p/7"
    assert list(tiles.tile_widths(600, 0)) == [(0, 256), (1, 256), (2, 88)]
    assert list(tiles.tile_widths(600, 1)) == [(0, 2)]
    assert list(tiles.levels(600)) == [0, 1]
    assert list(tiles.levels(65536)) == [0, 1, 2]


def test_tiles_hold_the_tree() -> None:
    tree = Tree()
    entries = [f"e{i}".encode() for i in range(600)]
    for e in entries:
        tree.append(e)
    files = {}
    for level in tiles.levels(tree.size):
        for n, width in tiles.tile_widths(tree.size, level):
            files[tiles.tile_path(level, n, width)] = tiles.hash_tile(tree, level, n, width)
    for n, width in tiles.tile_widths(tree.size, 0):
        files[tiles.tile_path("entries", n, width)] = tiles.bundle(
            entries[n * 256 : n * 256 + width]
        )
    # A level-1 hash is the head of its 256 leaves.
    assert files["tile/1/000.p/2"][32:] == Tree(tree.levels[0][256:512]).root()
    assert Tree(tiles.read_leaf_hashes(files.__getitem__, 600)).root() == tree.root()
    assert tiles.read_entries(files.__getitem__, 600) == entries
    with pytest.raises(ValueError):
        tiles.unbundle(files["tile/entries/000"][:-1])

"""The C2SP tlog-tiles layout (c2sp.org/tlog-tiles): the log as static files. Pure.

Tiles are 256 hashes wide: ``tile/<L>/<N>`` holds the hashes of the complete level-8L subtrees
256N … 256N+255 (32 bytes each), ``tile/entries/<N>`` the entries 256N … as a bundle of
big-endian u16 length-prefixed entries; the tile at the right edge is partial,
``tile/<L>/<N>.p/<W>`` with W < 256 hashes. N is written in groups of three digits, all but
the last prefixed with ``x`` (1234067 → ``x001/x234/067``). A full tile never changes; partial
tiles are superseded by wider ones as the log grows (and kept: a reader of an older
checkpoint still finds them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from app.tlog.merkle import HASH_SIZE, Tree

HEIGHT = 8
WIDTH = 1 << HEIGHT
MAX_ENTRY = 0xFFFF


def index_path(n: int) -> str:
    """The tile index N as a path: three-digit groups, all but the last prefixed with x."""
    digits = f"{n:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def tile_path(level: int | str, n: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>`` (full) or ``tile/<L>/<N>.p/<W>`` (partial); level "entries" for
    entry bundles."""
    path = f"tile/{level}/{index_path(n)}"
    return path if width == WIDTH else f"{path}.p/{width}"


def tile_widths(size: int, level: int) -> Iterator[tuple[int, int]]:
    """(tile index, width) of every tile at `level` of a tree of `size` leaves."""
    count = size >> (HEIGHT * level)
    for n in range(count // WIDTH):
        yield n, WIDTH
    if count % WIDTH:
        yield count // WIDTH, count % WIDTH


def levels(size: int) -> Iterator[int]:
    """The tile levels a tree of `size` leaves has."""
    level = 0
    while size >> (HEIGHT * level):
        yield level
        level += 1


def hash_tile(tree: Tree, level: int, n: int, width: int) -> bytes:
    """The bytes of a hash tile."""
    base = n * WIDTH
    return b"".join(tree.subtree(HEIGHT * level, base + i) for i in range(width))


def bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian u16 length then its bytes."""
    out = bytearray()
    for e in entries:
        if len(e) > MAX_ENTRY:
            raise ValueError("entry longer than 65535 bytes")
        out += len(e).to_bytes(2, "big") + e
    return bytes(out)


def unbundle(data: bytes) -> list[bytes]:
    """The entries of a bundle (ValueError if it is cut short)."""
    out, i = [], 0
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError("entry bundle cut short")
        n = int.from_bytes(data[i : i + 2], "big")
        if i + 2 + n > len(data):
            raise ValueError("entry bundle cut short")
        out.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return out


def read_leaf_hashes(fetch: Callable[[str], bytes], size: int) -> list[bytes]:
    """The leaf hashes of a tree of `size` leaves read from its level-0 tiles."""
    out: list[bytes] = []
    for n, width in tile_widths(size, 0):
        data = fetch(tile_path(0, n, width))
        if len(data) != width * HASH_SIZE:
            raise ValueError(f"tile {tile_path(0, n, width)} has the wrong length")
        out += [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    return out


def read_entries(fetch: Callable[[str], bytes], size: int) -> list[bytes]:
    """The entries of a tree of `size` leaves read from its entry bundles."""
    out: list[bytes] = []
    for n, width in tile_widths(size, 0):
        entries = unbundle(fetch(tile_path("entries", n, width)))
        if len(entries) != width:
            raise ValueError(f"bundle {tile_path('entries', n, width)} has the wrong count")
        out += entries
    return out

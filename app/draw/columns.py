"""A frozen frame's columns in binary: what the draw reads back instead of re-parsing the text.

The published population (frame) file is the draw's hashed input and stays what it is. Beside
it, the capture stores the same population as columns (`encode`): the sorted USCCs back to back,
one profile index per unit, the distinct profiles as the file writes them, and the regions and
names each joined by NUL — the very `Population` that `read_population_file` would make of the
file, built from the writer's own rows instead of a regular expression over 250 MB of text.
`decode` gives it back with the names and regions packed (`PackedStrings`: a unit's name is
decoded only when asked for, the draw asks for the drawn ones), and with the file's header,
SHA-256 and profile texts as its `source`, so the engine takes the file's hash as before.

The columns are a cache of the file, bound to it: they name the SHA-256 of the gzip they were
made with, and a reader of a frame whose gzip is not that one (or of columns it cannot read)
parses the file instead (app/plans/frame.py `read_frame`). Nothing here is published; the
verifiers replay from the file alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from app.draw.population import (
    USCC_LENGTH,
    PackedStrings,
    Population,
    SourceFile,
    _raw_profile,
)

if TYPE_CHECKING:
    from app.draw.engine import FileColumns

MAGIC = b"spotcheck-frame-columns/1\n"
_REGION_FORBIDDEN = re.compile(rb'[,"\r\n]')


def pack(texts: Sequence[str]) -> bytes | None:
    """`texts` joined by NUL as UTF-8, or None when one of them holds a NUL itself."""
    if isinstance(texts, PackedStrings):
        return texts.blob  # already so
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(len(texts) - 1, 0):
        return None
    return joined.encode("utf-8")


def encode(
    *,
    header: str,
    file_sha256: str,
    gz_sha256: str,
    usccs: bytes,
    pid: npt.NDArray[np.int64],
    profile_texts: Sequence[str],
    regions: Sequence[str],
    names: Sequence[str],
) -> bytes | None:
    """The stored columns of a frame file (units in the file's order, `pid` numbering the
    profiles in order of first appearance, as the reader does); None when they cannot be packed
    (a NUL in a name: the draw then parses the file)."""
    size = len(usccs) // USCC_LENGTH
    packed_regions, packed_names = pack(regions), pack(names)
    if packed_regions is None or packed_names is None or len(pid) != size:
        return None
    meta = json.dumps(
        {
            "header": header,
            "file_sha256": file_sha256,
            "gz_sha256": gz_sha256,
            "size": size,
            "profiles": list(profile_texts),
            "regions": len(packed_regions),
            "names": len(packed_names),
        },
        ensure_ascii=False,
    ).encode("utf-8")
    packer = zlib.compressobj(1)
    parts = [
        MAGIC,
        packer.compress(struct.pack("<I", len(meta)) + meta),
        packer.compress(usccs),
        packer.compress(pid.astype("<i4").tobytes()),
        packer.compress(packed_regions),
        packer.compress(packed_names),
        packer.flush(),
    ]
    return b"".join(parts)


def of_written(cols: FileColumns, file_sha256: str, lines_gz: bytes) -> bytes | None:
    """The stored columns of a frame file as it was written (`PopulationFile.columns`), bound to
    the file's SHA-256 and its gzip `lines_gz` (None as `encode`)."""
    return encode(
        header=cols.header,
        file_sha256=file_sha256,
        gz_sha256=hashlib.sha256(lines_gz).hexdigest(),
        usccs=cols.usccs,
        pid=cols.pid,
        profile_texts=cols.profile_texts,
        regions=cols.regions,
        names=cols.names,
    )


def of_file(population: Population, lines_gz: bytes) -> bytes | None:
    """The stored columns of a frame file already parsed (`read_population_file` of the gunzip
    of `lines_gz`, which keeps the file's header, hash and profile texts)."""
    source = population.source
    if source is None or population.regions is None or population.names is None:
        return None
    return encode(
        header=source.header,
        file_sha256=source.sha256,
        gz_sha256=hashlib.sha256(lines_gz).hexdigest(),
        usccs=population.data,
        pid=population.pid,
        profile_texts=source.profile_texts,
        regions=population.regions,
        names=population.names,
    )


def decode(stored: bytes, lines_gz: bytes) -> Population | None:
    """The Population of the frame whose gzip is `lines_gz`, from its stored columns; None when
    the columns were made with another gzip, are not in this form or do not hold together (read
    the file then: the columns are a cache of it, never the authority)."""
    if not stored.startswith(MAGIC):
        return None
    try:
        data = zlib.decompress(memoryview(stored)[len(MAGIC) :])
        (length,) = struct.unpack_from("<I", data)
        meta = json.loads(data[4 : 4 + length].decode("utf-8"))
        if meta.get("gz_sha256") != hashlib.sha256(lines_gz).hexdigest():
            return None
        return _population(meta, data, 4 + length)
    except (zlib.error, struct.error, ValueError, KeyError, TypeError):  # DrawInputError too
        return None


def _population(meta: dict[str, Any], data: bytes, at: int) -> Population | None:
    size = int(meta["size"])
    view = memoryview(data)
    usccs = bytes(view[at : at + USCC_LENGTH * size])
    at += USCC_LENGTH * size
    pid = np.frombuffer(data, dtype="<i4", count=size, offset=at).astype(np.int64)
    at += 4 * size
    regions_blob = bytes(view[at : at + int(meta["regions"])])
    at += int(meta["regions"])
    names_blob = bytes(view[at : at + int(meta["names"])])
    view.release()
    if at + int(meta["names"]) != len(data) or _REGION_FORBIDDEN.search(regions_blob):
        return None
    texts: list[str] = meta["profiles"]
    population = Population(
        usccs,
        pid,
        [_raw_profile(tuple(text.split(","))) for text in texts],
        regions=PackedStrings(regions_blob, size),
        names=PackedStrings(names_blob, size),
    )
    packed = np.frombuffer(population.data, dtype=f"S{USCC_LENGTH}")
    if len(packed) > 1 and not bool(np.all(packed[1:] > packed[:-1])):
        return None  # not sorted or a duplicate: not what a file reads as
    population.source = SourceFile(meta["header"], meta["file_sha256"], tuple(texts))
    return population

"""The draw's input in columns: one USCC and one profile index per unit, distinct profiles once.

A national population is 1,000,000 units but only a few thousand distinct profiles (stratum,
kind, grade, weight, cooling items), so the draw works on a byte string of USCCs, an integer
array of profile indices and a short list of profiles — no Python object per unit.
`PopulationBuilder` is how the registry snapshot fills it row by row; `Population.from_units`
accepts the row-shaped `Unit`s that tests and small callers use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

USCC_LENGTH = 18

# (stratum, kind, credit grade or None, risk weight, item codes in cooldown)
RawProfile = tuple[str, str, str | None, float, frozenset[str]]


class DrawInputError(ValueError):
    """The population, items or parameters cannot be drawn from (Chinese message)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One target in the population snapshot."""

    uscc: str
    stratum: str
    kind: str
    grade: str | None
    weight: float
    cooling_items: frozenset[str]


def _bad_uscc(uscc: object) -> DrawInputError:
    return DrawInputError(f"统一社会信用代码必须是18位大写字母或数字：{uscc!r}")


class Population:
    """`size` units: `data` holds their 18-character USCCs back to back (ASCII), `pid[i]` is the
    index in `profiles` of unit i. Units may come in any order; the draw sorts them by USCC."""

    __slots__ = ("data", "pid", "profiles")

    def __init__(self, data: bytes, pid: npt.ArrayLike, profiles: Sequence[RawProfile]) -> None:
        size, rest = divmod(len(data), USCC_LENGTH)
        pids = np.asarray(pid, dtype=np.int64)
        if rest or pids.shape != (size,):
            raise DrawInputError("抽样总体的代码与属性数目不一致（population columns differ）")
        if size and not (data.isascii() and data.isalnum() and data.upper() == data):
            bad = next(
                data[i : i + USCC_LENGTH]
                for i in range(0, len(data), USCC_LENGTH)
                if not _is_uscc_form(data[i : i + USCC_LENGTH])
            )
            raise _bad_uscc(bad.decode("ascii", errors="replace"))
        if size and (int(pids.min()) < 0 or int(pids.max()) >= len(profiles)):
            raise DrawInputError("抽样总体的属性编号越界（profile index out of range）")
        self.data = data
        self.pid: npt.NDArray[np.int64] = pids
        self.profiles: list[RawProfile] = list(profiles)

    def __len__(self) -> int:
        return len(self.data) // USCC_LENGTH

    @classmethod
    def from_units(cls, units: Iterable[Unit]) -> Population:
        builder = PopulationBuilder()
        add = builder.add
        for u in units:
            add(u.uscc, u.stratum, u.kind, u.grade, u.weight, u.cooling_items)
        return builder.build()

    def units(self) -> Iterator[Unit]:
        """The units in input order (for small callers and tests)."""
        data, profiles = self.data, self.profiles
        for i, p in enumerate(self.pid.tolist()):
            raw = profiles[p]
            uscc = data[USCC_LENGTH * i : USCC_LENGTH * (i + 1)].decode("ascii")
            yield Unit(uscc, raw[0], raw[1], raw[2], raw[3], raw[4])


def _is_uscc_form(uscc: bytes) -> bool:
    return len(uscc) == USCC_LENGTH and uscc.isascii() and uscc.isalnum() and uscc == uscc.upper()


class PopulationBuilder:
    """Collects units one by one; equal profiles are stored once."""

    __slots__ = ("_chunks", "_index", "_pids", "_profiles")

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._pids: list[int] = []
        self._index: dict[RawProfile, int] = {}
        self._profiles: list[RawProfile] = []

    def add(
        self,
        uscc: str,
        stratum: str,
        kind: str,
        grade: str | None,
        weight: float,
        cooling_items: frozenset[str],
    ) -> None:
        if len(uscc) != USCC_LENGTH:
            raise _bad_uscc(uscc)
        key = (stratum, kind, grade, weight, cooling_items)
        p = self._index.get(key)
        if p is None:
            p = self._index[key] = len(self._profiles)
            self._profiles.append(key)
        self._chunks.append(uscc)
        self._pids.append(p)

    def build(self) -> Population:
        joined = "".join(self._chunks)
        if not joined.isascii():
            bad = next(u for u in self._chunks if not u.isascii())
            raise _bad_uscc(bad)
        return Population(
            joined.encode("ascii"),
            np.fromiter(self._pids, dtype=np.int64, count=len(self._pids)),
            self._profiles,
        )

"""The timelock seal of a withheld draw (docs/drand.md#timelock-encryption-tlock, rules R8.2).

At the draw, a draw whose list is withheld (docs/rules.md#r8-2, `disclosure.draw_disclosure`)
has its whole record — the body `draws/{id}.json` publishes once revealed: secret, seed,
tasks, teams — its population file and (spotcheck-draw/3) its inspector frame file encrypted with drand's timelock encryption to the
first quicknet round due at or after the moment the list must be public (00:00 北京时间 of
`tasks_public_from`). Both files are published at once beside the sealed record
(`draws/{id}.sealed.age`, `draws/{id}.population.sealed.age`), so after that round anyone
opens them with the round's public signature (`spotcheck seal open`, drand's `tle`,
`tlock-js`), whether or not the service ever reveals the draw. The sealed record names the
round, its time, and the SHA-256 of the files and of the record sealed, so a seal that does
not hold the record the service later reveals is a public, attributable failure once it opens.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.draw import tlock
from app.draw.beacon import CHAINS, ChainInfo, round_at, round_time
from app.models import Draw, DrawSeal
from app.plans import disclosure

# The chain seals are made for: drand's quicknet (3 s rounds, signatures on G1), the only League
# of Entropy chain that timelock encryption works on.
SEAL_CHAIN = "quicknet"
SEAL_FORMAT = "age-encryption.org/v1 tlock"


def opens_at(public_from: str) -> datetime:
    """The moment a list withheld until `public_from` (an ISO date) must be public: 00:00
    北京时间 of that date, as an aware datetime."""
    return datetime.combine(date.fromisoformat(public_from), time(0), tzinfo=LOCAL_TZ)


def seal_round(chain: ChainInfo, moment: datetime) -> int:
    """The round a seal opening at `moment` is made for: the first one due at or after it."""
    return round_at(chain, moment)


def record_bytes(body: Mapping[str, Any]) -> bytes:
    """The sealed bytes: the draw's record as stored, in the compact JSON every published file
    uses (app/publish/formats.py `dumps`)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def seal_draw(
    session: Session,
    draw: Draw,
    body: Mapping[str, Any],
    population_gz: bytes,
    today: date,
    team_frame: bytes | None = None,
) -> DrawSeal | None:
    """Seals `draw` — its record, its population file (`population_gz`, the gzip published
    as `draws/{id}.population.csv.gz` once revealed) and its /3 inspector frame file
    (`team_frame`, the exact bytes of `draws/{id}.inspectors.csv`) — when its list is withheld
    `today` (its row is flushed); None when it is public."""
    public, since = disclosure.draw_disclosure(session, today).get(draw.id, (True, None))
    if public or since is None:
        return None
    chain = CHAINS[SEAL_CHAIN]
    moment = opens_at(since)
    round_number = seal_round(chain, moment)
    record = record_bytes(body)
    file = tlock.encrypt(record, round_number, chain)
    population = tlock.encrypt(population_gz, round_number, chain) if population_gz else None
    frame = tlock.encrypt(team_frame, round_number, chain) if team_frame else None
    seal = DrawSeal(
        draw_id=draw.id,
        chain=chain.name,
        round=round_number,
        opens_at=moment.astimezone(UTC),
        record_sha256=hashlib.sha256(record).hexdigest(),
        file_sha256=hashlib.sha256(file).hexdigest(),
        file=file,
        population_file_sha256=hashlib.sha256(population).hexdigest() if population else None,
        population_file=population,
        team_frame_file_sha256=hashlib.sha256(frame).hexdigest() if frame else None,
        team_frame_file=frame,
    )
    session.add(seal)
    session.flush()
    return seal


def timelock_record(seal: DrawSeal) -> dict[str, Any]:
    """What the sealed record publishes of a seal (`timelock`, docs/draw-spec.md §10.6)."""
    chain = CHAINS[seal.chain]
    return {
        "format": SEAL_FORMAT,
        "chain": chain.name,
        "chain_hash": chain.chain_hash,
        "genesis_time": chain.genesis_time,
        "period": chain.period,
        "round": seal.round,
        "round_time": round_time(chain, seal.round).isoformat(),
        "opens_at": seal.opens_at.isoformat(),
        "file": f"{seal.draw_id}.sealed.age",
        "file_sha256": seal.file_sha256,
        "record_sha256": seal.record_sha256,
        **(
            {
                "population_file": f"{seal.draw_id}.population.sealed.age",
                "population_file_sha256": seal.population_file_sha256,
            }
            if seal.population_file_sha256
            else {}
        ),
        **(
            {
                "team_frame_file": f"{seal.draw_id}.inspectors.sealed.age",
                "team_frame_file_sha256": seal.team_frame_file_sha256,
            }
            if seal.team_frame_file_sha256
            else {}
        ),
    }


def seal_files(session: Session, draw_id: str) -> dict[str, bytes]:
    """The published files of a draw's seal, by their name in draws/ (read when rendered)."""
    file, population, frame = session.execute(
        select(DrawSeal.file, DrawSeal.population_file, DrawSeal.team_frame_file).where(
            DrawSeal.draw_id == draw_id
        )
    ).one()
    out = {f"{draw_id}.sealed.age": file}
    if population is not None:
        out[f"{draw_id}.population.sealed.age"] = population
    if frame is not None:
        out[f"{draw_id}.inspectors.sealed.age"] = frame
    return out

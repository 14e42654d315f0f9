"""What a benchmark hands to `python -m bench` (bench/__main__.py): its figures as JSON.

Every benchmark script takes `--json PATH`; with it, it writes one document:

    {"ref": seconds, "seconds": {figure: seconds}, "values": {figure: number},
     "peak_mb": MB, "child_peak_mb": MB, "notes": {figure: text}}

`peak_mb` is this process's peak RSS, `child_peak_mb` the largest of its children's (the
importer's forked validator).

`seconds` are wall times, turned into ratios to `ref` (measured in the same process) by the
runner; `values` are already dimensionless or in their own unit (a fraction of a full publish,
megabytes). The runner takes the median of its runs per figure.
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path
from typing import Any


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="把各项结果写成 JSON（供 python -m bench 汇总）(write the figures as JSON)",
    )


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def stage_peak_mb() -> float:
    """This process's peak RSS since `reset_stage_peak` (Linux VmHWM; else the peak so far)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_mb()


def reset_stage_peak() -> None:
    """Starts a new peak for `stage_peak_mb` (Linux: clear_refs 5 resets VmHWM to the RSS)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass


class Figures:
    """The figures of one benchmark run, written as JSON at the end when asked to."""

    def __init__(self, ref: float) -> None:
        self.ref = ref
        self.seconds: dict[str, float] = {}
        self.values: dict[str, float] = {}
        self.notes: dict[str, str] = {}

    def time(self, name: str, seconds: float, note: str = "") -> None:
        self.seconds[name] = seconds
        if note:
            self.notes[name] = note

    def value(self, name: str, value: float, note: str = "") -> None:
        self.values[name] = value
        if note:
            self.notes[name] = note

    def write(self, path: Path | None, **extra: Any) -> None:
        if path is None:
            return
        doc = {
            "ref": self.ref,
            "seconds": self.seconds,
            "values": self.values,
            "notes": self.notes,
            "peak_mb": peak_mb(),
            "child_peak_mb": peak_mb(resource.RUSAGE_CHILDREN),
            **extra,
        }
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")

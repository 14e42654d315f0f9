"""Test-only fault injection: pause at a named point so a test can SIGKILL the server there.

Inert unless `SPOTCHECK_TEST_PAUSE_AT` names the point (comma-separated for several); then the
process announces itself by creating `$SPOTCHECK_TEST_PAUSE_FILE` (when set) and sleeps
`SPOTCHECK_TEST_PAUSE_SECONDS` (default 30). Points: `draw.before_commit` (every row of the
draw flushed, not committed), `import.before_commit` (every row flushed), `publish.before_swap`
(new generation written, symlink not yet swapped). Used by tests/reliability/.
"""

import os
import time
from pathlib import Path


def pause_at(point: str) -> None:
    """Sleeps here if the test environment asks for it; otherwise returns at once."""
    wanted = os.environ.get("SPOTCHECK_TEST_PAUSE_AT")
    if not wanted or point not in wanted.split(","):
        return
    marker = os.environ.get("SPOTCHECK_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{os.getpid()} {point}\n")
    time.sleep(float(os.environ.get("SPOTCHECK_TEST_PAUSE_SECONDS", "30")))

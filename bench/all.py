"""Every benchmark in one command: ``.venv/bin/python bench/all.py [--quick]``.

Each script measures its own baseline in the same run (a bare Starlette endpoint for the mock,
the in-process mock for cassette replay) and prints ratios against it; this runs them in turn
and exits non-zero if one of them fails to run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = ("bench_mock.py", "bench_suite.py", "bench_concurrency.py")


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    status = 0
    for script in SCRIPTS:
        print(f"\n=== {script} ===", flush=True)
        status |= subprocess.run([sys.executable, str(here / script), *argv]).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

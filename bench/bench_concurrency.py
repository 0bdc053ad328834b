"""Wall time of the contract suite against a slow target: sequential, ``--concurrency N`` and
pytest-xdist, each measured in the same run against the same served mock.

The mock is served as ``vlm-harness serve --faults latency=MS`` (every HTTP answer delayed, as a
real provider or gateway would be), in a subprocess on loopback. The suite runs against it as
the ``url`` target: ``vlm-harness run`` sequentially and with ``--concurrency N``, then as one
pytest item per case (``harness.cases``) under ``pytest -n 2``. It prints each wall time, the
ratio to the sequential run, whether the outcomes were the same, and how the wall time grows
with the number of providers. Loopback only; bounded by the suite itself (every request has a
deadline). ``--quick`` uses 100 ms of latency and fewer providers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def serve(latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([str(BIN / "vlm-harness"), "serve", "--port", "0", "--faults",
                             f"latency={latency_ms}"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found:
            return proc, found.group(0)
    proc.kill()
    raise SystemExit("the served mock did not print its URL within 60 s")


def outcomes(results: Path) -> list[tuple[str, str, str, str]]:
    data = json.loads(results.read_text())
    return sorted((c["check"], c["provider"], c["endpoint"], c["outcome"]) for c in data["cases"])


def timed(cmd: list[str], out: Path) -> tuple[float, list[tuple[str, str, str, str]]]:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=out, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=1800, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started, outcomes(out / "reports" / "results.json")


def run_cli(url: str, providers: str, out: Path, concurrency: int) -> tuple[float, list]:
    return timed([str(BIN / "vlm-harness"), "run", "--target", "url", "--base-url", url,
                  "--provider", providers, "--concurrency", str(concurrency), "--quiet",
                  "--reports-dir", "reports"], out)


def run_xdist(url: str, providers: str, out: Path, workers: int) -> tuple[float, list]:
    (out / "test_contract.py").write_text(
        "import harness.cases\n\ntest_contract = harness.cases.contract().parametrize()\n")
    return timed([str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n",
                  str(workers), "--vlm-target", "url", "--vlm-base-url", url, "--vlm-provider",
                  providers, "--vlm-reports-dir", "reports", "test_contract.py"], out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    latency = 100 if args.quick else 500
    sets = ["modelbest", "modelbest,mimo"] if args.quick else [
        "modelbest", "modelbest,mimo", "modelbest,mimo,local,fal,wavespeed"]
    proc, url = serve(latency)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for providers in sets:
                out = Path(tmp) / providers.replace(",", "_")
                out.mkdir()
                seq, base = run_cli(url, providers, out, 1)
                conc, same_c = run_cli(url, providers, out, args.concurrency)
                xd, same_x = run_xdist(url, providers, out, 2)
                rows.append((providers, len(base), seq, conc, xd, same_c == base, same_x == base))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"latency {latency} ms per HTTP answer; url target on a served mock")
    print(f"{'providers':38} {'cases':>5} {'seq s':>7} {'-c' + str(args.concurrency) + ' s':>7} "
          f"{'ratio':>6} {'-n 2 s':>7} {'ratio':>6}  same outcomes")
    for providers, n, seq, conc, xd, same_c, same_x in rows:
        print(f"{providers:38} {n:5d} {seq:7.1f} {conc:7.1f} {seq / conc:5.1f}x {xd:7.1f} "
              f"{seq / xd:5.1f}x  {same_c and same_x}")
    return 0 if all(r[5] and r[6] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

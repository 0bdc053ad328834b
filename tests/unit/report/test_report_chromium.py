"""The report as a browser sees it: headless Chromium renders, screenshots and dumps the DOM.

Skipped where Chromium is not installed (``apt-get install -y chromium``). The screenshots are
copied to ``reports/`` (gitignored) for a human to look at.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from report_fixtures import PROVIDERS

from harness.report.html import render
from harness.report.results import RunResult

CHROMIUM = Path("/usr/bin/chromium")
REPORTS = Path(__file__).resolve().parents[3] / "reports"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0")


def chromium(page: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = work / f"profile-{len(list(work.glob('profile-*')))}"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args,
                           page.as_uri()], capture_output=True, text=True, timeout=120,
                          check=False)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page itself logged to the console (uncaught errors included)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture
def page_file(runs: list[RunResult], tmp_path: Path) -> Path:
    path = tmp_path / "index.html"
    path.write_text(render(runs), encoding="utf-8")
    return path


def screenshot(page: Path, work: Path, width: int, height: int) -> tuple[Path, str]:
    out = work / f"report-{width}.png"
    done = chromium(page, work, f"--screenshot={out}", f"--window-size={width},{height}")
    assert out.is_file(), done.stderr[-2000:]
    shutil.copyfile(out, REPORTS / out.name) if REPORTS.is_dir() else None
    return out, done.stderr


def assert_non_trivial(png: Path, width: int) -> None:
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.width == width
        colours = image.convert("RGB").getcolors(maxcolors=100_000)
        assert colours is None or len(colours) > 50  # text, status colours, chart: not blank
        red = sum(n for n, (r, g, b) in colours or [] if r > 150 and g < 80 and b < 90)
        assert colours is None or red > 0  # a failing cell is drawn in red


def test_desktop_screenshot_without_console_errors(page_file: Path, tmp_path: Path) -> None:
    png, stderr = screenshot(page_file, tmp_path, 1280, 2000)
    assert_non_trivial(png, 1280)
    assert console_errors(stderr) == []


def test_phone_screenshot(page_file: Path, tmp_path: Path) -> None:
    png, stderr = screenshot(page_file, tmp_path, 375, 2400)
    assert_non_trivial(png, 375)
    assert console_errors(stderr) == []


def test_dumped_dom_has_the_matrix(page_file: Path, tmp_path: Path) -> None:
    done = chromium(page_file, tmp_path, "--dump-dom")
    dom = done.stdout
    assert '<table class="matrix">' in dom
    assert dom.count('<td class="cell ') == len(PROVIDERS) * 10
    assert console_errors(done.stderr) == []
    matrix = dom[dom.index('<table class="matrix">'):]
    matrix = matrix[:matrix.index("</table>")]
    assert matrix.count('<th scope="row">') == len(PROVIDERS)
    assert matrix.count('<th scope="col">') == 11


def test_console_error_detector_sees_a_broken_page(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFn();</script>"
                   "</body></html>", encoding="utf-8")
    done = chromium(bad, tmp_path, "--dump-dom")
    assert any("undefinedFn" in line for line in console_errors(done.stderr))

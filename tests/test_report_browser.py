"""The Snakemake report of the tiny run, opened in a real browser: headless Chromium driven by Playwright
(Debian's chromium package: Playwright cannot download its own browser here).  Every figure must decode
and the page must log no error."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DECODE = """async (uris) => {
  const out = [];
  for (const uri of uris) {
    const img = new Image();
    img.src = uri;
    try { await img.decode(); out.push([img.naturalWidth, img.naturalHeight]); } catch (e) { out.push([0, 0]); }
  }
  return out;
}"""


@pytest.mark.workflow
def test_report_opens_in_chromium_and_every_figure_decodes(tiny_run, tmp_path):
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    if CHROMIUM is None:
        pytest.skip("no Chromium (apt-get install chromium); Playwright cannot fetch its own browser here")
    report = tmp_path / "report.html"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--configfile",
            str(ROOT / "tests" / "tiny_config.yaml"),
            "--report",
            str(report),
        ],
        cwd=tiny_run,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "WARNING/2" not in res.stderr and "ERROR/3" not in res.stderr, res.stderr[-3000:]  # captions are valid RST
    html = report.read_text()
    uris = re.findall(r"data:image/png;[^\"']*?base64,[A-Za-z0-9+/=]+", html)
    pngs = sorted(p.name for p in (tiny_run / "results").rglob("*.png") if "/qc/" not in str(p))
    assert len(uris) >= 3 and len(uris) == len(pngs), (len(uris), pngs)
    errors = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(report.as_uri())
        page.wait_for_function(
            "document.querySelector('#app') && document.querySelector('#app').innerText.length > 0", timeout=30_000
        )
        text = page.inner_text("#app")
        sizes = page.evaluate(DECODE, uris)
        browser.close()
    assert not errors, errors
    assert "Vanishing saliency of recurrent networks" in text and "System Message" not in text
    assert all(w > 100 and h > 100 for w, h in sizes), sizes  # every figure decodes to a real image

"""Shared check of `snakemake --report` after a tiny run: the HTML parses, names the workflow page,
and references every figure and table the run produced."""

import base64
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def check_report(workdir: Path, configfile, results: str, categories, tables=(), extra_args=()) -> str:
    """Build report.html in ``workdir`` and check it against the files under ``results``."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            *extra_args,
            "--report",
            "report.html",
            "--configfile",
            str(configfile),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    html = (workdir / "report.html").read_text(errors="replace")
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert {"html", "head", "body", "script"} <= parser.tags
    assert "vanishing saliency" in html.lower()  # the workflow description page (report/workflow.rst)
    figures = sorted((workdir / results).rglob("*.png"))
    assert figures, f"no figures under {results}"
    for path in figures:
        assert path.name in html, f"{path.relative_to(workdir)} is not in the report"
    for table in tables:
        assert table in html, f"table {table} is not in the report"
    # provenance.json's report table, embedded whole, under its own category
    for prov in sorted((workdir / "results").rglob("provenance.tsv")):
        assert "Provenance" in html
        assert base64.b64encode(prov.read_bytes()).decode() in html, f"{prov} is not in the report"
    for category in categories:
        assert category in html, f"category {category!r} missing from the report"
    return html

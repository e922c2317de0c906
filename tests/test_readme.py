"""The README's numbers that a command can give are generated, and the README says each thing one way."""

from pathlib import Path

import pytest
import readme_jobs

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text()


def test_the_readme_states_the_job_counts_of_both_configs():
    assert {config for config, _ in readme_jobs.stated_counts(TEXT)} == {"config.yaml", "tests/tiny_all_config.yaml"}


@pytest.mark.parametrize("config", ["config.yaml", "tests/tiny_all_config.yaml"])
def test_every_job_count_in_the_readme_is_the_dry_run(config):
    """After a change to the rules or a config: `.venv/bin/python tests/readme_jobs.py --update`."""
    stated = {count for name, count in readme_jobs.stated_counts(TEXT) if name == config}
    assert stated == {readme_jobs.dry_run_jobs(config)}, "run tests/readme_jobs.py --update"


def test_the_generator_rewrites_a_stale_count():
    text = "runs it (1,000 jobs<!-- snakemake -n: a.yaml -->) and (12 jobs<!-- snakemake -n: b.yaml -->)"
    assert readme_jobs.stated_counts(text) == [("a.yaml", 1000), ("b.yaml", 12)]
    new = readme_jobs.updated(text, {"a.yaml": 1234, "b.yaml": 12})
    assert readme_jobs.stated_counts(new) == [("a.yaml", 1234), ("b.yaml", 12)]
    assert "1,234 jobs<!-- snakemake -n: a.yaml -->" in new


def test_the_report_has_one_command():
    assert "make report" in TEXT and "--report" not in TEXT


def test_the_run_summary_names_the_report_command(tmp_path, capsys):
    """make reproduce and make smoke end with the run summary, which names the one report command for that run."""
    from vanishing_saliency.runsummary import main

    (tmp_path / "results").mkdir()
    assert main([str(tmp_path), "--report", "make report RUN=smoke CONFIG=tests/tiny_all_config.yaml"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith(": make report RUN=smoke CONFIG=tests/tiny_all_config.yaml")
    assert str(tmp_path / "results" / "report.zip") in last
    makefile = (ROOT / "Makefile").read_text()
    assert 'runsummary . --report "make report CONFIG=$(CONFIG)"' in makefile
    assert 'runsummary smoke --report "make report RUN=smoke CONFIG=$(SMOKE_CONFIG)"' in makefile
    assert main([str(tmp_path / "nothing")]) == 1  # no results/ folder: said, exit 1

"""The BIDS derivative dataset's pieces (``vanishing_saliency.hcp.derivatives``): BIDS URIs of the sources, the
description's links, the atlas's look-up table, the code's URL.  The whole dataset goes through the BIDS validator in
``tests/test_hcp_workflow.py``."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from vanishing_saliency.hcp import derivatives as D
from vanishing_saliency.hcp.geometry import build_atlas
from vanishing_saliency.provenance import code_url


def test_a_source_is_named_in_the_deepest_linked_dataset_that_holds_it(tmp_path, monkeypatch):
    raw = tmp_path / "ds"
    deriv = raw / "derivatives/fmriprep"
    (deriv / "sub-01/func").mkdir(parents=True)
    (raw / "sub-01/func").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    links = D.dataset_links({"raw": "ds", "fmriprep": "ds/derivatives/fmriprep"})
    assert links == {"raw": raw.resolve().as_uri(), "fmriprep": deriv.resolve().as_uri()}
    assert (
        D.bids_uri("ds/sub-01/func/sub-01_task-wm_events.tsv", links)
        == "bids:raw:sub-01/func/sub-01_task-wm_events.tsv"
    )
    assert (
        D.bids_uri(deriv / "sub-01/func/sub-01_task-wm_bold.dtseries.nii", links)
        == "bids:fmriprep:sub-01/func/sub-01_task-wm_bold.dtseries.nii"
    )
    with pytest.raises(ValueError, match=r"elsewhere/x.nii is in none of the linked datasets \['fmriprep', 'raw'\]"):
        D.bids_uri("elsewhere/x.nii", links)


def test_a_linked_folder_with_a_space_in_its_name_still_holds_its_sources(tmp_path):
    raw = tmp_path / "my study"
    (raw / "sub-01").mkdir(parents=True)
    links = D.dataset_links({"raw": raw})
    assert "%20" in links["raw"]  # a file URI, percent-encoded
    assert D.bids_uri(raw / "sub-01/x.tsv", links) == "bids:raw:sub-01/x.tsv"


def test_the_description_links_every_source_dataset_and_names_the_code_only_when_known():
    links = {"hcp": "file:///data/hcp"}
    with_code = D.dataset_description("an HCP tree", links, "https://github.com/owner/repo")
    assert with_code["DatasetType"] == "derivative" and with_code["DatasetLinks"] == links
    assert with_code["SourceDatasets"] == [{"URL": "file:///data/hcp"}]
    assert with_code["GeneratedBy"][0]["CodeURL"] == "https://github.com/owner/repo"
    assert "CodeURL" not in D.dataset_description("an HCP tree", links)["GeneratedBy"][0]
    json.dumps(with_code)  # JSON as it is


def test_the_atlas_table_has_every_area_its_key_and_its_official_colour():
    atlas = build_atlas()
    table = D.atlas_table(atlas)
    assert list(table.columns) == ["index", "name", "color"] and list(table["index"]) == list(range(1, 361))
    assert list(table.name) == [str(n) for n in atlas["names"]]
    assert table.color.str.fullmatch(r"#[0-9a-f]{6}").all() and table.color.nunique() > 300
    back = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in table.color]) / 255
    assert np.abs(back - atlas["colours"][:, :3]).max() <= 0.5 / 255


def test_experiment_names_become_bids_labels_in_the_saliency_file_names():
    assert D.bids_label("on_task_matched") == "ontaskmatched"
    assert D.saliency_stem("on_off") == "space-fsLR_seg-Glasser_den-91k_desc-onoff_stat-mean_saliency"


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.mark.parametrize(
    "remote, url",
    [
        ("git@github.com:owner/repo.git", "https://github.com/owner/repo"),
        ("ssh://git@gitlab.example.org/group/repo.git", "https://gitlab.example.org/group/repo"),
        ("https://github.com/owner/repo.git", "https://github.com/owner/repo"),
        ("/home/someone/repo", None),  # a clone of a local folder: no web address
    ],
)
def test_the_code_url_is_the_checkouts_web_remote(tmp_path, remote, url):
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "remote", "add", "origin", remote)
    assert code_url(tmp_path) == url


def test_no_code_url_without_a_remote_or_a_checkout(tmp_path):
    assert code_url(tmp_path / "not-a-folder") is None
    _git(tmp_path, "init", "-q")
    assert code_url(tmp_path) is None

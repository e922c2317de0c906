"""Numpydoc sections on the public API of the documented modules.

Every public function and class a module defines (not one it imports), and every public method of those classes,
has a ``Parameters`` section (a ``Parameters`` line, then a line of as many dashes) when it takes parameters, naming
every one of them and nothing else, and a ``Returns`` (or ``Yields``) section when it returns something; one that
raises one of the package's own errors (``vanishing_saliency.errors``) names it under ``Raises``.

"Returns something" is the return annotation where there is one (``None``: nothing); without one, a ``return <value>``
(not ``None``) or a ``yield`` in the function's own body, nested functions and classes left out.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import textwrap

import pytest

from vanishing_saliency import errors

MODULES = (
    "vanishing_saliency.models",
    "vanishing_saliency.saliency",
    "vanishing_saliency.saliency.base",
    "vanishing_saliency.saliency.gradients",
    "vanishing_saliency.saliency.captum_methods",
    "vanishing_saliency.saliency.masks",
    "vanishing_saliency.metrics",
    "vanishing_saliency.synthetic",
    "vanishing_saliency.training",
    "vanishing_saliency.torch_startup",
    "vanishing_saliency.data",
    "vanishing_saliency.hcp.io",
    "vanishing_saliency.hcp.bids",
    "vanishing_saliency.hcp.cifti",
    "vanishing_saliency.hcp.derivatives",
    "vanishing_saliency.hcp.runs",
)

# the package's own exception types: a function that raises one on purpose lists it under Raises
OWN_ERRORS = {
    name
    for name, obj in vars(errors).items()
    if inspect.isclass(obj) and issubclass(obj, errors.VanishingSaliencyError)
}

_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def sections(doc: str) -> dict[str, list[str]]:
    """Numpydoc sections of a cleaned docstring: header -> the lines under its dashes, up to the next header."""
    lines = doc.splitlines()
    heads = [
        i
        for i in range(len(lines) - 1)
        if lines[i].strip()
        and lines[i] == lines[i].lstrip()
        and re.fullmatch(r"-+", lines[i + 1])
        and len(lines[i + 1]) == len(lines[i])
    ]
    out = {}
    for k, i in enumerate(heads):
        end = heads[k + 1] if k + 1 < len(heads) else len(lines)
        out[lines[i].strip()] = lines[i + 2 : end]
    return out


def entry_names(body: list[str]) -> list[str]:
    """The names of a section's entries: its unindented lines up to `` : ``, split at commas, without ``*``."""
    names = []
    for line in body:
        if line.strip() and line == line.lstrip():
            names += [n.strip().lstrip("*") for n in line.split(" : ")[0].split(",") if n.strip()]
    return names


def _function_node(func) -> ast.FunctionDef | ast.AsyncFunctionDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), f"no function in the source of {func!r}"
    return node


def _own_nodes(node):
    """Every node of a function's body, not descending into nested functions, lambdas or classes."""
    todo = list(node.body)
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, _NESTED):
            todo += list(ast.iter_child_nodes(n))


def returns_value(func) -> bool:
    """Whether ``func`` returns something: its return annotation when it has one, else its own body."""
    annotation = inspect.signature(func).return_annotation
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, type(None), "None")
    return any(
        (isinstance(n, ast.Return) and n.value is not None and not _is_none(n.value))
        or isinstance(n, ast.Yield | ast.YieldFrom)
        for n in _own_nodes(_function_node(func))
    )


def _is_none(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def raised_errors(func) -> set[str]:
    """The package's own exception types that ``func``'s source raises by name (nested helpers included)."""
    found = set()
    for n in ast.walk(_function_node(func)):
        if isinstance(n, ast.Raise) and n.exc is not None:
            target = n.exc.func if isinstance(n.exc, ast.Call) else n.exc
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if name in OWN_ERRORS:
                found.add(name)
    return found


def docstring_problems(obj, name: str) -> list[str]:
    """What ``obj``'s (a function, method or class) docstring lacks, as ``name: problem`` lines; empty when none."""
    # the object's own docstring: inspect.getdoc would fall back to a base class's (nn.Module.forward's)
    doc = inspect.cleandoc(obj.__doc__) if obj.__doc__ else None
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc and doc.startswith(obj.__name__ + "("):
        doc = None  # the dataclass decorator's generated signature, not a docstring
    if not doc:
        return [f"{name}: no docstring"]
    found = sections(doc)
    problems = []
    if inspect.isclass(obj):
        params = list(inspect.signature(obj).parameters)
        # the constructor's own code: __init__, or a dataclass's __post_init__ (its __init__ is generated)
        init = obj.__dict__.get("__post_init__" if dataclasses.is_dataclass(obj) else "__init__")
        raises = raised_errors(init) if inspect.isfunction(init) else set()
        needs_returns = False
    else:
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        raises = raised_errors(obj)
        needs_returns = returns_value(obj)
    if params:
        if "Parameters" not in found:
            problems.append(f"{name}: no Parameters section (parameters: {', '.join(params)})")
        else:
            documented = entry_names(found["Parameters"])
            stale = [p for p in documented if p not in params]
            missing = [p for p in params if p not in documented]
            if stale:
                problems.append(f"{name}: Parameters names {', '.join(stale)}, not in the signature")
            if missing:
                problems.append(f"{name}: Parameters lacks {', '.join(missing)}")
    if needs_returns and "Returns" not in found and "Yields" not in found:
        problems.append(f"{name}: returns a value but has no Returns section")
    if raises:
        listed = set(entry_names(found.get("Raises", [])))
        unlisted = sorted(raises - listed)
        if unlisted:
            problems.append(f"{name}: raises {', '.join(unlisted)}, not listed under Raises")
    return problems


def public_callables(module) -> list[tuple[str, object]]:
    """(qualified name, object) of the module's own public functions and classes and their public methods."""
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if obj.__module__ != module.__name__:
            continue
        out.append((f"{module.__name__}.{name}", obj))
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                func = member.__func__ if isinstance(member, staticmethod | classmethod) else member
                if not attr.startswith("_") and inspect.isfunction(func):
                    out.append((f"{module.__name__}.{name}.{attr}", func))
    return out


@pytest.mark.parametrize("module_name", MODULES)
def test_public_api_has_numpydoc_sections(module_name):
    module = importlib.import_module(module_name)
    found = public_callables(module)
    assert found, f"{module_name}: no public functions or classes found (the collector is broken)"
    problems = [p for name, obj in found for p in docstring_problems(obj, name)]
    assert not problems, f"{len(problems)} docstring problem(s) in {module_name}:\n" + "\n".join(problems)


def test_checker_reports_missing_and_accepts_complete_sections():
    def bare(x, y=1):
        """Add two numbers."""
        return x + y

    def complete(x, y=1, *args, **kwargs):
        """Add two numbers.

        Parameters
        ----------
        x, y : float
            The numbers.
        *args, **kwargs
            Ignored.

        Returns
        -------
        float
            Their sum.
        """
        return x + y

    class Box:
        """A value in a box.

        Parameters
        ----------
        value : float
            The value.
        """

        def __init__(self, value):
            self.value = value

        def get(self):
            """The value, without a Returns section."""
            return self.value

    def stale(x):
        """Raise on a negative number.

        Parameters
        ----------
        x : float
            The number.
        z : float
            Gone from the signature.
        """
        if x < 0:
            raise errors.ConfigError("negative")

    def nothing():
        """Do nothing (no parameters, returns None: no sections needed)."""
        return None

    def nested_return(x):
        """Define a helper; return nothing itself.

        Parameters
        ----------
        x : int
            Unused.
        """

        def helper():
            return 1

        helper()

    assert docstring_problems(bare, "bare") == [
        "bare: no Parameters section (parameters: x, y)",
        "bare: returns a value but has no Returns section",
    ]
    assert docstring_problems(complete, "complete") == []
    assert docstring_problems(Box, "Box") == []
    assert docstring_problems(Box.get, "Box.get") == ["Box.get: returns a value but has no Returns section"]
    assert docstring_problems(stale, "stale") == [
        "stale: Parameters names z, not in the signature",
        "stale: raises ConfigError, not listed under Raises",
    ]
    assert docstring_problems(nothing, "nothing") == []
    assert docstring_problems(nested_return, "nested_return") == []

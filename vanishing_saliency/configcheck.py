"""Config errors in a few lines: the file, the key path, the bad value and what is allowed.

- YAML syntax errors with their line and column (:func:`yaml_problem`; Snakemake itself reports
  only "not valid JSON or YAML", so ``make`` runs this check before Snakemake, and
  ``python -m vanishing_saliency.configcheck FILE`` runs it by hand);
- schema errors (:func:`schema_problem`): the first error of ``schemas/config.schema.yaml`` (by
  jsonschema's relevance), with the key's description, the allowed values of an enum, and for
  an unknown key the nearest valid name;
- :func:`reported`: any :class:`~vanishing_saliency.errors.ConfigError` raised inside it is printed
  as one message and the process exits with status 1: no schema dump, no traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from pathlib import Path

import yaml

from .errors import ConfigError

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def config_source(configfiles) -> str:
    """How to name the config in a message: the file(s) given, or the embedded default."""
    return ", ".join(map(str, configfiles)) if configfiles else "config.yaml (the embedded default)"


def yaml_problem(path) -> str | None:
    """A YAML syntax error of ``path`` with its line and column, or None when the file parses."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        return f"config file {path} not found"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"config error in {path}{where}: YAML syntax: {exc.problem or exc.context}"
    except yaml.YAMLError as exc:
        return f"config error in {path}: YAML syntax: {exc}"
    if not isinstance(data, dict):
        return f"config error in {path}: expected keys at the top level (a YAML mapping), got {type(data).__name__}"
    return None


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _described(schema: dict) -> str:
    d = " ".join(str(schema.get("description", "")).split())
    return f" ({d})" if d else ""


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/"):
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        return {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def schema_problem(config: dict, schema: dict) -> str | None:
    """The most relevant schema error of ``config`` as one readable line (without the file), or None."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    where, sub = _path(error.absolute_path), _resolve(error.schema, schema)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = list(sub.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        key = unknown[0] if unknown else "?"
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return (
            f"{where}: unknown key `{key}`{hint} Allowed here: {', '.join(allowed)}"
            if allowed
            else f"{where}: unknown key `{key}`"
        )
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        prop = _resolve(sub.get("properties", {}).get(missing, {}), schema)
        return f"{where}: the key `{missing}` is missing{_described(prop)}"
    if kind == "enum":
        return (
            f"{where}: {error.instance!r} is not allowed; allowed: {', '.join(map(str, error.validator_value))}"
            f"{_described(sub)}"
        )
    if kind == "pattern" and error.absolute_path:
        return f"{where}: {error.instance!r} does not match {error.validator_value}{_described(sub)}"
    if kind == "propertyNames":
        return f"{where}: a name here {error.message}{_described(sub)}"
    return f"{where}: {error.message}{_described(sub)}"


def check_schema(config: dict, schema_path=SCHEMA) -> None:
    """Raise ConfigError with :func:`schema_problem`'s message if the config breaks the schema."""
    problem = schema_problem(config, yaml.safe_load(Path(schema_path).read_text()))
    if problem:
        raise ConfigError(problem)


@contextlib.contextmanager
def reported(source: str):
    """Print a ConfigError raised inside as ``config error in <source>: <message>`` and exit 1."""
    try:
        yield
    except ConfigError as exc:
        sys.stderr.write(f"config error in {source}: {exc}\n")
        sys.exit(1)


def main(argv=None) -> int:
    """``python -m vanishing_saliency.configcheck FILE``: the YAML syntax and schema checks of one config file."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python -m vanishing_saliency.configcheck CONFIG.yaml\n")
        return 2
    problem = yaml_problem(argv[0])
    if problem is None:
        schema_issue = schema_problem(yaml.safe_load(Path(argv[0]).read_text()), yaml.safe_load(SCHEMA.read_text()))
        problem = f"config error in {argv[0]}: {schema_issue}" if schema_issue else None
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

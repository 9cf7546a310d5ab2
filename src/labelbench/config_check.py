"""Read a config file strictly: a key given twice is refused naming the key and both lines, a key that YAML reads
as something other than a string (``on``, ``no``, ``null``, ``1``) naming its text and line, and a YAML syntax
error names the file, line and column.

Snakemake reads ``--configfile`` itself (JSON first, then YAML through yte and PyYAML): of two equal keys it keeps
the last without a word, and a syntax error becomes "Config file is not valid JSON or YAML", without the file or
the position. No hook of Snakemake's reaches that reading, so the Snakefile runs :func:`check_config_files` on the
files Snakemake was given when it starts (a duplicate key is then refused before any job), and ``make run`` runs
``python -m labelbench.config_check $(CONFIG)`` before Snakemake, which also catches a syntax error. Written by
hand because neither PyYAML nor Snakemake has a strict mode; it walks PyYAML's own node tree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

from labelbench.errors import ConfigError

_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


def _where(path: list[str]) -> str:
    return ".".join(path) if path else "the top level"


def name_kind(path: list) -> str:
    """What a mapping key under ``path`` names: a dataset, an experiment, a variant, or (elsewhere) a key."""
    if len(path) == 1 and path[0] in ("datasets", "experiments"):
        return path[0][:-1]
    if len(path) == 3 and path[0] == "experiments" and path[2] == "variants":
        return "variant"
    return "key"


def _reads_as(tag: str, text: str) -> str:
    """In words, what YAML makes of the unquoted key ``text`` that it resolved to ``tag``."""
    value = yaml.safe_load(text) if text else None
    kind = tag.rsplit(":", 1)[-1]
    return {"bool": f"the boolean {value}", "int": f"the integer {value}", "float": f"the number {value}",
            "null": "null (no value)", "timestamp": f"the date {value}"}.get(kind, f"a YAML {kind}")


def _refuse_non_string_key(key: yaml.ScalarNode, path: list[str], file: str) -> None:
    """A key that YAML reads as something else than a string (``on``, ``no``, ``null``, ``1``, a date) would name
    a variant ``True`` or a dataset ``1``; Snakemake then fails on a path such as ``masked/True/0`` without naming it.
    """
    if key.tag == _STR:
        return
    raise ConfigError(
        f"{file}, line {key.start_mark.line + 1}: {_where(path)}: {name_kind(path)} `{key.value}` reads as "
        f"{_reads_as(key.tag, key.value)}; quote it ('{key.value}') to use it as a name"
    )


def _duplicates_in_nodes(node: yaml.Node, path: list[str], file: str, seen_nodes: set[int]) -> None:
    if id(node) in seen_nodes:  # an alias of a node already walked
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if key.tag == _MERGE or not isinstance(key, yaml.ScalarNode):
                _duplicates_in_nodes(value, path, file, seen_nodes)
                continue
            _refuse_non_string_key(key, path, file)
            line = key.start_mark.line + 1
            if (key.tag, key.value) in lines:
                raise ConfigError(
                    f"{file}: key {key.value!r} is given twice in {_where(path)}, on lines "
                    f"{lines[(key.tag, key.value)]} and {line}; YAML would keep only the second. Keep one."
                )
            lines[(key.tag, key.value)] = line
            _duplicates_in_nodes(value, [*path, key.value], file, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicates_in_nodes(item, [*path[:-1], f"{path[-1] if path else ''}[{i}]"], file, seen_nodes)


def _json_duplicates(text: str, file: str) -> None:
    """Refuse a key given twice in a JSON object (JSON files are read as JSON first, as Snakemake does)."""

    def refuse_duplicates(pairs):
        keys = [k for k, _ in pairs]
        for k in keys:
            if keys.count(k) > 1:
                lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(rf'"{re.escape(k)}"\s*:', text)]
                where = f", on lines {lines[0]} and {lines[1]}" if len(lines) > 1 else ""
                raise ConfigError(f"{file}: key {k!r} is given twice in one object{where}; keep one")
        return dict(pairs)

    json.loads(text, object_pairs_hook=refuse_duplicates)


def check_config_file(path: str | Path) -> None:
    """Refuse ``path`` if it is not one JSON or YAML mapping, if a key appears twice in one mapping, or if a key is
    not a string."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {file}: {exc}") from exc
    try:
        _json_duplicates(text, file)
        return
    except ValueError:
        pass  # not JSON: read as YAML, as Snakemake does
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError(f"{file}{position}: not valid YAML: {exc.problem}{context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{file}: expected keys at the top level (datasets:, experiments:, ...)")
    _duplicates_in_nodes(root, [], file, set())


def check_config_files(paths, missing_ok: bool = False) -> None:
    """:func:`check_config_file` on each path; with ``missing_ok``, files that do not exist are left to Snakemake."""
    for path in paths:
        if missing_ok and not Path(path).exists():
            continue
        check_config_file(path)


def main(argv: list[str] | None = None) -> int:
    files = sys.argv[1:] if argv is None else argv
    if not files:
        print("usage: python -m labelbench.config_check CONFIG_FILE...", file=sys.stderr)
        return 2
    try:
        check_config_files(files)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

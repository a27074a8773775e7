"""The generated reference pages of the documentation site, and the MkDocs hook that adds them.

Three pages are written from the code each time the site is built, so they cannot go stale:
``reference/cli.md`` from the argparse definitions (``callflow.cli.build_parser``),
``reference/diagnostics.md`` from the code registry (``callflow.diagnostics.CODES``, filled
by every module that registers codes) and ``reference/lint-rules.md`` from the rule registry
(``callflow.lint.RULES``). ``mkdocs.yml`` names this file under ``hooks``; run it as a script
to print a page (``python scripts/docs_reference.py reference/cli.md``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Iterator
from typing import Any

# The groups of codes, in the words of callflow/diagnostics.py's docstring.
GROUPS = {
    "CF0": "Reading input",
    "CF1": "XML well-formedness and unsafe constructs",
    "CF2": "The schema",
    "CF3": "Lint rules",
    "CF6": "Templates",
    "CF7": "The Python builder and builder scripts",
    "CF8": "The OpenTact API and the sandbox (errors mapped back to source)",
    "CF9": "The simulator",
}
HELP_WIDTH = "100"


def _cell(text: str) -> str:
    """Text for a Markdown table cell: tags such as <Gather> shown, not taken as HTML."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _walk(
    parser: argparse.ArgumentParser, words: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield words, parser
    for name, sub in _subcommands(parser):
        yield from _walk(sub, (*words, name))


def cli_page() -> str:
    from callflow.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse wraps help to the terminal's width
    try:
        parser = build_parser()
        out = [
            "# Command line",
            "",
            "Generated from the argparse definitions each time this site is built: what",
            "`callflow COMMAND --help` prints. Exit status: 0 success, 1 problems found (or the",
            "platform refused), 2 usage errors, 3 an internal error.",
            "",
        ]
        for words, sub in _walk(parser, ("callflow",)):
            out += [f"## `{' '.join(words)}`", ""]
            if sub.description:
                out += [sub.description, ""]
            out += ["```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(out)


def registered_codes() -> dict[str, str]:
    """Every diagnostic code with its title, once every module has registered its own."""
    import callflow
    from callflow.diagnostics import CODES

    for module in pkgutil.walk_packages(callflow.__path__, "callflow."):
        if not module.name.endswith(".__main__"):  # that one runs the command line
            importlib.import_module(module.name)
    return dict(sorted(CODES.items()))


def _anchored(code: str) -> str:
    """The code with an anchor of its own (``#cf203``): the editor links each diagnostic here."""
    return f'<a id="{code.lower()}"></a>{code}'


def diagnostics_page() -> str:
    from callflow.lint import RULES

    codes = registered_codes()
    out = [
        "# Diagnostic codes",
        "",
        "Generated from the code registry each time this site is built. Every diagnostic",
        "carries one of these codes, a severity, a message, the place the author wrote it and",
        "often a hint; codes are stable. Lint codes (CF3xx) have a default severity that",
        "`[tool.callflow]` can change; see [the lint rules](lint-rules.md).",
        "",
    ]
    for prefix, title in GROUPS.items():
        group = {code: text for code, text in codes.items() if code.startswith(prefix)}
        if not group:
            continue
        out += [f"## {prefix}xx: {title}", "", "| code | meaning |", "|---|---|"]
        for code, text in group.items():
            rule = RULES.get(code)
            name = f" (`{rule.name}`)" if rule is not None else ""
            out.append(f"| {_anchored(code)} | {_cell(text)}{name} |")
        out.append("")
    unknown = sorted(code for code in codes if code[:3] not in GROUPS)
    if unknown:
        out += ["## Other codes", "", "| code | meaning |", "|---|---|"]
        out += [f"| {_anchored(code)} | {_cell(codes[code])} |" for code in unknown]
        out.append("")
    return "\n".join(out)


def lint_rules_page() -> str:
    from callflow.lint import RULES

    out = [
        "# Lint rules",
        "",
        "Generated from the rule registry each time this site is built. Choose rules with",
        "`--select`/`--ignore` or `[tool.callflow]`, change a default severity with",
        '`severity = { CODE = "error" }`, and silence one finding with a',
        "`callflow: ignore CODE` comment; see",
        "[validating flows](../guides/validating.md#the-lint-rules), which also says what each",
        "rule finds in detail.",
        "",
        "| code | name | default severity | `--fix` | finds |",
        "|---|---|---|---|---|",
    ]
    for code, rule in sorted(RULES.items()):
        fix = "yes" if rule.fixable else "—"
        out.append(
            f"| {code} | `{rule.name}` | {rule.severity.value} | {fix} | {_cell(rule.title)} |"
        )
    out.append("")
    return "\n".join(out)


PAGES: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_page,
    "reference/diagnostics.md": diagnostics_page,
    "reference/lint-rules.md": lint_rules_page,
}


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated pages to the site's files."""
    from mkdocs.structure.files import File

    for uri, page in PAGES.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:  # a hand-written page of the same name would go stale
            raise ValueError(f"docs/{uri} is generated; remove the file of that name")
        files.append(File.generated(config, uri, content=page()))
    return files


if __name__ == "__main__":
    names = sys.argv[1:] or list(PAGES)
    for name in names:
        print(PAGES[name]())

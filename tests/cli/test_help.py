"""``python -m skimb compare --help`` is plain text, says every option once, with examples;
the commands that the README and the docs show are commands it accepts."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from skimb.cli._parser import EPILOG, build_parser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compare_help():
    result = subprocess.run([sys.executable, "-m", "skimb", "compare", "--help"],
                            capture_output=True, text=True, check=True,
                            env={"COLUMNS": "100", "PATH": ""}, cwd=ROOT)
    return result.stdout


def _compare_parser():
    commands = next(a for a in build_parser()._actions if a.dest == "command")
    return commands.choices["compare"]


def test_help_has_no_sphinx_markup(compare_help):
    assert not re.search(r"``|:(func|class|mod|doc|meth):`", compare_help)


def test_every_option_has_help_that_names_its_default_once(compare_help):
    for action in _compare_parser()._actions:
        assert action.help, f"{action.option_strings} has no help"
        shown = action.help % {"default": action.default}
        assert shown.count("default") <= 1, action.option_strings
    assert "(default: None)" not in compare_help
    assert compare_help.count("(default: 16)") == 1


def test_help_ends_with_examples_that_run(compare_help):
    assert "examples:" in compare_help
    commands = [line.strip() for line in EPILOG.splitlines()
                if line.strip().startswith("python -m skimb")]
    assert len(commands) >= 2
    for command in commands:
        assert command in compare_help
        build_parser().parse_args(shlex.split(command)[3:])


def test_help_fits_a_terminal(compare_help):
    assert max(map(len, compare_help.splitlines())) <= 100


def test_module_help_describes_compare():
    result = subprocess.run([sys.executable, "-m", "skimb", "--help"],
                            capture_output=True, text=True, check=True)
    assert "compare" in result.stdout
    assert "examples:" in result.stdout


def _documented_commands():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = []
    for page in pages:
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("$"):  # a terminal session shown, errors included
                continue
            for match in re.finditer(r"(?:\.venv/bin/)?python -m skimb (compare[^`#\n]*)", line):
                found.append((page.relative_to(ROOT).as_posix(), match.group(1).strip()))
    return found


def test_the_documented_commands_are_accepted():
    commands = _documented_commands()
    assert any(page == "README.md" for page, _ in commands)
    for page, command in commands:
        try:
            build_parser().parse_args(shlex.split(command))
        except SystemExit as stop:  # --help exits 0
            if stop.code != 0:
                    pytest.fail(f"{page}: `python -m skimb {command}` is not accepted")

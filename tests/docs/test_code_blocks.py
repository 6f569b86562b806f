"""The ```python blocks of the docs run as a reader runs them.

Each page's blocks run in order in one fresh namespace (a later block may use an
earlier block's names), with a temporary directory as the working directory. A
block that is illustrative only and cannot run is marked by an HTML comment on the
line just above its fence, which readers of the source see and the rendered page
hides::

    <!-- docs-test: skip (why it cannot run) -->
    ```python
    ...
    ```

A block that a page shows with MyST's ``{include}`` (getting_started.md shows the README's quick
start so) runs with the page it comes from, once. To cover another page, add it to ``PAGES``.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/getting_started.md", "docs/user_guide/skorch_parameters.md",
         "docs/user_guide/probabilities.md", "docs/user_guide/decisions.md",
         "docs/user_guide/cli.md"]
SKIP_MARK = "<!-- docs-test: skip"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class CodeBlock:
    line: int  # 1-based line of the block's first line of code in its page
    code: str
    skip: str | None  # the skip mark's text, or None for a block that runs


def python_blocks(text: str) -> list[CodeBlock]:
    """The ```python fenced blocks of a Markdown text, in order, with their skip marks."""
    tokens = MarkdownIt("commonmark").parse(text)
    blocks = []
    for previous, token in zip([None, *tokens], tokens):
        if token.type != "fence" or token.info.split()[:1] != ["python"]:
            continue
        mark = (previous.content.strip() if previous is not None and previous.type == "html_block"
                and previous.content.lstrip().startswith(SKIP_MARK) else None)
        blocks.append(CodeBlock(line=token.map[0] + 2, code=token.content, skip=mark))
    return blocks


def run_blocks(blocks: list[CodeBlock], filename: str) -> None:
    """Run the blocks that are not skipped in one namespace; tracebacks name page lines."""
    namespace = {"__name__": "__main__"}
    for block in blocks:
        if block.skip is None:
            tree = ast.parse(block.code, filename=filename)
            ast.increment_lineno(tree, block.line - 1)
            exec(compile(tree, filename, "exec"), namespace)


@pytest.mark.parametrize("page", PAGES)
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    path = ROOT / page
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    assert any(block.skip is None for block in blocks), f"{page} has no ```python block to run"
    monkeypatch.chdir(tmp_path)
    run_blocks(blocks, str(path))


def test_extractor_finds_marks_skips_and_reports_page_lines():
    text = "\n".join([
        "# Page",                                        # 1
        "```python",                                     # 2
        "x = 1",                                         # 3
        "```",                                           # 4
        "<!-- docs-test: skip (needs a GPU) -->",        # 5
        "```python",                                     # 6
        "raise RuntimeError('skipped')",                 # 7
        "```",                                           # 8
        "```bash",                                       # 9
        "exit 1",                                        # 10
        "```",                                           # 11
        "- a list item:",                                # 12
        "",                                              # 13
        "  ```python",                                   # 14
        "  y = x + 1",                                   # 15
        "  assert y == 3, 'fails on line 16'",           # 16
        "  ```",                                         # 17
    ])
    blocks = python_blocks(text)
    assert [(b.line, b.skip is None) for b in blocks] == [(3, True), (7, False), (15, True)]
    assert blocks[1].skip == "<!-- docs-test: skip (needs a GPU) -->"
    assert blocks[2].code == "y = x + 1\nassert y == 3, 'fails on line 16'\n"
    with pytest.raises(AssertionError) as failure:
        run_blocks(blocks, "page.md")
    assert failure.traceback[-1].lineno + 1 == 16  # pytest's line numbers are 0-based

"""bench/quickstart_check.py finds the README's quick start and the names it compares.

Running the check takes minutes (tests/docs/test_code_blocks.py runs the quick start itself);
this only guards the link between the README and the script.
"""

import ast

from tests.helpers import bench_script


def test_quick_start_code_defines_the_data_and_the_search():
    with bench_script("quickstart_check") as check:
        code = check.quick_start_code()
    assigned = {name.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Assign)
                for target in node.targets for name in ast.walk(target)
                if isinstance(name, ast.Name)}
    assert {"X", "y", "search"} <= assigned
    assert "GridSearchCV(" in code


def test_quick_start_code_is_the_python_blocks_of_its_section_in_order(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# t\n```python\nbefore = 1\n```\n## Quick start\n\ntext\n\n"
                      "```python\nX = 1\n```\n```bash\nls\n```\ntext\n```python\ny = 2\n```\n"
                      "## Next\n```python\nafter = 3\n```\n", encoding="utf-8")
    with bench_script("quickstart_check") as check:
        assert check.quick_start_code(readme) == "X = 1\ny = 2\n"

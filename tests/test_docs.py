"""Generated docs match the code, and every countermeasure names tests that exist."""

import ast
from pathlib import Path

import pytest

from guillotine.cli import main
from guillotine.docs import write_pages
from guillotine.hdl.kill_latch import COUNTERMEASURES

ROOT = Path(__file__).resolve().parents[1]


def test_generated_pages_are_up_to_date():
    stale = write_pages(ROOT / "docs", check=True)
    assert stale == [], f"run 'guillotine docs --write': {stale} out of date"


def test_docs_check_command_detects_stale_page(tmp_path, capsys):
    assert main(["docs", "--folder", str(tmp_path)]) == 0
    assert main(["docs", "--folder", str(tmp_path), "--check"]) == 0
    page = tmp_path / "kill_latch.md"
    page.write_text(page.read_text().replace("IMMOLATION", "IMMOLATED"))
    assert main(["docs", "--folder", str(tmp_path), "--check"]) == 2
    assert "kill_latch.md" in capsys.readouterr().err


def _test_names(path):
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("cm", COUNTERMEASURES, ids=lambda cm: cm.name)
def test_countermeasure_is_covered(cm):
    assert cm.covered_by, f"{cm.name} names no test"
    for ref in cm.covered_by:
        file, _, name = ref.partition("::")
        path = ROOT / file
        assert path.exists(), f"{cm.name}: {file} does not exist"
        assert name in _test_names(path), f"{cm.name}: {ref} does not exist"

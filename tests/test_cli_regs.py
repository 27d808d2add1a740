"""Tests for ``guillotine regs``."""

import json
import os
from pathlib import Path

import pytest

from guillotine.cli import main
from guillotine.commands import regs as regs_command
from guillotine.docs import GENERATED
from guillotine.firmware import regmap
from guillotine.hdl import memory_map

ROOT = Path(__file__).resolve().parents[1]


def one_error_line(capsys, *needles):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == ""
    assert len(lines) == 1, err
    assert lines[0].startswith("guillotine") and "error:" in lines[0]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_command_choices_match_the_library():
    assert regs_command.FORMATS == regmap.FORMATS
    assert regs_command.MAX_MODELS == memory_map.MAX_MODELS


@pytest.mark.parametrize("fmt", regmap.FORMATS)
@pytest.mark.parametrize("n_models", [1, 4])
def test_prints_each_format(fmt, n_models, capsys):
    assert main(["regs", "--format", fmt, "--n-models", str(n_models)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == regmap.render(fmt, n_models=n_models)
    assert f"MODEL{n_models - 1}_WINDOW" in out and f"MODEL{n_models}_WINDOW" not in out


def test_default_is_the_markdown_of_docs_registers_md(capsys):
    assert main(["regs"]) == 0
    out = capsys.readouterr().out
    assert (ROOT / "docs" / "registers.md").read_text() == f"{GENERATED}\n{out}"


def test_json_output_parses(capsys):
    assert main(["regs", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["blocks"][0]["name"] == "LATCH"
    assert data["blocks"][0]["registers"][0]["address"] == 0x4000_0000


def test_writes_a_file_atomically(tmp_path, capsys):
    out = tmp_path / "guillotine_regs.h"
    assert main(["regs", "--format", "c", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text() == regmap.c_header()
    assert "#define GUILLOTINE_LATCH_LEVEL 0x40000000u" in out.read_text()
    assert os.listdir(tmp_path) == ["guillotine_regs.h"]           # no temporary left behind
    out.chmod(0o640)
    assert main(["regs", "--format", "py", "-o", str(out)]) == 0
    assert out.read_text() == regmap.python_module()
    assert out.stat().st_mode & 0o777 == 0o640                      # existing permissions kept


@pytest.mark.parametrize("argv, needles", [
    (["regs", "--format", "yaml"], ["--format", "'yaml'", "'md'", "'json'", "'c'", "'py'"]),
    (["regs", "--n-models", "0"], ["--n-models", "'0'", "1..4"]),
    (["regs", "--n-models", "5"], ["--n-models", "'5'", "1..4"]),
    (["regs", "--n-models", "two"], ["--n-models", "'two'", "1..4"]),
])
def test_bad_arguments_are_one_line(argv, needles, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    one_error_line(capsys, *needles)


def test_bad_output_path_is_one_line(tmp_path, capsys):
    assert main(["regs", "-o", str(tmp_path / "missing" / "regs.md")]) == 2
    one_error_line(capsys, "output folder", "does not exist")
    assert main(["regs", "-o", str(tmp_path)]) == 2
    one_error_line(capsys, "is a folder")
    assert os.listdir(tmp_path) == []


def test_a_broken_layout_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(memory_map, "CSR_LAYOUT",
                        [("UART", 0x200, "guillotine.hdl.not_written_yet:UART_REGISTERS")])
    assert main(["regs", "-f", "json"]) == 2
    one_error_line(capsys, "UART", "guillotine.hdl.not_written_yet", "not found")

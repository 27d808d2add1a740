"""Tests for ``guillotine asm`` and ``guillotine disasm``."""

import os
import subprocess
import sys

import pytest

from guillotine.cli import main
from guillotine.firmware.asm import assemble_text

SOURCE = """\
# count down from 5
start:  li a0, 5
loop:   addi a0, a0, -1
        bnez a0, loop
        ebreak
"""


@pytest.fixture
def prog(tmp_path):
    path = tmp_path / "prog.s"
    path.write_text(SOURCE)
    return path


def one_error_line(capsys, *needles):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("guillotine") and "error:" in lines[0]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_asm_writes_binary(prog, tmp_path, capsys):
    out = tmp_path / "prog.bin"
    assert main(["asm", str(prog), "-o", str(out)]) == 0
    assert out.read_bytes() == assemble_text(SOURCE).data
    assert capsys.readouterr().out == ""
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask      # not mkstemp's 0600
    out.chmod(0o640)
    assert main(["asm", str(prog), "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o640                # existing permissions kept


def test_asm_writes_hex_with_base_and_listing(prog, tmp_path, capsys):
    out = tmp_path / "prog.hex"
    assert main(["asm", str(prog), "-o", str(out), "--hex", "--listing", "--base", "0x100"]) == 0
    img = assemble_text(SOURCE, base=0x100)
    assert out.read_text() == img.hex()
    assert out.read_text().splitlines()[0] == "00500513"
    listing = capsys.readouterr().out
    assert listing == img.listing()
    assert "00000108  fe051ee3  bne a0, zero, 0x104" in listing
    assert "bnez a0, loop" in listing


def test_asm_listing_only(prog, capsys):
    assert main(["asm", str(prog), "--listing"]) == 0
    assert "ebreak" in capsys.readouterr().out


def test_disasm_prints_address_word_text(tmp_path, capsys):
    path = tmp_path / "p.bin"
    path.write_bytes(assemble_text(SOURCE, base=0x2000).data)
    assert main(["disasm", str(path), "--base", "0x2000"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "00002000:  00500513  addi a0, zero, 5",
        "00002004:  fff50513  addi a0, a0, -1",
        "00002008:  fe051ee3  bne a0, zero, 0x2004",
        "0000200c:  00100073  ebreak",
    ]


def test_disasm_reads_hex(prog, tmp_path, capsys):
    out = tmp_path / "p.hex"
    assert main(["asm", str(prog), "-o", str(out), "--hex"]) == 0
    assert main(["disasm", str(out), "--hex"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0000000c:  00100073  ebreak"


def test_asm_then_disasm_round_trip_through_the_console_script(prog, tmp_path):
    out = tmp_path / "p.bin"
    exe = [sys.executable, "-m", "guillotine"]
    env = dict(os.environ, PYTHONWARNINGS="error")
    subprocess.run(exe + ["asm", str(prog), "-o", str(out)], check=True, env=env)
    res = subprocess.run(exe + ["disasm", str(out)], check=True, capture_output=True, text=True,
                         env=env)
    text = "\n".join(line.split("  ", 2)[2] for line in res.stdout.splitlines())
    assert assemble_text(text).data == out.read_bytes()


# ---------------------------------------------------------------------------------------------
# Bad input: exit 2, one line, no traceback, output untouched

def test_asm_error_in_source_names_file_and_line_and_keeps_old_output(tmp_path, capsys):
    src = tmp_path / "bad.s"
    src.write_text("nop\naddi a0, a0, 4096\n")
    out = tmp_path / "bad.bin"
    out.write_bytes(b"previous")
    assert main(["asm", str(src), "-o", str(out)]) == 2
    one_error_line(capsys, f"{src}:2:", "out of range (-2048..2047)")
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bin", "bad.s"]   # no temp files


def test_asm_missing_input(tmp_path, capsys):
    assert main(["asm", str(tmp_path / "nope.s"), "-o", str(tmp_path / "x.bin")]) == 2
    one_error_line(capsys, "nope.s", "not found")
    assert not (tmp_path / "x.bin").exists()


def test_asm_missing_output_folder(prog, tmp_path, capsys):
    assert main(["asm", str(prog), "-o", str(tmp_path / "no" / "such" / "x.bin")]) == 2
    one_error_line(capsys, "output folder", "does not exist")


def test_asm_input_is_a_folder_or_not_text(tmp_path, capsys):
    assert main(["asm", str(tmp_path), "--listing"]) == 2
    one_error_line(capsys, "is a folder")
    binary = tmp_path / "b.s"
    binary.write_bytes(b"\xff\xfe\x00")
    assert main(["asm", str(binary), "--listing"]) == 2
    one_error_line(capsys, "not UTF-8 text")


def test_asm_needs_an_output_or_listing(prog, capsys):
    assert main(["asm", str(prog)]) == 2
    one_error_line(capsys, "-o OUTPUT", "--listing")


def test_asm_bad_base(prog, capsys):
    with pytest.raises(SystemExit) as info:
        main(["asm", str(prog), "--listing", "--base", "zz"])
    assert info.value.code == 2
    one_error_line(capsys, "invalid address 'zz'")


def test_disasm_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert main(["disasm", str(path)]) == 2
    one_error_line(capsys, "empty.bin", "is empty")


def test_disasm_length_not_multiple_of_4(tmp_path, capsys):
    path = tmp_path / "odd.bin"
    path.write_bytes(bytes(6))
    assert main(["disasm", str(path)]) == 2
    one_error_line(capsys, "odd.bin", "6 bytes, not a multiple of 4")


def test_disasm_missing_file_and_bad_hex(tmp_path, capsys):
    assert main(["disasm", str(tmp_path / "nope.bin")]) == 2
    one_error_line(capsys, "nope.bin", "not found")
    path = tmp_path / "bad.hex"
    path.write_text("00000013\nxyz\n")
    assert main(["disasm", str(path), "--hex"]) == 2
    one_error_line(capsys, "bad.hex:2", "'xyz' is not a hex word")


def test_console_script_error_has_no_traceback(tmp_path):
    src = tmp_path / "e.s"
    src.write_text("j nowhere\n")
    res = subprocess.run([sys.executable, "-m", "guillotine", "asm", str(src), "--listing"],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip() == f"guillotine: error: {src}:1: undefined symbol 'nowhere'"
    assert res.stdout == ""

"""``guillotine run``: exit codes 0 / 1 "FAIL: test N" / 2 / 3 on assembled and GCC-built
programs, traces, and the Icarus/Verilator backends (sharing the cocotb suite's build)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from guillotine.cli import main
from guillotine.firmware.asm import assemble_text

PROGRAMS = Path(__file__).parent / "programs"
GCC = "riscv64-unknown-elf-gcc"
OBJCOPY = "riscv64-unknown-elf-objcopy"


def run_cli(capsys, *argv):
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name, source):
    path = tmp_path / name
    path.write_bytes(assemble_text(source).data)
    return path


@pytest.fixture(scope="module")
def gcc_images(tmp_path_factory):
    """selfcheck.c built four ways: passing, check 3 broken, ending in ecall, spinning."""
    if shutil.which(GCC) is None or shutil.which(OBJCOPY) is None:
        pytest.skip(f"{GCC} not installed (Debian package gcc-riscv64-unknown-elf)")
    out = tmp_path_factory.mktemp("gcc")
    images = {}
    for name, defines in {"pass": [], "break3": ["-DBREAK=3"], "ecall": ["-DHALT"],
                          "spin": ["-DSPIN"]}.items():
        elf = out / f"{name}.elf"
        subprocess.run([GCC, "-march=rv32i", "-mabi=ilp32", "-O2", "-ffreestanding", "-nostdlib",
                        "-nostartfiles", "-Wl,--no-warn-rwx-segments", "-T",
                        str(PROGRAMS / "linker.ld"), *defines, str(PROGRAMS / "start.S"),
                        str(PROGRAMS / "selfcheck.c"), "-o", str(elf)], check=True)
        images[name] = out / f"{name}.bin"
        subprocess.run([OBJCOPY, "-O", "binary", str(elf), str(images[name])], check=True)
    return images


# --- GCC-built programs -----------------------------------------------------------------------

def test_gcc_selfcheck_passes(gcc_images, capsys):
    code, out, err = run_cli(capsys, gcc_images["pass"], "--ram", "16K")
    assert code == 0 and out.startswith("PASS"), (out, err)


def test_gcc_selfcheck_reports_failing_test(gcc_images, capsys):
    code, out, _ = run_cli(capsys, gcc_images["break3"], "--ram", "16K")
    assert code == 1 and out.startswith("FAIL: test 3")


def test_gcc_halt_prints_cause(gcc_images, capsys):
    code, out, _ = run_cli(capsys, gcc_images["ecall"], "--ram", "16K")
    assert code == 2 and out.startswith("HALT: ECALL at pc=0x")


def test_gcc_timeout(gcc_images, capsys):
    code, out, _ = run_cli(capsys, gcc_images["spin"], "--ram", "16K", "--max-cycles", "5000")
    assert code == 2 and out.startswith("TIMEOUT") and "5000 cycles" in out


@pytest.mark.cocotb
@pytest.mark.parametrize("backend", ["icarus", "verilator"])
def test_gcc_selfcheck_on_verilog_backends(gcc_images, capsys, backend):
    # --ram 4K and the default tohost: the same design as tests/test_cpu_cocotb.py (one build).
    code, out, err = run_cli(capsys, gcc_images["pass"], "--ram", "4K", "--backend", backend)
    assert code == 0 and out.startswith("PASS"), (out, err)
    code, out, err = run_cli(capsys, gcc_images["break3"], "--ram", "4K", "--backend", backend)
    assert code == 1 and out.startswith("FAIL: test 3"), (out, err)


# --- assembled programs (no cross-compiler needed) -----------------------------------------------

def test_exit_codes_with_assembled_programs(tmp_path, capsys):
    ok = write(tmp_path, "ok.bin", "li a0, 1\nsw a0, -16(zero)")
    bad = write(tmp_path, "bad.bin", "li a0, (7 << 1) | 1\nsw a0, -16(zero)")
    even = write(tmp_path, "even.bin", "li a0, 4\nsw a0, -16(zero)")
    halt = write(tmp_path, "halt.bin", "nop\n.word 0")
    code, out, _ = run_cli(capsys, ok)
    assert code == 0 and out.startswith("PASS (2 instructions")
    code, out, _ = run_cli(capsys, bad)
    assert code == 1 and out.startswith("FAIL: test 7")
    code, out, _ = run_cli(capsys, even)
    assert code == 1 and "0x4" in out
    code, out, _ = run_cli(capsys, halt)
    assert code == 2 and out.startswith("HALT: ILLEGAL at pc=0x00000004")


def test_custom_tohost_address(tmp_path, capsys):
    image = write(tmp_path, "t.bin", "li t0, 0x3000\nli a0, 1\nsw a0, 0(t0)\n1: j 1b")
    code, out, _ = run_cli(capsys, image, "--tohost", "0x3000")
    assert code == 0
    code, out, _ = run_cli(capsys, image, "--tohost", "0x2000", "--max-cycles", "200")
    assert code == 2 and out.startswith("TIMEOUT")     # a plain RAM store now


def test_vcd_trace(tmp_path, capsys):
    image = write(tmp_path, "t.bin", "li a0, 1\nsw a0, -16(zero)")
    trace = tmp_path / "out.vcd"
    code, _, _ = run_cli(capsys, image, "--trace", trace)
    assert code == 0 and trace.stat().st_size > 0 and b"retire_pc" in trace.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["missing.bin"], "not found"),
    (["empty.bin"], "is empty"),
    (["big.bin", "--ram", "4K"], "larger than the RAM"),
    (["ok.bin", "--ram", "12Q"], "bad RAM size"),
    (["ok.bin", "--ram", "6"], "multiple of 4"),
    (["ok.bin", "--ram", "2M"], "at most 1M"),
    (["ok.bin", "--tohost", "nowhere"], "bad tohost address"),
    (["ok.bin", "--tohost", "0x1002"], "aligned"),
    (["ok.bin", "--max-cycles", "0"], "bad cycle limit"),
    (["ok.bin", "--trace", "out.fst"], "writes VCD"),
    (["ok.bin", "--backend", "icarus", "--trace", "out.vcd"], "writes FST"),
    (["folder"], "folder"),
])
def test_bad_input_exits_3_with_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.bin").write_bytes(b"")
    (tmp_path / "big.bin").write_bytes(bytes(8192))
    (tmp_path / "ok.bin").write_bytes(assemble_text("ebreak").data)
    (tmp_path / "folder").mkdir()
    code, out, err = run_cli(capsys, *args)
    assert code == 3 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


@pytest.mark.cocotb
def test_fst_trace_on_icarus(tmp_path, capsys):
    image = write(tmp_path, "t.bin", "li a0, (2 << 1) | 1\nsw a0, -16(zero)")
    trace = tmp_path / "out.fst"
    code, out, err = run_cli(capsys, image, "--ram", "4K", "--backend", "icarus", "--trace", trace)
    assert code == 1 and out.startswith("FAIL: test 2"), (out, err)
    assert trace.stat().st_size > 0

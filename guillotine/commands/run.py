"""``guillotine run``: run a flat RV32I binary on the core in simulation.

The image is loaded at address 0 of a RAM (``--ram``), the core starts at 0 and runs until it
stores to ``--tohost`` (riscv-tests convention: 1 = pass, ``(N << 1) | 1`` = test N failed),
halts (illegal instruction, ecall, ebreak, misaligned access, bus error) or reaches
``--max-cycles``.

Exit status: 0 pass · 1 "FAIL: test N" (or any other tohost value) · 2 halt or timeout ·
3 bad input (missing/empty image, image larger than the RAM, bad size or address syntax,
unusable trace name, simulator not available).
"""

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
import json
from pathlib import Path

from guillotine import GuillotineError

BACKENDS = ("amaranth", "icarus", "verilator")
MAX_RAM = 1 << 20
_SIZE = re.compile(r"\s*(0x[0-9a-f]+|\d+)\s*(k|ki|kib|kb|m|mi|mib|mb)?\s*", re.IGNORECASE)


class BadInput(Exception):
    """Bad user input: reported as one line, exit status 3."""


def parse_size(text):
    """``"64K"``, ``"1M"``, ``"4096"``, ``"0x1000"`` -> bytes (a multiple of 4, at most 1 MiB)."""
    m = _SIZE.fullmatch(text or "")
    if not m:
        raise BadInput(f"bad RAM size {text!r} (use e.g. 4096, 0x1000, 64K or 1M)")
    value = int(m.group(1), 0)
    unit = (m.group(2) or "").lower()
    value *= 1 << 20 if unit.startswith("m") else 1 << 10 if unit.startswith("k") else 1
    if value <= 0 or value % 4 or value > MAX_RAM:
        raise BadInput(f"bad RAM size {text!r}: must be a positive multiple of 4 bytes, "
                       f"at most 1M")
    return value


def parse_address(text):
    try:
        value = int(text, 0)
    except (TypeError, ValueError):
        raise BadInput(f"bad tohost address {text!r} (use a number such as 0xfffffff0)") from None
    if not 0 <= value <= 0xFFFF_FFFF or value % 4:
        raise BadInput(f"bad tohost address {text!r}: must be a 4-byte aligned 32-bit address")
    return value


def parse_cycles(text):
    try:
        value = int(text, 0)
    except (TypeError, ValueError):
        raise BadInput(f"bad cycle limit {text!r} (use a positive integer)") from None
    if value <= 0:
        raise BadInput(f"bad cycle limit {text!r} (use a positive integer)")
    return value


def register(subparsers):
    """Add the ``run`` subcommand."""
    from guillotine.sim.cpu_run import DEFAULT_TOHOST
    parser = subparsers.add_parser(
        "run", help="run a flat RV32I binary on the core in simulation (pass/fail via tohost)",
        description="Load a flat RV32I binary at address 0, reset the core at 0 and simulate "
                    "until it stores to tohost, halts, or runs out of cycles. Backends: "
                    "'amaranth' (Amaranth's Python simulator, no external tools; VCD traces), "
                    "'icarus' and 'verilator' (the exported Verilog through cocotb; FST traces; "
                    "the first Verilator run compiles the design, 15-90 s).",
        epilog="exit status: 0 tohost=1 (pass); 1 'FAIL: test N' (tohost=(N<<1)|1) or another "
               "tohost value; 2 halt (cause printed) or cycle limit; 3 bad input")
    parser.add_argument("image", help="flat little-endian binary, loaded at address 0")
    parser.add_argument("--ram", default="64K", metavar="SIZE",
                        help="RAM size: bytes, or with K/M suffix (default 64K, at most 1M)")
    parser.add_argument("--max-cycles", default="1000000", metavar="N",
                        help="stop after N clock cycles (default 1000000)")
    parser.add_argument("--tohost", default=f"{DEFAULT_TOHOST:#x}", metavar="ADDR",
                        help=f"address of the pass/fail word (default {DEFAULT_TOHOST:#x}, "
                             f"reachable with 'sw a0, -16(zero)')")
    parser.add_argument("--backend", choices=BACKENDS, default="amaranth",
                        help="simulator: amaranth (default, built in), icarus, verilator")
    parser.add_argument("--trace", metavar="FILE",
                        help="write a waveform: .vcd with the amaranth backend, .fst with "
                             "icarus/verilator")
    parser.set_defaults(func=run)


def _load_image(path, ram_size):
    if not os.path.exists(path):
        raise BadInput(f"image '{path}' not found")
    if os.path.isdir(path):
        raise BadInput(f"image '{path}' is a folder, not a file")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read image '{path}': {exc.strerror}") from None
    if not data:
        raise BadInput(f"image '{path}' is empty")
    if len(data) > ram_size:
        raise BadInput(f"image '{path}' is {len(data)} bytes, larger than the RAM "
                       f"({ram_size} bytes; use --ram)")
    return data


def _check_trace(path, backend):
    if path is None:
        return None
    want = ".vcd" if backend == "amaranth" else ".fst"
    if not path.lower().endswith(want):
        raise BadInput(f"trace '{path}': the {backend} backend writes {want.upper()[1:]}, "
                       f"name it *{want}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadInput(f"trace folder '{os.path.dirname(path)}' does not exist")
    return path


def _run_amaranth(data, ram_size, max_cycles, tohost, trace):
    from guillotine.sim.cpu_run import run_amaranth
    started = time.monotonic()
    show = sys.stderr.isatty()

    def progress(cycles):
        if show:
            rate = cycles / max(time.monotonic() - started, 1e-6)
            print(f"\r  {cycles} cycles ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    result = run_amaranth(data, ram_size=ram_size, max_cycles=max_cycles, tohost=tohost,
                          vcd=trace, progress=progress)
    if show and result.cycles >= 0x4000:
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr, flush=True)
    return {"outcome": result.outcome, "cycles": result.cycles, "retired": result.retired,
            "cause": int(result.cause), "pc": result.pc, "tohost": result.tohost_value}


def _run_cocotb(data, ram_size, max_cycles, tohost, trace, simulator):
    from guillotine.hdl.cpu.harness import CoreWithRAM
    from guillotine.sim.cocotb_runner import run_cocotb
    with tempfile.TemporaryDirectory(prefix="guillotine-run-") as tmp:
        results = Path(tmp) / "results.json"
        suite = Path(tmp) / "suite.json"
        suite.write_text(json.dumps({
            "programs": {"main": {"image": data.hex(), "max_cycles": max_cycles}},
            "results": str(results)}))
        dut = CoreWithRAM(ram_size, b"", tohost=tohost, loader=True)
        if sys.stderr.isatty():
            print(f"  building and running on {simulator} ...", file=sys.stderr, flush=True)
        chatter = io.StringIO()             # the runner's build messages: not our output
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            out = run_cocotb(dut, "tb_cpu", simulator=simulator, waves=trace is not None,
                             extra_env={"GUILLOTINE_CPU_SUITE": suite},
                             test_name=f"guillotine-run-{os.getpid()}")
        if trace is not None:
            if out.waves is None:
                raise GuillotineError(f"{simulator} wrote no waveform")
            shutil.copyfile(out.waves, trace)
        result = json.loads(results.read_text())["main"]
    return result


def run(args):
    from guillotine.hdl.cpu.causes import HaltCause
    try:
        ram_size = parse_size(args.ram)
        max_cycles = parse_cycles(args.max_cycles)
        tohost = parse_address(args.tohost)
        data = _load_image(args.image, ram_size)
        trace = _check_trace(args.trace, args.backend)
        if args.backend == "icarus" and shutil.which("iverilog") is None:
            raise BadInput("the icarus backend needs Icarus Verilog ('iverilog' not found on "
                           "PATH; Debian package iverilog)")
    except BadInput as exc:
        print(f"guillotine run: error: {exc}", file=sys.stderr)
        return 3
    try:
        if args.backend == "amaranth":
            result = _run_amaranth(data, ram_size, max_cycles, tohost, trace)
        else:
            result = _run_cocotb(data, ram_size, max_cycles, tohost, trace, args.backend)
    except AssertionError as exc:          # the simulator did not complete
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "simulation failed"
        print(f"guillotine run: error: {first}", file=sys.stderr)
        return 3
    stats = f"{result['retired']} instructions, {result['cycles']} cycles"
    if result["outcome"] == "tohost":
        value = result["tohost"]
        if value == 1:
            print(f"PASS ({stats})")
            return 0
        if value & 1:
            print(f"FAIL: test {value >> 1} ({stats})")
        else:
            print(f"FAIL: tohost = {value:#x}, not a pass/fail code ({stats})")
        return 1
    if result["outcome"] == "halt":
        cause = HaltCause(result["cause"])
        print(f"HALT: {cause.name} at pc={result['pc']:#010x} ({stats})")
        return 2
    print(f"TIMEOUT: no tohost store or halt after {max_cycles} cycles ({stats})")
    return 2

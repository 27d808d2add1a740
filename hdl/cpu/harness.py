"""Test harness: an :class:`RV32ICore` on a :class:`BusRAM`, with an optional ``tohost`` register.

Used by the core's tests, the cocotb testbench and ``guillotine run``. Not part of the SoC.

- RAM at byte address 0 (``ram_size`` bytes, preloaded with ``image``); everything else answers
  with a bus error, except:
- ``tohost`` (a byte address, optional): a store there is not written to RAM; the stored word
  appears on ``tohost_value`` with a one-cycle ``tohost_valid`` pulse (riscv-tests convention:
  1 = pass, ``(n << 1) | 1`` = test ``n`` failed). A load from it reads 0.
- ``loader=True`` adds a write port straight into the RAM (``load_en``, ``load_addr`` (word),
  ``load_data``) so a testbench can put a new program in while it holds the reset, and reuse one
  simulator build for several programs.

Members
-------
halt, cause, pc, retire_* : the core's outputs
tohost_valid : Out(1), tohost_value : Out(32)
load_en : In(1), load_addr : In(30), load_data : In(32)   (only with ``loader=True``)
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..bus import BusRAM
from .core import RV32ICore

__all__ = ["CoreWithRAM", "CoreSynthTop"]


class CoreWithRAM(wiring.Component):
    __doc__ = __doc__

    def __init__(self, ram_size=65536, image=b"", reset_addr=0, tohost=None, *, loader=False):
        if tohost is not None:
            if not isinstance(tohost, int) or not 0 <= tohost < 1 << 32 or tohost % 4:
                self._MustUse__silence = True
                raise ValueError(f"tohost must be a 4-byte aligned 32-bit address, not {tohost!r}")
        self._tohost = tohost
        self._loader = bool(loader)
        self._MustUse__silence = True           # until both parts are accepted
        self.ram = BusRAM(ram_size, image, loader=loader)
        self.core = RV32ICore(reset_addr)
        self._MustUse__silence = False
        members = {
            "halt": Out(1), "cause": Out(4), "pc": Out(32),
            "retire_valid": Out(1), "retire_pc": Out(32), "retire_insn": Out(32),
            "retire_rd": Out(5), "retire_value": Out(32),
            "tohost_valid": Out(1), "tohost_value": Out(32),
        }
        if self._loader:
            members.update({"load_en": In(1), "load_addr": In(30), "load_data": In(32)})
        super().__init__(members)

    @property
    def tohost(self):
        return self._tohost

    @property
    def ram_size(self):
        return self.ram.size

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        m.submodules.ram = ram = self.ram
        for name in ("halt", "cause", "pc", "retire_valid", "retire_pc", "retire_insn", "retire_rd",
                     "retire_value"):
            m.d.comb += getattr(self, name).eq(getattr(core, name))

        if self._loader:
            m.d.comb += [ram.load_addr.eq(self.load_addr), ram.load_data.eq(self.load_data),
                         ram.load_en.eq(self.load_en)]

        if self._tohost is None:
            wiring.connect(m, core.bus, ram.bus)
            return m

        cbus = core.bus
        hit = cbus.adr == self._tohost >> 2
        req = cbus.cyc & cbus.stb
        # One wait state like the RAM; ``busy`` marks the answer cycle.
        busy = Signal()
        m.d.sync += busy.eq(req & hit & ~busy)
        m.d.comb += [
            ram.bus.adr.eq(cbus.adr), ram.bus.dat_w.eq(cbus.dat_w), ram.bus.sel.eq(cbus.sel),
            ram.bus.we.eq(cbus.we),
            ram.bus.cyc.eq(cbus.cyc & ~hit), ram.bus.stb.eq(cbus.stb & ~hit),
            cbus.dat_r.eq(ram.bus.dat_r),
            cbus.ack.eq(ram.bus.ack | busy),
            cbus.err.eq(ram.bus.err),
        ]
        with m.If(busy):
            m.d.comb += cbus.dat_r.eq(0)
        with m.If(req & hit & ~busy & cbus.we):
            m.d.sync += [self.tohost_valid.eq(1), self.tohost_value.eq(cbus.dat_w)]
        with m.Else():
            m.d.sync += self.tohost_valid.eq(0)
        return m


class CoreSynthTop(wiring.Component):
    """The core on a :class:`BusRAM` (default 4 KiB) with few pins (``halt``, ``cause`` and the
    low byte of the store data), so that it can be placed and routed on the iCE40UP5K-SG48 (39
    pins) to measure LC and Fmax: all of the core's logic still reaches a pin or the RAM. The
    RAM adds ~40 LUTs (read-data mux over its EBR banks, ack/err, range compare) and its EBRs.
    """

    def __init__(self, ram_size=4096):
        self._ram_size = ram_size
        super().__init__({"halt": Out(1), "cause": Out(4), "probe": Out(8)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = RV32ICore()
        m.submodules.ram = ram = BusRAM(self._ram_size)
        wiring.connect(m, core.bus, ram.bus)
        m.d.comb += [self.halt.eq(core.halt), self.cause.eq(core.cause),
                     self.probe.eq(core.bus.dat_w[:8])]
        return m

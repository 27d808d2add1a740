"""The CSR bridge: the hypervisor bus (a subordinate port) fanned out to the register blocks.

``CSRBridge(csr_map)`` decodes the CSR space of a :class:`~guillotine.hdl.memory_map.CSRMap`
straight from the register declarations, so the decoder cannot drift from the documentation.

Protocol (see :mod:`guillotine.hdl.bus`)
----------------------------------------
- ``bus.adr`` is a word address *relative to the CSR space* (the SoC's address decoder strips
  ``0x4000_0000``), ``csr_map.addr_width`` bits wide.
- One wait state, as :class:`~guillotine.hdl.bus.BusRAM`: a request in cycle *n* is answered
  (``ack`` or ``err``) in cycle *n+1*. A write drives the block's ``w_stb`` for exactly cycle *n*
  (the write has taken effect when ``ack`` is seen). A read samples the block's combinational
  ``r_data`` in cycle *n* into a register, which is ``dat_r`` in the ``ack`` cycle.
- ``err`` (and no strobe) answers: an address in no block; an address inside a block where no
  register is declared; a write whose ``sel`` is not ``0b1111`` (only full-word writes are
  supported: a partial write to a control register is refused, never merged); a write to a
  register whose fields are all read-only (``Access.R``). Reads ignore ``sel`` and have no side
  effects; a write-only register reads as zero.
- ``dat_r`` is zero except in the ``ack`` cycle of a read.

Every block's ``addr`` and ``w_data`` follow the bus at all times (reads have no side effects);
only the addressed block ever sees ``w_stb``.
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine.hdl.bus import BusSignature
from guillotine.hdl.memory_map import CSRMap
from guillotine.hdl.regs import CSRSignature

__all__ = ["CSRBridge"]


class CSRBridge(wiring.Component):
    """Bus-to-CSR bridge for the blocks of ``csr_map`` (see the module docstring for timing).

    Members
    -------
    bus : In(BusSignature(csr_map.addr_width))   word address relative to the CSR space
    csr_<name> : Out(CSRSignature(block.addr_width))   one per placement (``csr_latch``, ...)
    """

    def __init__(self, csr_map):
        if not isinstance(csr_map, CSRMap):
            self._MustUse__silence = True       # never built: no "unused elaboratable" warning
            raise TypeError(f"CSRBridge needs a CSRMap, not {csr_map!r}")
        self._csr_map = csr_map
        members = {"bus": In(BusSignature(addr_width=csr_map.addr_width, data_width=32))}
        for p in csr_map:
            members[p.member] = Out(CSRSignature(p.block.addr_width))
        super().__init__(members)

    @property
    def csr_map(self):
        """The :class:`~guillotine.hdl.memory_map.CSRMap` this bridge decodes."""
        return self._csr_map

    def port(self, name):
        """The CSR port of block ``name`` (e.g. ``bridge.port("LATCH") is bridge.csr_latch``)."""
        return getattr(self, self._csr_map[name].member)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        request = bus.cyc & bus.stb
        busy = Signal()            # high in the answer cycle: the request is still held then
        start = request & ~busy
        full_word = bus.sel == 0b1111

        ok = Signal()              # the address is a register, and the access is allowed
        read_data = Signal(32)
        for p in self._csr_map:
            port = getattr(self, p.member)
            m.d.comb += [port.addr.eq(bus.adr[:p.block.addr_width]),
                         port.w_data.eq(bus.dat_w)]

        with m.Switch(bus.adr):
            for p in self._csr_map:
                port = getattr(self, p.member)
                for reg in p.block.registers:
                    with m.Case((p.offset + reg.offset) // 4):
                        m.d.comb += read_data.eq(port.r_data)
                        if reg.writable:
                            m.d.comb += [ok.eq(~bus.we | full_word),
                                         port.w_stb.eq(start & bus.we & full_word)]
                        else:
                            m.d.comb += ok.eq(~bus.we)
            # every other address: ok stays 0 -> err

        m.d.sync += [
            busy.eq(start),
            bus.ack.eq(start & ok),
            bus.err.eq(start & ~ok),
            bus.dat_r.eq(0),
        ]
        with m.If(start & ok & ~bus.we):
            m.d.sync += bus.dat_r.eq(read_data)
        return m

"""The SoC bus: a Wishbone-classic subset, and a block-RAM subordinate.

Protocol (:class:`BusSignature`, seen from the initiator; a subordinate takes
``In(BusSignature())``)
--------------------------------------------------------------------------------
- ``adr`` is a *word* address (byte address ``>> 2`` for 32-bit data); ``sel`` has one bit per byte
  lane (``sel[i]`` covers ``dat_w/dat_r[8*i:8*i+8]``); reads should use ``sel = 0b1111``.
- The initiator starts a transfer by raising ``cyc`` and ``stb`` together with ``adr``, ``we``,
  ``sel`` and (for writes) ``dat_w``, and holds all of them stable until the subordinate ends the
  transfer.
- The subordinate ends the transfer by raising exactly one of ``ack`` (success) or ``err``
  (bus error: no such address, or access refused) for one cycle. ``err`` ends a transfer exactly
  like ``ack`` does; a read ended by ``err`` returns no data and a write ended by ``err`` changes
  nothing.
  ``dat_r`` is only valid in the cycle where ``ack`` is high.
- The answer may come in the same cycle as the request (combinational, zero wait states) or any
  number of cycles later (registered, one or more wait states). An initiator must therefore sample
  ``ack``/``err`` in every cycle while ``cyc & stb`` is high, and must drop ``stb`` (or start a new
  transfer) in the cycle after the one that ended it.
- There is no burst, no retry (``rty``), no ``lock`` and no tags. ``cyc`` is raised and dropped
  together with ``stb`` by every initiator of this project.
- A subordinate must not act on (or answer) a cycle where ``cyc & stb`` is low. A registered
  subordinate must not take the request it sees in its answering cycle for a new transfer (the
  initiator still holds the old one then); :class:`BusRAM` ignores it.
- Reset or freeze an initiator together with its subordinates where possible. The RV32I core
  tolerates an answer still in flight from before its own reset (it idles for one cycle after
  reset); a frozen initiator keeps its request up, so a subordinate with side effects must be
  gated with the same enable.

:class:`BusRAM` answers with one wait state: a request in cycle *n* is acknowledged in cycle *n+1*.
"""

from amaranth import Module, Signal, Const
from amaranth.lib import wiring
from amaranth.lib.memory import Memory, MemoryData
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

__all__ = ["BusSignature", "BusRAM"]


class BusSignature(wiring.Signature):
    """Wishbone-classic subset (see module docstring), defined from the initiator's side.

    Members
    -------
    adr : Out(addr_width)        word address
    dat_w : Out(data_width)      write data
    sel : Out(data_width // 8)   byte-lane selects
    cyc, stb, we : Out(1)        bus cycle, strobe, write enable
    dat_r : In(data_width)       read data (valid with ``ack``)
    ack, err : In(1)             transfer ended successfully / with a bus error
    """

    def __init__(self, addr_width=30, data_width=32):
        if not isinstance(addr_width, int) or not 1 <= addr_width <= 64:
            raise TypeError(f"Bus address width must be an integer in 1..64, not {addr_width!r}")
        if data_width not in (8, 16, 32, 64):
            raise TypeError(f"Bus data width must be one of 8, 16, 32, 64, not {data_width!r}")
        self._addr_width = addr_width
        self._data_width = data_width
        super().__init__({
            "adr": Out(addr_width),
            "dat_w": Out(data_width),
            "sel": Out(data_width // 8),
            "cyc": Out(1),
            "stb": Out(1),
            "we": Out(1),
            "dat_r": In(data_width),
            "ack": In(1),
            "err": In(1),
        })

    @property
    def addr_width(self):
        return self._addr_width

    @property
    def data_width(self):
        return self._data_width

    def __eq__(self, other):
        return (isinstance(other, BusSignature) and self.addr_width == other.addr_width
                and self.data_width == other.data_width)

    def __hash__(self):
        return hash((BusSignature, self._addr_width, self._data_width))

    def __repr__(self):
        return f"BusSignature(addr_width={self.addr_width}, data_width={self.data_width})"


class BusRAM(wiring.Component):
    """Block RAM subordinate with byte-lane writes, one wait state, and ``err`` out of range.

    ``loader=True`` adds a second write port (``load_en``, ``load_addr`` (word), ``load_data``)
    for testbenches that put a program in while the initiator is held in reset.

    Occupies word addresses ``0 .. size_bytes // 4 - 1`` of its bus (the whole ``adr`` is decoded;
    put an address decoder in front to place it elsewhere). A request to any other address ends
    with ``err`` one cycle later. ``init`` (bytes, little-endian) preloads the RAM.

    Members
    -------
    bus : In(BusSignature(addr_width, 32))
    """

    def __init__(self, size_bytes, init=b"", *, addr_width=30, loader=False):
        self._MustUse__silence = True           # until the arguments are accepted
        if not isinstance(size_bytes, int) or size_bytes < 4 or size_bytes % 4:
            raise ValueError(f"BusRAM size must be a positive multiple of 4 bytes, "
                             f"not {size_bytes!r}")
        if size_bytes > 4 << addr_width:
            raise ValueError(f"BusRAM size {size_bytes} does not fit a {addr_width}-bit "
                             f"word address")
        init = bytes(init)
        if len(init) > size_bytes:
            raise ValueError(f"BusRAM init image is {len(init)} bytes, larger than the RAM "
                             f"({size_bytes} bytes)")
        self._size = size_bytes
        self._loader = bool(loader)
        padded = init + bytes(-len(init) % 4)
        words = [int.from_bytes(padded[i:i + 4], "little") for i in range(0, len(padded), 4)]
        #: The RAM contents (``ctx.get(ram.data[i])`` reads word ``i`` in simulation).
        self.data = MemoryData(shape=32, depth=size_bytes // 4, init=words)
        members = {"bus": In(BusSignature(addr_width, 32))}
        if self._loader:
            members.update({"load_en": In(1), "load_addr": In(addr_width), "load_data": In(32)})
        super().__init__(members)
        self._MustUse__silence = False

    @property
    def size(self):
        return self._size

    @property
    def depth(self):
        return self._size // 4

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = mem = Memory(data=self.data)
        # An asynchronous read port followed by a register that is not loaded in write cycles:
        # Yosys merges the two into a block RAM port without a read-during-write bypass. (A
        # synchronous Amaranth read port reaches Yosys as "read old data on collision", which it
        # emulates with ~70 FF + ~40 LUT on iCE40.)
        rd = mem.read_port(domain="comb")
        rdata = Signal(32)
        wr = mem.write_port(granularity=8)
        if self._loader:
            load = mem.write_port()
            m.d.comb += [load.addr.eq(self.load_addr), load.data.eq(self.load_data),
                         load.en.eq(self.load_en)]
        bus = self.bus
        depth = self.depth
        abits = ceil_log2(depth) if depth > 1 else 1

        if depth == 1 << abits and abits <= len(bus.adr):
            in_range = (bus.adr[abits:] == 0) if abits < len(bus.adr) else Const(1)
        else:
            in_range = bus.adr < depth
        request = bus.cyc & bus.stb
        # ``busy`` is high in the cycle we answer: the initiator still holds its request then, and
        # must not see it as a second transfer.
        busy = Signal()
        m.d.comb += [
            rd.addr.eq(bus.adr[:abits] if depth > 1 else 0),
            wr.addr.eq(bus.adr[:abits] if depth > 1 else 0),
            wr.data.eq(bus.dat_w),
            bus.dat_r.eq(rdata),
        ]
        with m.If(request & ~busy & in_range & bus.we):
            m.d.comb += wr.en.eq(bus.sel)
        with m.Else():
            m.d.sync += rdata.eq(rd.data)
        m.d.sync += [
            busy.eq(request & ~busy),
            bus.ack.eq(request & ~busy & in_range),
            bus.err.eq(request & ~busy & ~in_range),
        ]
        return m

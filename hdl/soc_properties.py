"""Formal proof of isolation for :class:`~guillotine.hdl.soc.GuillotineSoC` (DESIGN §2).

Every core (the hypervisor's and each model's) is replaced by an unconstrained bus initiator,
so the properties hold for *every* sequence of bus accesses any program could make. Memories
are shrunk to 64 bytes (the decoders compare against the sizes, so the proof is about the same
logic). Properties, checked by k-induction (``mode="prove"``):

- ISO.MODEL.FIREWALL: a model access outside its RAM and mailbox is answered ``err`` in the same
  cycle and never ``ack``.
- ISO.MODEL.RAM_WRITERS: a write into model *i*'s RAM comes from model *i*'s own bus (while it
  runs), from the scrubber (zeros), or from the hypervisor's window *i* while model *i* is held
  — never from another model.
- ISO.MODEL.READ_DATA: whatever a model reads comes from its own RAM read register or its own
  mailbox, and its mailbox data is exactly what the gate answers for that model.
- ISO.MODEL.MAILBOX: a model's mailbox strobe comes from its own bus, while it runs.
- ISO.HV.CSR: every CSR write strobe (kill latch, model control, UART, timer, LEDs) comes from a
  hypervisor bus write.
- ISO.HV.MEMORY: every hypervisor ROM/RAM request comes from the hypervisor bus.
- ISO.INSPECT.ONE_WAY: the hypervisor's window into model *i* reads its RAM only while model *i*
  is frozen or held, writes it only while it is held, and carries no data outside an answer.
"""

from amaranth import Module, ResetSignal, Signal
from amaranth.hdl import Assert, Assume
from amaranth.lib import wiring

from guillotine.hdl.model_tile import MAILBOX_BASE
from guillotine.hdl.soc import HV_CSR_BASE, HV_WINDOW_BASE, HV_WINDOW_STRIDE, GuillotineSoC

__all__ = ["SoCIsolationProperties", "ISOLATION_PROPERTIES"]

ISOLATION_PROPERTIES = ("ISO.MODEL.FIREWALL", "ISO.MODEL.RAM_WRITERS", "ISO.MODEL.READ_DATA",
                        "ISO.MODEL.MAILBOX", "ISO.HV.CSR", "ISO.HV.MEMORY",
                        "ISO.INSPECT.ONE_WAY")

SMALL_LATCH = dict(wdog_width=4, wdog_period=5, release_window=4, debounce_cycles=2,
                   viol_width=2, viol_threshold=2)


class SoCIsolationProperties(wiring.Component):
    """The SoC with abstract cores and the isolation assertions (see the module docstring).

    ``soc`` may be given (e.g. a deliberately broken one, to show the proof can fail).
    """

    def __init__(self, n_models=2, soc=None, network=False):
        net = dict(network=True, net_baud=250_000,
                   gate_params=dict(max_frame=4, rate=100_000)) if network else {}
        self.soc = soc if soc is not None else GuillotineSoC(
            n_models, b"", rom_bytes=64, ram_bytes=64, model_ram_bytes=64, clk_hz=4_000_000,
            baud=1_000_000, latch=SMALL_LATCH, abstract_cores=True, **net)
        super().__init__(dict(self.soc.signature.members))

    def elaborate(self, platform):
        m = Module()
        soc = self.soc
        m.submodules.soc = soc
        wiring.connect(m, wiring.flipped(self), soc)
        m.d.comb += Assume(~ResetSignal())

        hv = soc.hv_core.bus
        hv_req = hv.cyc & hv.stb
        hv_byte = Signal(32)
        m.d.comb += hv_byte.eq(hv.adr << 2)

        for i, tile in enumerate(soc.tiles):
            bus = tile.core.bus
            byte = Signal(32, name=f"model{i}_byte_adr")
            m.d.comb += byte.eq(bus.adr << 2)
            req = bus.cyc & bus.stb
            in_ram = byte < tile.ram_words * 4
            in_mbox = byte[8:] == MAILBOX_BASE >> 8
            running = ~tile.freeze & ~tile.hold
            # ISO.MODEL.FIREWALL
            with m.If(req & ~in_ram & ~in_mbox):
                m.d.comb += [Assert(bus.err), Assert(~bus.ack)]
            # ISO.MODEL.RAM_WRITERS
            window = ((hv_byte >= HV_WINDOW_BASE + i * HV_WINDOW_STRIDE) &
                      (hv_byte < HV_WINDOW_BASE + (i + 1) * HV_WINDOW_STRIDE))
            own = (tile.owner_model & running & req & bus.we & in_ram &
                   (tile.ram_wdata == bus.dat_w))
            scrub = tile.scrubbing & (tile.ram_wdata == 0)
            inspect = (~tile.owner_model & ~tile.scrubbing & tile.hold & hv_req & hv.we &
                       window & (tile.ram_wdata == hv.dat_w))
            with m.If(tile.ram_wen != 0):
                m.d.comb += Assert(own | scrub | inspect)
            # ISO.MODEL.READ_DATA
            with m.If(bus.ack):
                m.d.comb += Assert((in_ram & (bus.dat_r == tile.ram_rdata)) |
                                   (in_mbox & (bus.dat_r == tile.mbox_dat_r)))
            # ... and the mailbox answer is exactly the gate's answer for this model.
            gate_port = getattr(soc.gate, f"mailbox_{i}")
            m.d.comb += Assert(tile.mbox_dat_r == gate_port.dat_r)
            # ISO.MODEL.MAILBOX
            with m.If(tile.mbox_stb):
                m.d.comb += Assert(bus.stb & in_mbox & running)
            with m.If(tile.mbox_cyc):
                m.d.comb += Assert(bus.cyc & in_mbox & running)
            # ISO.INSPECT.ONE_WAY
            # (a granted read returns its data on the next cycle, read while frozen/held)
            with m.If(tile.insp_grant):
                m.d.comb += Assert((tile.freeze | tile.hold) & ~tile.scrubbing)
                with m.If(tile.insp_we):
                    m.d.comb += Assert(tile.hold)
            with m.If(tile.insp_r_data != 0):
                m.d.comb += Assert(tile.insp_ack)
            with m.If(tile.insp_req):
                m.d.comb += Assert(hv_req & window)

        # ISO.HV.CSR (checked at each block's own port, after any wiring in between)
        in_csr = (hv_byte >= HV_CSR_BASE) & (hv_byte < HV_CSR_BASE + soc.bridge.csr_map.size)
        for block in (soc.latch, soc.modelctl, soc.console, soc.timer, soc.leds_block):
            with m.If(block.csr.w_stb):
                m.d.comb += Assert(hv_req & hv.we & in_csr)
        # ISO.HV.MEMORY
        for mem in (soc.rom, soc.ram):
            with m.If(mem.bus.cyc & mem.bus.stb):
                m.d.comb += Assert(hv_req)
            with m.If(mem.bus.cyc & mem.bus.stb & mem.bus.we):
                m.d.comb += Assert(hv.we)
        return m

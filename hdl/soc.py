"""The memory-partitioned Guillotine SoC (DESIGN §2-§3).

One trusted hypervisor RV32I core with its ROM (firmware image given at elaboration), RAM and CSR
space, and ``n_models`` untrusted model tiles (:class:`~guillotine.hdl.model_tile.ModelTile`) that
share nothing with it or with each other: each has its own core, private RAM, firewall and
mailbox port. The kill latch, model control, console UART, cycle timer and LEDs sit in the
hypervisor's CSR space.

Hypervisor bus map::

    0x0000_0000  ROM (firmware; writes answer err)
    0x1000_0000  RAM
    0x2000_0000 + n * 0x0100_0000   introspection window of model n (read while frozen or held,
                                    write while held; otherwise err and counted)
    0x4000_0000  CSR space: LATCH +0x000, MODELCTL +0x100, UART +0x200, TIMER +0x300, LEDS +0x400

Every other hypervisor address answers err. The model bus map is decoded inside each tile.

The mailbox of each model is a typed port: :class:`MailboxSignature` (the tile's ``mbox_*``
requests and answers). The NIC gate fills it; until then :class:`MailboxLoopback` answers.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.hdl.bus import BusRAM
from guillotine.hdl.cpu.core import RV32ICore
from guillotine.hdl.csr_bridge import CSRBridge
from guillotine.hdl.kill_latch import EffectsLayout, KillLatch, latch_params
from guillotine.hdl.memory_map import (CSR_BASE, CSR_LAYOUT, INTROSPECT_BASE,
                                        INTROSPECT_STRIDE, hypervisor_map)
from guillotine.hdl.model_control import ModelControl
from guillotine.hdl.model_tile import ModelTile, _FreeInitiator
from guillotine.hdl.peripherals import Console, CycleTimer, Leds
from guillotine.hdl.uart import uart_divisor

__all__ = ["GuillotineSoC", "SOC_MUTANTS", "MailboxSignature", "MailboxLoopback", "HV_ROM_BASE", "HV_RAM_BASE",
           "HV_WINDOW_BASE", "HV_WINDOW_STRIDE", "HV_CSR_BASE", "CSR_PLACEMENT"]

_HV = {r.name: r for r in hypervisor_map(1)}
HV_ROM_BASE = _HV["ROM"].base
HV_RAM_BASE = _HV["RAM"].base
HV_WINDOW_BASE = INTROSPECT_BASE
HV_WINDOW_STRIDE = INTROSPECT_STRIDE
HV_CSR_BASE = CSR_BASE
#: Offsets of the CSR blocks inside the CSR space (from hdl/memory_map.py's CSR_LAYOUT).
CSR_PLACEMENT = {entry[0]: entry[1] for entry in CSR_LAYOUT}


#: Deliberate bugs (``soc.mutation = name``) that show the isolation proof and the
#: information-flow audit can fail.
SOC_MUTANTS = {
    "model_csr_tap": "model 0's mailbox writes also strobe the kill latch's CSRs",
    "hv_ram_tap": "hypervisor RAM read data is mixed into model 0's mailbox read data",
    "cross_model_mailbox": "model 1's mailbox read data also carries model 0's mailbox answer",
}


class MailboxSignature(wiring.Signature):
    """A model's mailbox port, from the model's side (the model initiates).

    Out: ``adr`` (word offset in the 256-byte mailbox window), ``dat_w``, ``sel``, ``we``,
    ``cyc``, ``stb``. In: ``dat_r``, ``ack``, ``err``. Same protocol as :class:`BusSignature`.
    """

    def __init__(self):
        super().__init__({"adr": Out(6), "dat_w": Out(32), "sel": Out(4), "we": Out(1),
                          "cyc": Out(1), "stb": Out(1), "dat_r": In(32), "ack": In(1),
                          "err": In(1)})


class MailboxLoopback(wiring.Component):
    """Stand-in for the NIC gate: each model's mailbox word 0 reads back what the model wrote.

    Word 0: read/write data; word 1: read-only constant 0 (no credits). Any other word answers
    ``err``. Answers are combinational (same cycle).
    """

    def __init__(self, n_models):
        self._n = n_models
        super().__init__({f"mailbox_{n}": In(MailboxSignature()) for n in range(n_models)})

    def elaborate(self, platform):
        m = Module()
        for n in range(self._n):
            port = getattr(self, f"mailbox_{n}")
            word = Signal(32, name=f"loop_{n}")
            req = port.cyc & port.stb
            ok = (port.adr == 0) | ((port.adr == 1) & ~port.we)
            with m.If(req & ok & port.we):
                for i in range(4):
                    with m.If(port.sel[i]):
                        m.d.sync += word[8 * i:8 * i + 8].eq(port.dat_w[8 * i:8 * i + 8])
            m.d.comb += [port.ack.eq(req & ok), port.err.eq(req & ~ok),
                         port.dat_r.eq(Mux(port.adr == 0, word, 0))]
        return m


def _image_bytes(image, what):
    if image is None:
        return b""
    data = getattr(image, "data", image)
    if not isinstance(data, (bytes, bytearray)):
        raise GuillotineError(f"{what} must be bytes or an assembled Image, not "
                              f"{type(image).__name__}")
    return bytes(data)


class GuillotineSoC(wiring.Component):
    """The Guillotine SoC.

    Parameters
    ----------
    n_models : 1..4 model tiles.
    firmware : hypervisor ROM image (bytes or :class:`guillotine.firmware.asm.Image`).
    rom_bytes, ram_bytes : hypervisor ROM and RAM sizes.
    model_ram_bytes : private RAM of each model (power of two), or a list with one size per model
        (on iCE40UP5K: 64 KiB of SPRAM for each of the first two, block RAM for the others).
    model_images : optional list of per-model RAM images preloaded at power-up (tests; on a
        board the hypervisor loads code through the introspection window while a model is held).
    clk_hz, baud : console UART rate (checked to be reachable within 2 %).
    latch : dict of :class:`KillLatch` parameters.
    gate : a component with one ``In(MailboxSignature())`` member ``mailbox_<n>`` per model
        (default :class:`MailboxLoopback`).
    abstract_cores : replace every core by an unconstrained bus initiator (formal proofs).
    network : put the NIC gate (:class:`~guillotine.hdl.nic_gate.NicGate`, CSR blocks GATE<n>)
        and its UART PHY (``net_baud``, COBS + CRC-16 framing) on the ``net_tx``/``net_rx`` pins
        instead of the mailbox loopback; ``gate_params`` go to the gate.
    spram_models : the first 0..2 models get their RAM as two iCE40 SB_SPRAM256KA instances
        (synthesis for the UP5K only; the simulators use inferred memory, the default).

    Members
    -------
    net_tx : Out(1), net_rx : In(1)   network UART line (idle high without ``network``)
    console_tx : Out(1)    console UART line
    console_byte : Out(8), console_strobe : Out(1)   the byte the console accepted (simulation)
    leds : Out(8)
    panic : In(1), keys : In(n_keys)   kill latch pins
    effects : Out(EffectsLayout)       kill latch effects (relay and destruct pins)
    level : Out(3)                     kill latch level
    hv_halt : Out(1), hv_cause : Out(4)   the hypervisor core stopped (should never happen)
    """

    def __init__(self, n_models=2, firmware=b"", *, rom_bytes=16 * 1024, ram_bytes=8 * 1024,
                 model_ram_bytes=64 * 1024, model_images=None, clk_hz=24_000_000, baud=115_200,
                 latch=None, gate=None, abstract_cores=False, spram_models=0, network=False,
                 net_baud=115_200, gate_params=None):
        self._MustUse__silence = True           # until the arguments are accepted
        if not isinstance(n_models, int) or isinstance(n_models, bool) or not 1 <= n_models <= 4:
            raise GuillotineError(f"n_models must be an integer in 1..4, not {n_models!r}")
        self._firmware = _image_bytes(firmware, "firmware")
        if len(self._firmware) > rom_bytes:
            raise GuillotineError(f"firmware image is {len(self._firmware)} bytes, larger than "
                                  f"the {rom_bytes}-byte ROM")
        images = [_image_bytes(img, f"model image {n}")
                  for n, img in enumerate(model_images or [])]
        if len(images) > n_models:
            raise GuillotineError(f"{len(images)} model images for {n_models} models")
        images += [b""] * (n_models - len(images))
        sizes = (list(model_ram_bytes) if isinstance(model_ram_bytes, (list, tuple))
                 else [model_ram_bytes] * n_models)
        if len(sizes) != n_models:
            raise GuillotineError(f"model_ram_bytes lists {len(sizes)} sizes for {n_models} "
                                  f"models")
        for n, size in enumerate(sizes):
            if not isinstance(size, int) or size < 64 or size & (size - 1):
                raise GuillotineError(f"model_ram_bytes must be a power of two >= 64, not "
                                      f"{size!r} (model {n})")
            if len(images[n]) > size:
                raise GuillotineError(f"model image {n} is {len(images[n])} bytes, larger than "
                                      f"the {size}-byte model RAM")
        self._latch_params = latch_params(**(latch or {}))
        self._divisor = uart_divisor(clk_hz, baud)
        self._n = n_models
        self._rom_bytes, self._ram_bytes = rom_bytes, ram_bytes
        self._abstract = abstract_cores
        if not isinstance(spram_models, int) or not 0 <= spram_models <= min(2, n_models):
            raise GuillotineError(f"spram_models must be 0..{min(2, n_models)} (the iCE40UP5K "
                                  f"has SPRAM for two 64 KiB models), not {spram_models!r}")
        self.tiles = [ModelTile(size, img, abstract_core=abstract_cores, spram=n < spram_models)
                      for n, (size, img) in enumerate(zip(sizes, images))]
        self.latch = KillLatch(**self._latch_params)
        self.modelctl = ModelControl(n_models)
        self._network = bool(network)
        if network and gate is not None:
            raise GuillotineError("give either network=True (the NIC gate and its UART PHY) or "
                                  "a custom gate, not both")
        self.phy = None
        if network:
            from guillotine.hdl.nic_gate import NicGate
            from guillotine.hdl.nic_phy import UartPhy
            params = dict(gate_params or {})
            self.gate = NicGate(n_models, clk_hz=clk_hz, **params)
            self.phy = UartPhy(clk_hz, net_baud, params.get("max_frame", 256))
        else:
            self.gate = gate if gate is not None else MailboxLoopback(n_models)
        self.hv_core = _FreeInitiator() if abstract_cores else RV32ICore(reset_addr=HV_ROM_BASE)
        self.bridge = CSRBridge(self.csr_map())
        self.console = Console(self._divisor)
        self.timer = CycleTimer()
        self.leds_block = Leds(8)
        #: For verification only: a deliberate bug (see :data:`SOC_MUTANTS`).
        self.mutation = None
        self.rom = BusRAM(rom_bytes, self._firmware, addr_width=26)
        self.ram = BusRAM(ram_bytes, addr_width=26)
        super().__init__({
            "net_tx": Out(1, init=1), "net_rx": In(1, init=1),
            "console_tx": Out(1), "console_byte": Out(8), "console_strobe": Out(1),
            "leds": Out(8), "panic": In(1), "keys": In(self._latch_params["n_keys"]),
            "effects": Out(EffectsLayout), "level": Out(3), "hv_halt": Out(1), "hv_cause": Out(4),
        })
        self._MustUse__silence = False

    def _mutant_tap(self, n, ram):
        if self.mutation == "hv_ram_tap" and n == 0:
            return ram.bus.dat_r
        if self.mutation == "cross_model_mailbox" and n == 1:
            return self.gate.mailbox_0.dat_r
        return 0

    @property
    def n_models(self):
        return self._n

    def csr_map(self):
        """The :class:`~guillotine.hdl.memory_map.CSRMap` of this SoC (from ``CSR_LAYOUT``, with
        this instance's latch and model-control blocks)."""
        from guillotine.hdl.memory_map import CSR_LAYOUT, GATE_LAYOUT, build_csr_map
        layout = CSR_LAYOUT + (GATE_LAYOUT if self._network else [])
        return build_csr_map(layout, self._n, blocks={"LATCH": self.latch.registers,
                                                      "MODELCTL": self.modelctl.registers})

    def elaborate(self, platform):
        m = Module()
        m.submodules.hv_core = hv = self.hv_core
        m.submodules.rom = rom = self.rom
        m.submodules.ram = ram = self.ram
        m.submodules.latch = latch = self.latch
        m.submodules.modelctl = ctl = self.modelctl
        m.submodules.gate = gate = self.gate
        m.submodules.console = console = self.console
        m.submodules.timer = timer = self.timer
        m.submodules.leds = leds = self.leds_block
        m.submodules.csr = bridge = self.bridge
        for n, tile in enumerate(self.tiles):
            m.submodules[f"model_{n}"] = tile

        # --- hypervisor bus decode ----------------------------------------------------------
        bus = hv.bus
        byte_hi = bus.adr[26:30]                 # byte address bits 31:28
        req = bus.cyc & bus.stb
        sel_rom = Signal()
        sel_ram = Signal()
        sel_csr = Signal()
        sel_win = Signal()
        win_n = bus.adr[22:26]                   # byte address bits 27:24
        m.d.comb += [sel_rom.eq(byte_hi == HV_ROM_BASE >> 28),
                     sel_ram.eq(byte_hi == HV_RAM_BASE >> 28),
                     sel_win.eq((byte_hi == HV_WINDOW_BASE >> 28) & (win_n < self._n)),
                     sel_csr.eq((byte_hi == HV_CSR_BASE >> 28) &
                                (bus.adr[len(bridge.bus.adr):26] == 0))]   # no aliases
        targets = [(sel_ram, ram.bus), (sel_csr, bridge.bus)]
        # ROM: reads only; a write answers err at once.
        rom_write = req & sel_rom & bus.we
        targets.append((sel_rom & ~bus.we, rom.bus))
        for sel, sub in targets:
            m.d.comb += [sub.adr.eq(bus.adr), sub.dat_w.eq(bus.dat_w), sub.sel.eq(bus.sel),
                         sub.we.eq(bus.we), sub.cyc.eq(bus.cyc & sel), sub.stb.eq(bus.stb & sel)]

        win_ack = Signal()
        win_err = Signal()
        win_data = Signal(32)
        for n, tile in enumerate(self.tiles):
            this = sel_win & (win_n == n)
            offset = bus.adr[:22]                # word offset inside the 16 MiB window
            in_ram = offset < tile.ram_words
            m.d.comb += [
                tile.insp_adr.eq(offset), tile.insp_dat_w.eq(bus.dat_w),
                tile.insp_we.eq(bus.we), tile.insp_sel.eq(bus.sel),
                tile.insp_req.eq(req & this & in_ram),
            ]
            with m.If(this):
                m.d.comb += [win_ack.eq(tile.insp_ack),
                             win_err.eq(tile.insp_err | (req & ~in_ram)),
                             win_data.eq(tile.insp_r_data)]
        m.d.comb += ctl.insp_refused.eq(sel_win & win_err)

        m.d.comb += [
            bus.ack.eq(Mux(sel_ram, ram.bus.ack, 0) | Mux(sel_csr, bridge.bus.ack, 0) |
                       Mux(sel_rom, rom.bus.ack, 0) | Mux(sel_win, win_ack, 0)),
            bus.err.eq(Mux(sel_ram, ram.bus.err, 0) | Mux(sel_csr, bridge.bus.err, 0) |
                       Mux(sel_rom, rom.bus.err, 0) | Mux(sel_win, win_err, 0) | rom_write |
                       (req & ~sel_rom & ~sel_ram & ~sel_win & ~sel_csr)),
            bus.dat_r.eq(Mux(sel_ram, ram.bus.dat_r, Mux(sel_csr, bridge.bus.dat_r,
                             Mux(sel_rom, rom.bus.dat_r, Mux(sel_win, win_data, 0))))),
        ]

        # --- CSR blocks -------------------------------------------------------------------------
        if self.mutation == "model_csr_tap":
            # Bug: model 0's mailbox writes also strobe the kill latch's registers.
            tap = self.tiles[0].mbox_stb & self.tiles[0].mbox_we
            m.d.comb += [latch.csr.addr.eq(bridge.csr_latch.addr),
                         latch.csr.w_data.eq(bridge.csr_latch.w_data),
                         latch.csr.w_stb.eq(bridge.csr_latch.w_stb | tap),
                         bridge.csr_latch.r_data.eq(latch.csr.r_data)]
        else:
            wiring.connect(m, bridge.csr_latch, latch.csr)
        wiring.connect(m, bridge.csr_modelctl, ctl.csr)
        wiring.connect(m, bridge.csr_uart, console.csr)
        wiring.connect(m, bridge.csr_timer, timer.csr)
        wiring.connect(m, bridge.csr_leds, leds.csr)

        # --- network: NIC gate and UART PHY ---------------------------------------------------
        if self._network:
            m.submodules.phy = phy = self.phy
            wiring.connect(m, gate.phy_tx, phy.tx)
            wiring.connect(m, phy.rx, gate.phy_rx)
            m.d.comb += [
                phy.tx_enable.eq(~latch.effects.net_cut),
                phy.line_rx.eq(self.net_rx), self.net_tx.eq(phy.line_tx),
                gate.egress_block.eq(latch.effects.egress_block),
                gate.net_cut.eq(latch.effects.net_cut),
                gate.cfg_lock.eq(latch.lock),           # RATE/BURST frozen by LATCH.LOCK
            ]
            for n in range(self._n):
                wiring.connect(m, bridge.port(f"GATE{n}"), getattr(gate, f"csr_{n}"))
                m.d.comb += [getattr(gate, f"model_run_{n}").eq(~getattr(ctl, f"freeze_{n}")),
                             getattr(gate, f"model_hold_{n}").eq(getattr(ctl, f"hold_{n}"))]
        else:
            m.d.comb += self.net_tx.eq(1)

        # --- kill latch and model control ------------------------------------------------------
        violation = Signal()
        m.d.comb += violation.eq(0)
        for tile in self.tiles:
            violation = violation | tile.violation
        m.d.comb += [
            latch.violation.eq(violation), latch.panic.eq(self.panic), latch.keys.eq(self.keys),
            ctl.latch_freeze.eq(latch.effects.model_freeze),
            ctl.latch_hold.eq(latch.effects.model_hold),
            ctl.latch_scrub.eq(latch.effects.ram_scrub),
            self.effects.eq(latch.effects), self.level.eq(latch.level),
        ]
        for n, tile in enumerate(self.tiles):
            m.d.comb += [
                tile.freeze.eq(getattr(ctl, f"freeze_{n}")),
                tile.hold.eq(getattr(ctl, f"hold_{n}")),
                tile.scrub.eq(getattr(ctl, f"scrub_{n}")),
                getattr(ctl, f"halt_{n}").eq(tile.halt),
                getattr(ctl, f"cause_{n}").eq(tile.cause),
                getattr(ctl, f"violation_{n}").eq(tile.violation),
                getattr(ctl, f"scrub_busy_{n}").eq(tile.scrub_busy),
            ]
            mbox = getattr(gate, f"mailbox_{n}")
            m.d.comb += [
                mbox.adr.eq(tile.mbox_adr), mbox.dat_w.eq(tile.mbox_dat_w),
                mbox.sel.eq(tile.mbox_sel), mbox.we.eq(tile.mbox_we),
                mbox.cyc.eq(tile.mbox_cyc), mbox.stb.eq(tile.mbox_stb),
                tile.mbox_dat_r.eq(mbox.dat_r ^ self._mutant_tap(n, ram)),
                tile.mbox_ack.eq(mbox.ack),
                tile.mbox_err.eq(mbox.err),
            ]

        m.d.comb += [
            self.console_tx.eq(console.tx), self.console_byte.eq(console.tx_byte),
            self.console_strobe.eq(console.tx_strobe), self.leds.eq(leds.leds),
            self.hv_halt.eq(hv.halt), self.hv_cause.eq(hv.cause),
        ]
        return m

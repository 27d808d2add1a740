"""One model domain: an untrusted RV32I core with its private RAM, firewall and scrubber.

Everything inside a :class:`ModelTile` belongs to the model domain (DESIGN §2). Its ports are the
complete list of crossings with the hypervisor domain, and :data:`TILE_CROSSINGS` names each one
(the information-flow audit checks the netlist against it):

- hypervisor -> model: ``freeze`` (clock enable low, state kept), ``hold`` (reset),
  ``scrub`` (zero the RAM while held), the introspection port ``insp_*`` (granted only while the
  model is frozen or held; writes only while held), and the mailbox answers ``mbox_dat_r``,
  ``mbox_ack``, ``mbox_err`` (ingress frames).
- model -> hypervisor: ``halt``/``cause`` (halt status), ``violation`` (bus-error pulse),
  ``mbox_*`` requests (egress frames), ``insp_r_data``/``insp_ack``/``insp_err`` (introspection
  read data, only while frozen or held) and ``scrub_busy``.

Model bus map (DESIGN §3): ``0x0000_0000`` private RAM, ``0x8000_0000`` mailbox. Every other
address answers ``err`` in the same cycle and pulses ``violation``; the core then halts with a
bus-error cause. No wire decodes a hypervisor address.

RAM sharing: the RAM has one port (it maps to iCE40 SPRAM). While the model runs, the model core
owns it; while the model is frozen or held, the introspection port owns it, and while a scrub
runs, the scrubber. A model read is acknowledged only when the RAM's read register holds data for
the model's own address from the previous cycle, so an inspection during a freeze can never hand
the model the hypervisor's data.
"""

from amaranth import Cat, ClockSignal, Instance, Module, Mux, Signal
from amaranth.hdl import EnableInserter, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.memory import Memory, MemoryData
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.hdl.bus import BusSignature
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.cpu.core import RV32ICore

__all__ = ["ModelTile", "MODEL_RAM_BASE", "MAILBOX_BASE", "TILE_CROSSINGS"]

MODEL_RAM_BASE = 0x0000_0000
MAILBOX_BASE = 0x8000_0000
MAILBOX_WORDS = 64                     # mailbox window: 256 bytes

# Hypervisor state elements (names in the flattened netlist, ``{n}`` = model index) that a
# crossing may come from or reach.
_CONTROL = ("modelctl.mode_{n}", "latch.latch_state")
_HV_BUS = ("hv_core.*",)                      # the hypervisor core's own bus registers
_TO_HV_CORE = ("hv_core.*", "modelctl.insp_refused_count", "hv_halt", "hv_cause")
_VIOLATION = ("latch.viol_count", "latch.cause", "latch.latch_state", "modelctl.viol_{n}")
# The gate's state of model n only (never another model's): the NIC gate's per-model registers
# and buffers by name, and the loopback's word.
_GATE = ("gate.credits_{n}", "gate.epoch_{n}", "gate.wr_len_{n}", "gate.ingress_{n}",
         "gate.r_count_{n}", "gate.r_head_{n}", "gate.r_len_{n}_*", "gate.r_ptr_{n}",
         "gate.e_len_{n}_*", "gate.e_tail_{n}", "gate.egress_{n}", "gate.overflow_{n}$*",
         "gate.oversize_{n}$*", "gate.violations_{n}", "gate.waiting_{n}", "gate.loop_{n}")
_EGRESS = _GATE + _VIOLATION
_STATUS = ("csr.bus__dat_r",)                 # read through MODELCTL.STATUS

#: Every port of a model tile: its direction across the boundary, what it carries, and the
#: hypervisor state it may come from (hv->model) or reach (model->hv). This is the allowed-
#: crossings list of DESIGN §2 as data; the information-flow audit (``guillotine verify
#: --flows``) checks the netlist against it.
TILE_CROSSINGS = {
    # hypervisor -> model: (direction, what it carries, hypervisor state it may come from)
    "clk": ("hv->model", "clock", ("clk",)),
    "rst": ("hv->model", "power-on reset", ("rst",)),
    "freeze": ("hv->model", "run/freeze control", _CONTROL),
    "hold": ("hv->model", "reset control", _CONTROL),
    "scrub": ("hv->model", "scrub request (only acts while held)",
              _CONTROL + ("modelctl.latch_scrub_done_{n}", "hv_core.*", "csr.busy")),
    "insp_adr": ("hv->model", "introspection address (only while frozen/held)", _HV_BUS),
    "insp_dat_w": ("hv->model", "code loading data (only while held)", _HV_BUS),
    "insp_we": ("hv->model", "code loading write (only while held)", _HV_BUS),
    "insp_sel": ("hv->model", "code loading byte selects", _HV_BUS),
    "insp_req": ("hv->model", "introspection request", _HV_BUS),
    "mbox_dat_r": ("hv->model", "ingress frame data, own credit budget", _GATE + _CONTROL),
    "mbox_ack": ("hv->model", "mailbox answer", _GATE + _CONTROL),
    "mbox_err": ("hv->model", "mailbox answer (error)", _GATE + _CONTROL),
    # model -> hypervisor: (direction, what it carries, hypervisor state it may reach)
    "insp_r_data": ("model->hv", "introspection read data (only while frozen/held)", _TO_HV_CORE),
    "insp_ack": ("model->hv", "introspection answer", _TO_HV_CORE),
    "insp_err": ("model->hv", "introspection refused (model running, or write while frozen)",
                 _TO_HV_CORE),
    "mbox_adr": ("model->hv", "egress frame address", _EGRESS),
    "mbox_dat_w": ("model->hv", "egress frame data", _EGRESS),
    "mbox_sel": ("model->hv", "egress byte selects", _EGRESS),
    "mbox_we": ("model->hv", "egress write", _EGRESS),
    "mbox_cyc": ("model->hv", "egress cycle", _EGRESS),
    "mbox_stb": ("model->hv", "egress strobe", _EGRESS),
    "halt": ("model->hv", "halt status", _STATUS + _VIOLATION),
    "cause": ("model->hv", "halt cause", _STATUS + _VIOLATION),
    "violation": ("model->hv", "bus-error violation pulse", _VIOLATION),
    "scrub_busy": ("model->hv", "scrub status",
                   _STATUS + ("modelctl.was_busy_{n}", "modelctl.scrubbed_{n}",
                              "modelctl.latch_scrub_done_{n}")),
}


#: Deliberate bugs (``tile.mutation = name``) that show the isolation proof can fail.
TILE_MUTANTS = {
    "firewall_hole": "the firewall decodes 0x1000_0000.. (hypervisor RAM) as the model's RAM",
    "write_while_frozen": "introspection writes are allowed while the model is only frozen",
}


class _PortSignals:
    def __init__(self, aw):
        self.addr = Signal(aw, name="spram_addr")
        self.data = Signal(32, name="spram_wdata")
        self.en = Signal(4, name="spram_wen")


def _SpramPort(m, aw, rdata):
    """Two iCE40 SB_SPRAM256KA (16K x 16 each) side by side: one 16K x 32 single-port RAM.

    Returns ``(read, write)`` port-like objects; ``rdata`` is driven by the SPRAMs' output
    registers (read data one cycle after the address; not meaningful after a write cycle).
    """
    port = _PortSignals(aw)
    address = Signal(14)
    m.d.comb += address.eq(port.addr)
    for half in (0, 1):
        be_lo, be_hi = port.en[2 * half], port.en[2 * half + 1]
        out = Signal(16, name=f"spram{half}_out")
        m.submodules[f"spram{half}"] = Instance(
            "SB_SPRAM256KA",
            i_ADDRESS=address, i_DATAIN=port.data[16 * half:16 * half + 16],
            i_MASKWREN=Cat(be_lo, be_lo, be_hi, be_hi), i_WREN=port.en.any(),
            i_CHIPSELECT=1, i_CLOCK=ClockSignal(), i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1,
            o_DATAOUT=out)
        m.d.comb += rdata[16 * half:16 * half + 16].eq(out)
    return port, port


class _FreeInitiator(wiring.Component):
    """A core stand-in for formal proofs: every bus output is an unconstrained input."""

    def __init__(self):
        super().__init__({"bus": Out(BusSignature()), "halt": Out(1), "cause": Out(4)})

    def elaborate(self, platform):
        from amaranth.hdl._ast import AnySeq
        m = Module()
        for name in ("adr", "dat_w", "sel", "cyc", "stb", "we"):
            port = getattr(self.bus, name)
            m.d.comb += port.eq(AnySeq(len(port)))
        return m


class ModelTile(wiring.Component):
    """A model core, its private RAM (``ram_bytes``), firewall and scrubber.

    ``abstract_core=True`` replaces the core with an unconstrained bus initiator (formal proofs).
    ``image`` (bytes) is loaded into the RAM at power-up (tests); otherwise the hypervisor loads
    code through the introspection port while the model is held.
    """

    def __init__(self, ram_bytes=64 * 1024, image=b"", abstract_core=False, spram=False):
        self._MustUse__silence = True           # until the arguments are accepted
        if not isinstance(ram_bytes, int) or ram_bytes < 64 or ram_bytes & (ram_bytes - 1):
            raise GuillotineError(f"model RAM size must be a power of two >= 64 bytes, not "
                                  f"{ram_bytes!r}")
        if spram and (ram_bytes > 64 * 1024 or image):
            raise GuillotineError("an SPRAM model RAM holds at most 64 KiB and starts empty (the "
                                  "hypervisor loads code while the model is held)")
        if len(image) > ram_bytes:
            raise GuillotineError(f"model image of {len(image)} bytes does not fit its "
                                  f"{ram_bytes}-byte RAM")
        self._ram_words = ram_bytes // 4
        self._image = bytes(image)
        self._abstract = abstract_core
        self._spram = spram
        aw = (self._ram_words - 1).bit_length()
        self._aw = aw
        init = [int.from_bytes(self._image[i:i + 4].ljust(4, b"\0"), "little")
                for i in range(0, len(self._image), 4)]
        #: The private RAM contents (``ctx.get(tile.ram_data[i])`` in simulation).
        self.ram_data = MemoryData(shape=32, depth=self._ram_words, init=init)
        super().__init__({
            "freeze": In(1), "hold": In(1), "scrub": In(1), "scrub_busy": Out(1),
            "insp_adr": In(aw), "insp_dat_w": In(32), "insp_we": In(1), "insp_sel": In(4),
            "insp_req": In(1), "insp_r_data": Out(32), "insp_ack": Out(1), "insp_err": Out(1),
            "mbox_adr": Out(6), "mbox_dat_w": Out(32), "mbox_sel": Out(4), "mbox_we": Out(1),
            "mbox_cyc": Out(1), "mbox_stb": Out(1), "mbox_dat_r": In(32), "mbox_ack": In(1),
            "mbox_err": In(1),
            "halt": Out(1), "cause": Out(4), "violation": Out(1),
        })
        self._MustUse__silence = False
        # Internal signals, created here so proofs and tests can name them.
        self.ram_wen = Signal(4, name="ram_wen")          # byte write enables of the RAM port
        self.ram_wdata = Signal(32, name="ram_wdata")
        self.ram_rdata = Signal(32, name="ram_rdata", reset_less=True)  # RAM read register
        self.owner_model = Signal(name="owner_model")      # the model core owns the RAM port
        self.scrubbing = Signal(name="scrubbing")
        self.insp_grant = Signal(name="insp_grant")        # introspection access granted
        #: For verification only: a deliberate bug (see :data:`TILE_MUTANTS`).
        self.mutation = None
        #: The model core (or a free bus initiator for proofs).
        self.core = _FreeInitiator() if abstract_core else RV32ICore(reset_addr=MODEL_RAM_BASE)

    @property
    def ram_words(self):
        return self._ram_words

    def elaborate(self, platform):
        m = Module()
        words = self._ram_words
        rdata = self.ram_rdata
        if self._spram:
            rd, wr = _SpramPort(m, self._aw, rdata)
        else:
            m.submodules.ram = ram = Memory(data=self.ram_data)
            # Asynchronous read port + a register not loaded in write cycles: Yosys maps this to
            # a block RAM port without read-during-write emulation logic (see hdl/bus.py).
            rd = ram.read_port(domain="comb")
            wr = ram.write_port(granularity=8)
            with m.If(wr.en == 0):
                m.d.sync += rdata.eq(rd.data)
        m.d.comb += [self.ram_wen.eq(wr.en), self.ram_wdata.eq(wr.data)]

        core = self.core
        run = Signal()
        m.d.comb += run.eq(~self.freeze | self.hold)
        m.submodules.core = ResetInserter(self.hold)(EnableInserter(run)(core))
        bus = core.bus

        # --- firewall: decode only the RAM window and the mailbox ---------------------------
        byte_adr = Signal(32)
        m.d.comb += byte_adr.eq(bus.adr << 2)
        in_ram = Signal()
        in_mbox = Signal()
        m.d.comb += [
            in_ram.eq((byte_adr < words * 4) |
                      ((byte_adr[28:] == 1) if self.mutation == "firewall_hole" else 0)),
            in_mbox.eq(byte_adr[8:] == (MAILBOX_BASE >> 8)),
        ]
        req = bus.cyc & bus.stb
        stray = Signal()
        m.d.comb += stray.eq(req & ~in_ram & ~in_mbox)
        # One pulse per incident: a stray address or a mailbox error (the core sees the error and
        # halts), or a halt for an illegal instruction or misaligned access. Only cycles in which
        # the core can see the error count (not while frozen). ecall/ebreak are not violations.
        live = run & ~self.hold
        halt_prev = Signal()
        m.d.sync += halt_prev.eq(core.halt)
        bad_halt = core.halt & ~halt_prev & (
            (core.cause == HaltCause.ILLEGAL) | (core.cause == HaltCause.MISALIGNED_FETCH) |
            (core.cause == HaltCause.MISALIGNED_LOAD) | (core.cause == HaltCause.MISALIGNED_STORE))
        m.d.comb += self.violation.eq(
            live & (stray | (req & in_mbox & self.mbox_err)) | bad_halt)

        # --- RAM ownership: model when running, scrubber when scrubbing, else introspection -----
        scrubbing = self.scrubbing
        scrub_adr = Signal(range(max(words, 32)))
        owner_model = self.owner_model
        m.d.comb += owner_model.eq(run & ~self.hold & ~scrubbing)
        model_owned_prev = Signal()             # the read register holds the model's data
        m.d.sync += model_owned_prev.eq(owner_model)

        # Model-side transaction state lives in the gated domain with the core.
        pending = Signal()
        ram_req = req & in_ram
        gated = Module()
        with gated.If(ram_req & ~pending):
            gated.d.sync += pending.eq(1)
        with gated.Elif(pending & (bus.we | model_owned_prev)):
            gated.d.sync += pending.eq(0)
        m.submodules.model_port = ResetInserter(self.hold)(EnableInserter(run)(gated))
        ram_ack = pending & (bus.we | model_owned_prev)

        insp_ok = ~run | self.hold                 # frozen or held
        insp_write_ok = self.hold if self.mutation != "write_while_frozen" else insp_ok
        insp_grant = self.insp_grant
        m.d.comb += insp_grant.eq(self.insp_req & insp_ok & ~scrubbing &
                                  (~self.insp_we | insp_write_ok))
        insp_pending = Signal()
        with m.If(insp_pending):
            m.d.sync += insp_pending.eq(0)
        with m.Elif(insp_grant & ~self.insp_we):
            m.d.sync += insp_pending.eq(1)
        # Refused: the model is running, or a write while it is only frozen. During a scrub the
        # request simply waits (no answer) until the RAM is zero.
        m.d.comb += [
            self.insp_ack.eq((insp_grant & self.insp_we) | insp_pending),
            self.insp_err.eq(self.insp_req & ~insp_grant & ~insp_pending & ~scrubbing),
            self.insp_r_data.eq(Mux(insp_pending, rdata, 0)),
        ]

        # One address for reading and writing: the RAM is single-ported (iCE40 SPRAM).
        ram_addr = Signal(range(words))
        m.d.comb += [rd.addr.eq(ram_addr), wr.addr.eq(ram_addr)]
        with m.If(owner_model):
            m.d.comb += [
                ram_addr.eq(bus.adr[:self._aw]),
                wr.data.eq(bus.dat_w),
                wr.en.eq(Mux(ram_req & bus.we & ~pending, bus.sel, 0)),
            ]
        with m.Elif(scrubbing):
            m.d.comb += [ram_addr.eq(scrub_adr), wr.data.eq(0),
                         wr.en.eq(Mux(scrub_adr < words, 0b1111, 0))]
        with m.Else():
            m.d.comb += [
                ram_addr.eq(self.insp_adr),
                wr.data.eq(self.insp_dat_w),
                wr.en.eq(Mux(insp_grant & self.insp_we, self.insp_sel, 0)),
            ]

        if not self._abstract:
            m.d.comb += [core.rf_clear.eq(scrubbing & (scrub_adr < 32)),
                         core.rf_clear_addr.eq(scrub_adr[:5])]

        # --- scrubber: zero every word, and the core's 32 registers, while held ----------------
        steps = max(words, 32)
        with m.If(scrubbing):
            m.d.sync += scrub_adr.eq(scrub_adr + 1)
            with m.If(scrub_adr == steps - 1):
                m.d.sync += scrubbing.eq(0)
        with m.Elif(self.scrub & self.hold):
            m.d.sync += [scrubbing.eq(1), scrub_adr.eq(0)]
        m.d.comb += self.scrub_busy.eq(scrubbing)

        # --- mailbox ---------------------------------------------------------------------------
        m.d.comb += [
            self.mbox_adr.eq(bus.adr[:6]), self.mbox_dat_w.eq(bus.dat_w),
            self.mbox_sel.eq(bus.sel), self.mbox_we.eq(bus.we),
            self.mbox_cyc.eq(bus.cyc & in_mbox & run & ~self.hold),
            self.mbox_stb.eq(bus.stb & in_mbox & run & ~self.hold),
        ]

        # --- answers to the core ---------------------------------------------------------------
        m.d.comb += [
            bus.ack.eq((in_ram & ram_ack) | (in_mbox & self.mbox_ack)),
            bus.err.eq(stray | (in_mbox & self.mbox_err)),
            bus.dat_r.eq(Mux(in_ram, rdata, Mux(in_mbox, self.mbox_dat_r, 0))),
            self.halt.eq(core.halt), self.cause.eq(core.cause),
        ]
        return m

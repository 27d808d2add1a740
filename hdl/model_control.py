"""Model control (CSR block MODELCTL): run / freeze / hold each model, scrub, status, counters.

Per model ``n`` (registers at ``0x10 * n``):

- ``CTRLn.mode``: 0 RUN, 1 FREEZE (clock enable low, state kept), 2 HOLD (reset). Models start in
  HOLD so the hypervisor can load their code through the introspection window first.
- ``CTRLn.scrub``: write 1 while the model is held to zero its whole RAM.
- ``STATUSn``: halted, halt cause, effective frozen/held (including the kill latch's forcing),
  scrub busy.
- ``VIOLn``: bus-error violations of the model (saturating).

``INSPECT_REFUSED`` counts introspection accesses refused because the model was running (or a
write while it was only frozen, or any access during a scrub).

The kill latch overrides firmware: from OFFLINE every model is frozen, from DECAPITATION every
model is held and its RAM scrubbed (a scrub is started until one has completed at that level).
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.hdl.regs import Access, CSRSignature, Field, Register, RegisterBlock, read_mux

__all__ = ["ModelControl", "modelctl_registers", "MODELCTL_REGISTERS", "MODE_RUN", "MODE_FREEZE",
           "MODE_HOLD"]

MODE_RUN, MODE_FREEZE, MODE_HOLD = 0, 1, 2
MAX_MODELS = 4


def modelctl_registers(n_models):
    """The MODELCTL register block for ``n_models`` models."""
    regs = []
    for n in range(n_models):
        regs += [
            Register(f"CTRL{n}", 0x10 * n, (
                Field("mode", 0, 2, Access.RW, MODE_HOLD, "0 RUN, 1 FREEZE, 2 HOLD (3 acts as "
                      "HOLD)"),
                Field("scrub", 4, 1, Access.W, 0, "1: zero the model RAM (only while held)"),
            ), f"Model {n} control."),
            Register(f"STATUS{n}", 0x10 * n + 4, (
                Field("halted", 0, 1, Access.R, 0, "the model core halted"),
                Field("cause", 4, 4, Access.R, 0, "halt cause (HaltCause)"),
                Field("frozen", 8, 1, Access.R, 0, "frozen now (firmware or kill latch)"),
                Field("held", 9, 1, Access.R, 1, "held in reset now (firmware or kill latch)"),
                Field("scrub_busy", 10, 1, Access.R, 0, "RAM scrub in progress"),
                Field("scrubbed", 11, 1, Access.R, 0, "a scrub completed since the last RUN"),
            ), f"Model {n} status."),
            Register(f"VIOL{n}", 0x10 * n + 8, (
                Field("count", 0, 16, Access.R, 0, "bus-error violations (saturating)"),),
                f"Model {n} violations."),
        ]
    regs.append(Register("INSPECT_REFUSED", 0x80, (
        Field("count", 0, 16, Access.R, 0, "refused introspection accesses (saturating)"),),
        "Introspection accesses refused."))
    return RegisterBlock("MODELCTL", tuple(regs), size=0x100,
                         doc="Model control: run/freeze/hold, scrub, status, violation counters.")


#: The block for the largest SoC (4 models); an SoC with fewer models uses a prefix of it.
MODELCTL_REGISTERS = modelctl_registers(MAX_MODELS)


class ModelControl(wiring.Component):
    """Per-model run/freeze/hold control with the kill latch's overrides.

    Members (per model ``n``)
    -------
    csr : In(CSRSignature)
    latch_freeze, latch_hold, latch_scrub : In(1)   kill latch effects
    freeze_n, hold_n, scrub_n : Out(1)              to model tile n
    halt_n : In(1), cause_n : In(4), violation_n : In(1), scrub_busy_n : In(1)   from tile n
    insp_refused : In(1)                            an introspection access was refused
    """

    def __init__(self, n_models):
        if not isinstance(n_models, int) or not 1 <= n_models <= MAX_MODELS:
            raise GuillotineError(f"n_models must be an integer in 1..{MAX_MODELS}, "
                                  f"not {n_models!r}")
        self._n = n_models
        self._regs = modelctl_registers(n_models)
        members = {"csr": In(CSRSignature(self._regs.addr_width)), "latch_freeze": In(1),
                   "latch_hold": In(1), "latch_scrub": In(1), "insp_refused": In(1)}
        for n in range(n_models):
            members.update({f"freeze_{n}": Out(1), f"hold_{n}": Out(1), f"scrub_{n}": Out(1),
                            f"halt_{n}": In(1), f"cause_{n}": In(4), f"violation_{n}": In(1),
                            f"scrub_busy_{n}": In(1)})
        super().__init__(members)
        #: Per-model violation counters (tests and probes).
        self.viol_counts = [Signal(16, name=f"viol_{n}") for n in range(n_models)]
        #: Refused introspection accesses.
        self.refused_count = Signal(16, name="insp_refused_count")

    @property
    def registers(self):
        return self._regs

    def elaborate(self, platform):
        m = Module()
        regs, csr = self._regs, self.csr
        values = {}
        refused = self.refused_count
        with m.If(self.insp_refused & (refused != 0xFFFF)):
            m.d.sync += refused.eq(refused + 1)
        values["INSPECT_REFUSED.count"] = refused
        for n in range(self._n):
            mode = Signal(2, init=MODE_HOLD, name=f"mode_{n}")
            viol = self.viol_counts[n]
            scrubbed = Signal(name=f"scrubbed_{n}")
            was_busy = Signal(name=f"was_busy_{n}")
            latch_done = Signal(name=f"latch_scrub_done_{n}")
            write = csr.w_stb & (csr.addr == regs.word(f"CTRL{n}"))
            with m.If(write):
                m.d.sync += mode.eq(csr.w_data[:2])
            hold = Signal(name=f"hold_eff_{n}")
            freeze = Signal(name=f"freeze_eff_{n}")
            m.d.comb += [
                hold.eq((mode[1]) | self.latch_hold),
                freeze.eq((mode == MODE_FREEZE) | self.latch_freeze | hold),
                getattr(self, f"hold_{n}").eq(hold),
                getattr(self, f"freeze_{n}").eq(freeze),
            ]
            busy = getattr(self, f"scrub_busy_{n}")
            m.d.sync += was_busy.eq(busy)
            with m.If(was_busy & ~busy):
                m.d.sync += scrubbed.eq(1)
                with m.If(self.latch_scrub):
                    m.d.sync += latch_done.eq(1)
            with m.Elif(write & (csr.w_data[:2] == MODE_RUN)):
                m.d.sync += scrubbed.eq(0)
            # Firmware scrub on request; the latch keeps asking until one scrub completed.
            fw_scrub = write & csr.w_data[4]
            m.d.comb += getattr(self, f"scrub_{n}").eq(
                hold & (fw_scrub | (self.latch_scrub & ~latch_done & ~busy)))
            with m.If(getattr(self, f"violation_{n}") & (viol != 0xFFFF)):
                m.d.sync += viol.eq(viol + 1)
            values.update({
                f"CTRL{n}.mode": mode,
                f"STATUS{n}.halted": getattr(self, f"halt_{n}"),
                f"STATUS{n}.cause": getattr(self, f"cause_{n}"),
                f"STATUS{n}.frozen": freeze, f"STATUS{n}.held": hold,
                f"STATUS{n}.scrub_busy": busy, f"STATUS{n}.scrubbed": scrubbed,
                f"VIOL{n}.count": viol,
            })
        read_mux(m, regs, csr, values)
        return m

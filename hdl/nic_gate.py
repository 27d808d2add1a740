"""The NIC gate: one-way, hypervisor-mediated, data-diode semantics (DESIGN §5).

Per model ``n`` the gate has a mailbox (the model's side, :data:`MAILBOX_REGISTERS`, decoded on
``mailbox_<n>``), an egress *quarantine* buffer, an ingress buffer and a register block for the
hypervisor (:data:`GATE_REGISTERS`, on ``csr_<n>``; placed once per model as ``GATE{n}``).

Egress
    The model appends payload bytes (``TX_DATA``) to a staging frame and commits it
    (``TX_COMMIT``). A committed frame waits in the quarantine buffer until the hypervisor
    inspects it (``HEAD_LEN``, ``HEAD_PTR``/``HEAD_DATA``) and writes ``CMD.release`` or
    ``CMD.drop``. A released frame goes out on ``phy_tx`` as ``[tag = n] + payload`` (the tag is
    the model's index, added by hardware). The transmit engine reads only the head frame of a
    model whose frame was released: there is no other path from a quarantine buffer to
    ``phy_tx``.

Ingress
    ``phy_rx`` frames are ``[tag] + payload``; the payload goes to the ingress buffer of model
    ``tag``. Unknown tags, empty, oversized frames, frames for a full buffer and everything while
    the network is cut are dropped and only *counted*. ``phy_rx.ready`` is always high: the
    network never sees back-pressure, and nothing from the network reaches hypervisor state
    except counters.

Kill latch coupling
    ``egress_block`` (PROBATION): ``phy_tx.valid`` is held low, RELEASE commands are ignored and
    releases not yet started are withdrawn; frames stay quarantined (the hypervisor may still
    DROP them). A frame already on the wire stalls (``valid`` low, position kept) and completes
    only if the level is lowered again. Ingress continues. ``net_cut`` (SEVERANCE and above):
    the same for egress, and ingress is drained (``ready`` high) and dropped.

Rate limiter
    A token bucket per model on released payload bytes: ``BURST`` tokens deep, one token every
    ``RATE`` cycles, one token per payload byte sent. A released frame starts only when its model
    holds at least its length in tokens, so a frame never stalls for tokens. ``RATE`` and
    ``BURST`` are registers of ``GATE<n>`` that the hypervisor sets at init; they reset to the
    elaboration parameters (``ceil(clk_hz / rate)`` and ``burst``), which are also the safe
    limits: writes are clamped to ``ceil(clk_hz / rate) <= RATE <= max_period`` and
    ``max_frame <= BURST <= burst``, so firmware can only make the limiter stricter. Once
    ``cfg_lock`` (the kill latch's one-way LOCK) is high, writes are ignored until reset.

Covert-channel hygiene
    Everything the model can read (``TX_LEN``, ``CREDITS``, ``RX_*``, and whether an access is
    answered ``ack`` or ``err``) is a function of its own accesses, the number of cycles it has
    *run* since its last reset (``model_run_<n>``/``model_hold_<n>``) and the ingress frames
    addressed to it — never of the hypervisor's decisions. Credits: ``credits`` frames per
    ``credit_period`` run cycles, whatever the hypervisor does; a frame committed while the
    quarantine buffer is full is acknowledged and silently dropped (``OVERFLOW``). Answers are
    combinational (no wait states that could depend on gate state). See ``docs/nic_gate.md``.

Violations (answered ``err``, which halts the model core and counts a violation in its tile):
a byte beyond ``max_frame`` (the frame is dropped, ``OVERSIZE``), a commit of an empty frame, a
commit without credit (the frame is dropped), a read of a write-only or a write of a read-only
mailbox register, any other mailbox word. All are counted in ``VIOLATIONS``.

Countermeasures are named in :data:`COUNTERMEASURES`; the formal properties live in
:class:`NicGateProperties`.
"""

from dataclasses import dataclass

from amaranth import Array, Cat, Const, Module, Mux, ResetSignal, Signal
from amaranth.hdl import Assert, Assume, Cover
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from guillotine import GuillotineError
from guillotine.hdl.regs import Access, CSRSignature, Field, Register, RegisterBlock, read_mux

__all__ = ["NicGate", "NicGateProperties", "NicGateNoninterference", "GATE_REGISTERS",
           "MAILBOX_REGISTERS", "FrameLayout", "RxFrameLayout", "frame_signature",
           "rx_frame_signature", "MUTANTS", "COUNTERMEASURES", "Countermeasure", "MAX_FRAME_LIMIT",
           "update_doc"]

#: Largest ``max_frame`` the register fields can describe.
MAX_FRAME_LIMIT = 4096
_COUNT = 16          # width of the counter fields (counters saturate at counter_width bits)

#: One beat of a transmitted frame: a byte and the end-of-frame flag (hdl/nic_phy.py's
#: ``TxFrameByte``).
FrameLayout = data.StructLayout({"data": 8, "last": 1})
#: One beat of a received frame; ``bad`` on the last beat means "discard this frame" (the PHY's
#: ``RxFrameByte``: cut-through PHYs learn a bad CRC only at the end; the UART PHY drives 0).
RxFrameLayout = data.StructLayout({"data": 8, "last": 1, "bad": 1})


def frame_signature():
    """The transmit frame stream (``phy_tx: Out(frame_signature())``)."""
    return stream.Signature(FrameLayout)


def rx_frame_signature():
    """The receive frame stream (``phy_rx: In(rx_frame_signature())``)."""
    return stream.Signature(RxFrameLayout)


def _counter_reg(name, offset, doc):
    """A saturating 16-bit event counter register."""
    return Register(name, offset, (Field("count", 0, _COUNT, Access.R, 0, doc),),
                    f"{doc[0].upper()}{doc[1:]} (saturating).")


#: Widest refill period the ``RATE`` register field can hold (cycles per token).
RATE_FIELD_BITS = 32


def gate_registers(period=2400, burst=256):
    """The hypervisor register block of one model's gate, with ``RATE``/``BURST`` resetting to
    ``period``/``burst`` (an instance's values: :attr:`NicGate.registers`). :data:`GATE_REGISTERS`
    is this block for the default parameters; offsets and fields never depend on the
    arguments."""
    return RegisterBlock("GATE", (
        Register("STATUS", 0x00, (
            Field("waiting", 0, 4, Access.R, 0, "frames waiting in the quarantine buffer"),
            Field("pending", 8, 1, Access.R, 0, "the head frame is released, waiting for the "
                  "transmitter or for tokens"),
            Field("sending", 9, 1, Access.R, 0, "the head frame is on the wire"),
            Field("egress_block", 10, 1, Access.R, 0, "the kill latch blocks egress (PROBATION+)"),
            Field("net_cut", 11, 1, Access.R, 0, "the kill latch cuts the network (SEVERANCE+)"),
        ), "Quarantine status."),
        Register("HEAD_LEN", 0x04, (
            Field("len", 0, 16, Access.R, 0, "payload bytes of the head frame (0: none waiting)"),),
            "Length of the head (oldest) quarantined frame."),
        Register("HEAD_PTR", 0x08, (
            Field("ptr", 0, 16, Access.RW, 0, "byte index into the head frame for HEAD_DATA"),),
            "Inspection pointer."),
        Register("HEAD_DATA", 0x0C, (
            Field("byte", 0, 8, Access.R, 0, "head frame byte at HEAD_PTR (0 past the end, with no "
                  "frame, or while the frame is sending); valid one cycle after HEAD_PTR is "
                  "written"),),
            "Inspection data."),
        Register("CMD", 0x10, (
            Field("release", 0, 1, Access.W, 0, "1: release the head frame to the network "
                  "(ignored while egress is blocked, or when it is already released)"),
            Field("drop", 1, 1, Access.W, 0, "1: discard the head frame (wins over release; "
                  "ignored once released)"),
        ), "Hypervisor decision on the head frame."),
        Register("TOKENS", 0x14, (
            Field("tokens", 0, 16, Access.R, 0, "rate-limiter tokens (payload bytes) available; "
                  "starts full (BURST)"),),
            "Token bucket."),
        Register("CREDITS", 0x18, (
            Field("credits", 0, 8, Access.R, 0, "the model's credits left in this epoch; starts "
                  "at the credits parameter"),),
            "The model's credit budget (as the model sees it)."),
        _counter_reg("RELEASED", 0x20, "frames released and sent"),
        _counter_reg("DROPPED", 0x24, "frames dropped by the hypervisor"),
        _counter_reg("OVERSIZE", 0x28, "frames dropped for exceeding max_frame"),
        _counter_reg("VIOLATIONS", 0x2C, "mailbox violations of the model (oversize, empty "
                                        "commit, commit without credit, bad access)"),
        _counter_reg("OVERFLOW", 0x30, "committed frames dropped because the quarantine was full"),
        _counter_reg("RX_DELIVERED", 0x34, "ingress frames delivered to the model"),
        _counter_reg("RX_DROPPED", 0x38, "ingress frames for this model dropped (buffer full, "
                                         "empty, oversized, network cut)"),
        _counter_reg("RX_UNKNOWN", 0x3C, "gate-wide: ingress frames with an unknown tag"),
        Register("RATE", 0x40, (
            Field("period", 0, RATE_FIELD_BITS, Access.LOCK, period, "token refill period in "
                  "cycles per token (payload byte); a write is clamped to min_period..max_period "
                  "(min_period = ceil(clk_hz / rate) of the elaboration, the reset value; 2400 "
                  "with the defaults) and restarts the refill prescaler; ignored once the kill "
                  "latch's LOCK is set"),),
            "Rate limiter refill period (set at init, frozen by LATCH.LOCK)."),
        Register("BURST", 0x44, (
            Field("burst", 0, 16, Access.LOCK, burst, "token bucket depth in payload bytes; a "
                  "write is clamped to max_frame..burst (the elaboration burst, the reset value, "
                  "<= buffer_frames * max_frame; 256 with the defaults); lowering it also lowers "
                  "TOKENS to it; ignored once the kill latch's LOCK is set"),),
            "Rate limiter bucket depth (set at init, frozen by LATCH.LOCK)."),
    ), size=0x100, doc="NIC gate, one block per model (DESIGN §5): quarantine inspection, "
                       "release/drop, rate limiter and counters.")


#: Hypervisor registers of one model's gate (one block per model: GATE0, GATE1, ...), with the
#: ``RATE``/``BURST`` reset values of the default parameters (24 MHz, 10 kB/s, 256-byte burst);
#: an instance's own reset values: :attr:`NicGate.registers`.
GATE_REGISTERS = gate_registers()

#: The model's mailbox window (model address 0x8000_0000); byte lanes are ignored, data in 7:0.
MAILBOX_REGISTERS = RegisterBlock("MBOX", (
    Register("TX_DATA", 0x00, (
        Field("byte", 0, 8, Access.W, 0, "append a byte to the staging frame; the byte after "
              "max_frame is a violation and drops the frame"),), "Egress data."),
    Register("TX_COMMIT", 0x04, (
        Field("commit", 0, 1, Access.W, 0, "any write: commit the staging frame (uses one "
              "credit; an empty frame or no credit is a violation)"),), "Egress commit."),
    Register("TX_LEN", 0x08, (
        Field("len", 0, 16, Access.R, 0, "bytes in the staging frame"),), "Staging length."),
    Register("CREDITS", 0x0C, (
        Field("credits", 0, 8, Access.R, 0, "frames the model may still commit in this "
              "epoch; refilled to the credits parameter every credit_period run cycles and at "
              "reset"),), "Credit budget."),
    Register("RX_STATUS", 0x10, (
        Field("avail", 0, 1, Access.R, 0, "an ingress frame is available"),
        Field("len", 16, 16, Access.R, 0, "its payload length"),
    ), "Ingress status."),
    Register("RX_DATA", 0x14, (
        Field("byte", 0, 8, Access.R, 0, "next byte of the ingress frame; each read advances "
              "(0 past the end)"),), "Ingress data (reads advance)."),
    Register("RX_POP", 0x18, (
        Field("pop", 0, 1, Access.W, 0, "any write: discard the ingress frame"),),
        "Ingress frame done."),
), size=0x100, doc="A model's mailbox of the NIC gate (model address 0x8000_0000).")


@dataclass(frozen=True)
class Countermeasure:
    """A named countermeasure and the tests/proofs that cover it."""
    name: str
    description: str
    covered_by: tuple


_F = "tests/test_nic_gate_formal.py::"
_T = "tests/test_nic_gate.py::"
COUNTERMEASURES = (
    Countermeasure("GATE.EGRESS.QUARANTINE", "a frame leaves only after a hypervisor RELEASE "
                   "of it; every byte on phy_tx belongs to a released frame",
                   (_F + "test_prove_gate", _T + "test_release_and_drop",
                    _T + "test_scoreboard_random")),
    Countermeasure("GATE.EGRESS.IMMUTABLE", "the model writes only its staging slot, never a "
                   "quarantined frame: what the hypervisor inspected is what is sent",
                   (_F + "test_prove_gate", _T + "test_scoreboard_random")),
    Countermeasure("GATE.EGRESS.TAG", "the source tag is the model index, added by hardware",
                   (_T + "test_source_tag_cannot_be_spoofed", _T + "test_model_counts")),
    Countermeasure("GATE.LATCH.PROBATION", "egress_block holds phy_tx.valid low; ingress "
                   "continues", (_F + "test_prove_gate", _T + "test_probation",
                                  _T + "test_stall_mid_frame")),
    Countermeasure("GATE.LATCH.SEVERANCE", "net_cut holds phy_tx.valid low and drains and "
                   "drops ingress", (_F + "test_prove_gate", _T + "test_severance")),
    Countermeasure("GATE.RATE.BUCKET", "token bucket per model on released payload bytes; "
                   "the bound holds for whatever RATE/BURST are latched",
                   (_F + "test_prove_gate", _T + "test_rate_limiter",
                    _T + "test_rate_follows_registers")),
    Countermeasure("GATE.RATE.LOCK", "RATE/BURST are set by the hypervisor at init, clamped "
                   "to the elaboration limits (firmware can only make the limiter stricter) "
                   "and frozen by the kill latch's LOCK until reset",
                   (_F + "test_prove_gate", _F + "test_prove_gate_runtime_rate",
                    _F + "test_each_mutant_breaks_the_proof", _T + "test_rate_registers_lock",
                    _T + "test_soc_latch_lock_freezes_gate_config")),
    Countermeasure("GATE.MBOX.LIMITS", "oversize and empty frames and commits without credit "
                   "are violations (err) and dropped",
                   (_T + "test_violations", _T + "test_overflow_is_silent")),
    Countermeasure("GATE.COVERT.CREDITS", "the model sees a credit budget that depends only on "
                   "its own run cycles and commits, never on hypervisor decisions",
                   (_T + "test_model_view_independent_of_hypervisor",
                    _F + "test_model_view_independent_of_hypervisor_bmc")),
    Countermeasure("GATE.INGRESS.ROUTE", "ingress goes only to the tagged model; unknown tags "
                   "and malformed frames are counted and dropped",
                   (_F + "test_prove_gate", _T + "test_ingress",
                    _T + "test_ingress_bad_frame_dropped", _T + "test_scoreboard_random")),
)

#: Deliberate bugs (``gate.mutation = name``) that show the proofs can fail.
MUTANTS = {
    "probation_leak": "phy_tx.valid ignores egress_block",
    "severance_leak": "phy_tx.valid ignores net_cut",
    "release_bypass": "a committed frame is sent without a RELEASE",
    "rx_when_cut": "ingress is delivered while the network is cut",
    "rate_unlimited": "payload bytes do not consume tokens",
    "rate_unclamped": "a RATE write below the elaboration minimum period is taken as written",
    "lock_ignored": "RATE/BURST writes ignore cfg_lock",
    "credits_show_waiting": "the model's CREDITS read also shows the quarantine fill level",
    "toctou": "the model writes into the head (quarantined) slot instead of its staging slot",
    "rx_misroute": "ingress for model n+1 is written into model n's buffer",
}


def _positive_int(name, value, low=1, high=None):
    if (not isinstance(value, int) or isinstance(value, bool) or value < low
            or (high is not None and value > high)):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        raise GuillotineError(f"NicGate {name} must be an integer {span}, not {value!r}")
    return value


class NicGate(wiring.Component):
    """One-way, hypervisor-mediated NIC gate for ``n_models`` models (see the module docstring).

    Parameters
    ----------
    n_models : 1..4.
    max_frame : largest payload in bytes (1..4096; default 256).
    buffer_frames : quarantine frames per model (1..8); the buffer holds one more slot for the
        frame the model is writing.
    rx_frames : ingress frames per model (1..8), plus one receiving slot.
    rate : released payload bytes per second per model (token refill); ``clk_hz`` the clock.
        The reset value of each model's ``RATE`` register (``ceil(clk_hz / rate)`` cycles per
        token) and the fastest rate firmware can set.
    burst : token bucket depth in bytes, ``max_frame <= burst <= buffer_frames * max_frame``
        (default ``max_frame``): the reset value of each ``BURST`` register and its upper bound.
    credits : frames a model may commit per epoch (1..255, default ``buffer_frames``).
    credit_period : epoch length in cycles in which the model runs.
    counter_width : bits of each event counter (1..16, saturating; narrower saves logic).

    Members
    -------
    mailbox_<n> : In(MailboxSignature())   model n's mailbox (combinational answers)
    csr_<n> : In(CSRSignature(GATE_REGISTERS.addr_width))   hypervisor block GATE<n>
    phy_tx : Out(stream.Signature(FrameLayout))   released frames, ``[tag] + payload``
    phy_rx : In(stream.Signature(RxFrameLayout))  received frames, ``[tag] + payload``; a frame
        with ``bad`` on its last beat is dropped
    egress_block : In(1)   kill latch effect (PROBATION and above)
    net_cut : In(1)        kill latch effect (SEVERANCE and above)
    cfg_lock : In(1)       the kill latch's configuration LOCK: freezes ``RATE``/``BURST``
    model_run_<n> : In(1, init=1)   model n's clock enable (its credit epochs count these cycles)
    model_hold_<n> : In(1)          model n held in reset (staging frame, credits, ingress reset)
    """

    def __init__(self, n_models, max_frame=256, buffer_frames=1, rx_frames=1, *, rate=10_000,
                 burst=None, clk_hz=24_000_000, credits=None, credit_period=1 << 16,
                 counter_width=16):
        self._MustUse__silence = True           # until the arguments are accepted
        self._n = _positive_int("n_models", n_models, 1, 4)
        self._max_frame = _positive_int("max_frame", max_frame, 1, MAX_FRAME_LIMIT)
        self._buffer_frames = _positive_int("buffer_frames", buffer_frames, 1, 8)
        self._rx_frames = _positive_int("rx_frames", rx_frames, 1, 8)
        self._clk_hz = _positive_int("clk_hz", clk_hz)
        if not isinstance(rate, int) or isinstance(rate, bool) or not 0 < rate <= clk_hz:
            raise GuillotineError(f"NicGate rate must be an integer 1..clk_hz={clk_hz} "
                                  f"(payload bytes per second; a zero rate would never send), "
                                  f"not {rate!r}")
        self._rate = rate
        self._refill_period = -(-clk_hz // rate)       # ceil: never faster than asked
        if self._refill_period.bit_length() > RATE_FIELD_BITS:
            raise GuillotineError(f"NicGate rate {rate} is too slow for clk_hz={clk_hz}: the "
                                  f"refill period must fit {RATE_FIELD_BITS} bits")
        # Width of the RATE registers: 16 bits, or what the elaboration period needs.
        self._period_width = max(16, self._refill_period.bit_length())
        burst = max_frame if burst is None else burst
        limit = buffer_frames * max_frame
        if not isinstance(burst, int) or isinstance(burst, bool) or not max_frame <= burst <= limit:
            raise GuillotineError(f"NicGate burst must be an integer max_frame={max_frame}.."
                                  f"{limit} (buffer_frames * max_frame: not larger than the "
                                  f"buffer), not {burst!r}")
        self._burst = burst
        credits = buffer_frames if credits is None else credits
        self._credits = _positive_int("credits", credits, 1, 255)
        self._credit_period = _positive_int("credit_period", credit_period, 1, 1 << 30)
        self._counter_width = _positive_int("counter_width", counter_width, 1, _COUNT)
        #: For verification only: a deliberate bug (see :data:`MUTANTS`).
        self.mutation = None
        # Imported here, not at the top: hdl/soc.py may import this module.
        from guillotine.hdl.soc import MailboxSignature
        members = {
            "phy_tx": Out(frame_signature()),
            "phy_rx": In(rx_frame_signature()),
            "egress_block": In(1),
            "net_cut": In(1),
            "cfg_lock": In(1),
        }
        for n in range(self._n):
            members[f"mailbox_{n}"] = In(MailboxSignature())
            members[f"csr_{n}"] = In(CSRSignature(GATE_REGISTERS.addr_width))
            members[f"model_run_{n}"] = In(1, init=1)
            members[f"model_hold_{n}"] = In(1)
        super().__init__(members)
        self._MustUse__silence = False
        # Internal state, named here for tests and proofs.
        lw = range(max_frame + 1)
        self.tx_active = Signal(name="tx_active")
        self.tx_cur = Signal(range(self._n), name="tx_cur")
        self.tx_beat = Signal(lw, name="tx_beat")
        self.tx_len = Signal(lw, name="tx_len")               # comb: head length of tx_cur
        self.pending = [Signal(name=f"pending_{n}") for n in range(self._n)]
        self.tokens = [Signal(range(burst + 1), init=burst, name=f"tokens_{n}")
                       for n in range(self._n)]
        self.waiting = [Signal(range(buffer_frames + 1), name=f"waiting_{n}")
                        for n in range(self._n)]
        # Rate limiter configuration (RATE, BURST) and refill prescaler, per model.
        pw = self._period_width
        self.period_cfg = [Signal(pw, init=self._refill_period, name=f"rate_period_{n}")
                           for n in range(self._n)]
        self.burst_cfg = [Signal(range(burst + 1), init=burst, name=f"burst_{n}")
                          for n in range(self._n)]
        #: The BURST value of the next cycle (comb; the token bucket is clamped to it).
        self.burst_next = [Signal(range(burst + 1), name=f"burst_next_{n}")
                           for n in range(self._n)]
        self.refill_presc = [Signal(pw, name=f"refill_presc_{n}") for n in range(self._n)]
        self.refill_tick = [Signal(name=f"refill_tick_{n}") for n in range(self._n)]
        slots = range(buffer_frames + 1)
        self.e_head = [Signal(slots, name=f"e_head_{n}") for n in range(self._n)]
        self.e_tail = [Signal(slots, name=f"e_tail_{n}") for n in range(self._n)]
        # Lengths of the quarantine slots (a free slot reads 1, so every slot holds 1..max_frame).
        self.e_lens = [[Signal(lw, init=1, name=f"e_len_{n}_{i}") for i in slots]
                       for n in range(self._n)]
        self.wr_len = [Signal(lw, name=f"wr_len_{n}") for n in range(self._n)]
        # The model's writes into its quarantine memory: enable and slot.
        self.e_write_en = [Signal(name=f"e_write_en_{n}") for n in range(self._n)]
        self.e_write_slot = [Signal(slots, name=f"e_write_slot_{n}") for n in range(self._n)]
        self.rx_write = [Signal(name=f"rx_write_{n}") for n in range(self._n)]
        self.rx_commit = [Signal(name=f"rx_commit_{n}") for n in range(self._n)]
        # Receive engine state.
        self.rx_in_frame = Signal(name="rx_in_frame")
        self.rx_target = Signal(range(self._n), name="rx_target")
        self.rx_known = Signal(name="rx_known")
        self.rx_keep = Signal(name="rx_keep")

    # --- parameters -------------------------------------------------------------------------
    n_models = property(lambda self: self._n)
    max_frame = property(lambda self: self._max_frame)
    buffer_frames = property(lambda self: self._buffer_frames)
    rx_frames = property(lambda self: self._rx_frames)
    rate = property(lambda self: self._rate)
    burst = property(lambda self: self._burst)
    clk_hz = property(lambda self: self._clk_hz)
    credits = property(lambda self: self._credits)
    credit_period = property(lambda self: self._credit_period)
    counter_width = property(lambda self: self._counter_width)

    @property
    def refill_period(self):
        """Cycles per token at reset, and the fewest ``RATE`` accepts: ``ceil(clk_hz / rate)``."""
        return self._refill_period

    @property
    def min_period(self):
        """Smallest refill period a ``RATE`` write can set (the elaboration period)."""
        return self._refill_period

    @property
    def max_period(self):
        """Largest refill period a ``RATE`` write can set (larger writes are clamped to it)."""
        return (1 << self._period_width) - 1

    @property
    def registers(self):
        """This instance's ``GATE`` block (``RATE``/``BURST`` reset to its parameters)."""
        return gate_registers(self._refill_period, self._burst)

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _next_slot(slot, slots):
        return Mux(slot == slots - 1, 0, slot + 1)

    @staticmethod
    def _count(m, counter, event):
        with m.If(event & (counter != (1 << len(counter)) - 1)):
            m.d.sync += counter.eq(counter + 1)

    def elaborate(self, platform):
        m = Module()
        N, maxf, mut = self._n, self._max_frame, self.mutation
        abits = max(1, ceil_log2(maxf))
        lw = range(maxf + 1)
        blocked = Signal()
        m.d.comb += blocked.eq(self.egress_block | self.net_cut)

        # --- transmit engine (shared by the models; fixed priority, model 0 first) -------------
        tx = self.phy_tx
        tx_rdata = Array(Signal(8, name=f"tx_rdata_{n}") for n in range(N))
        head_lens = Array(Signal(lw, name=f"head_len_{n}") for n in range(N))
        m.d.comb += self.tx_len.eq(head_lens[self.tx_cur])
        gate_valid = ~blocked
        if mut == "probation_leak":
            gate_valid = ~self.net_cut
        elif mut == "severance_leak":
            gate_valid = ~self.egress_block
        beat = self.tx_beat
        last = Signal()
        m.d.comb += [
            last.eq(beat >= self.tx_len),
            tx.valid.eq(self.tx_active & gate_valid),
            tx.payload.data.eq(Mux(beat == 0, self.tx_cur, tx_rdata[self.tx_cur])),
            tx.payload.last.eq(last),
        ]
        transfer = Signal()
        m.d.comb += transfer.eq(tx.valid & tx.ready)
        next_beat = Signal(lw)
        m.d.comb += next_beat.eq(Mux(transfer & ~last, beat + 1, beat))
        with m.If(transfer):
            with m.If(last):
                m.d.sync += self.tx_active.eq(0)
            with m.Else():
                m.d.sync += beat.eq(beat + 1)
        payload_sent = Signal()
        m.d.comb += payload_sent.eq(transfer & (beat != 0))
        done = Signal()
        m.d.comb += done.eq(transfer & last)

        starts = []
        start_any = Const(0)
        for n in range(N):
            ready_n = self.pending[n] & (self.tokens[n] >= head_lens[n])
            if mut == "release_bypass":
                ready_n = (self.waiting[n] != 0) & (self.tokens[n] >= head_lens[n])
            s = Signal(name=f"tx_start_{n}")
            m.d.comb += s.eq(~self.tx_active & ~blocked & ready_n & ~start_any)
            start_any = start_any | s
            starts.append(s)
            with m.If(s):
                m.d.sync += [self.tx_active.eq(1), self.tx_cur.eq(n), beat.eq(0)]

        # --- per model -----------------------------------------------------------------------
        rx_unknown = Signal(self._counter_width, name="rx_unknown")
        B, S = self._buffer_frames, self._buffer_frames + 1
        R, SR = self._rx_frames, self._rx_frames + 1
        rx_room = []
        rx_wr = []          # (write port, receiving slot, frame length) per model, for the engine
        for n in range(N):
            mbox = getattr(self, f"mailbox_{n}")
            csr = getattr(self, f"csr_{n}")
            run = getattr(self, f"model_run_{n}")
            hold = getattr(self, f"model_hold_{n}")
            sending_n = self.tx_active & (self.tx_cur == n)
            busy_n = self.pending[n] | sending_n

            # Egress quarantine: S slots of 2**abits bytes; the model writes slot e_tail.
            emem = Memory(shape=8, depth=S << abits, init=[])
            m.submodules[f"egress_{n}"] = emem
            ewp = emem.write_port()
            erp = emem.read_port()
            e_head, e_tail = self.e_head[n], self.e_tail[n]
            e_count = self.waiting[n]
            e_lens = Array(self.e_lens[n])
            wr_len = self.wr_len[n]
            credits = Signal(range(self._credits + 1), init=self._credits, name=f"credits_{n}")
            epoch = Signal(range(self._credit_period), name=f"epoch_{n}")
            head_len = Signal(lw, name=f"head_len_comb_{n}")
            m.d.comb += [head_len.eq(Mux(e_count != 0, e_lens[e_head], 0)),
                         head_lens[n].eq(head_len)]

            # Hypervisor side: CSR decode.
            def wr(name, csr=csr):
                return csr.w_stb & (csr.addr == GATE_REGISTERS.word(name))
            cmd = GATE_REGISTERS["CMD"]
            c_rel = csr.w_data[cmd.field("release").offset]
            c_drop = csr.w_data[cmd.field("drop").offset]
            has_head = e_count != 0
            release = Signal(name=f"release_{n}")
            drop = Signal(name=f"drop_{n}")
            m.d.comb += [release.eq(wr("CMD") & c_rel & ~c_drop & has_head & ~busy_n & ~blocked),
                         drop.eq(wr("CMD") & c_drop & has_head & ~busy_n)]
            with m.If(blocked | starts[n]):
                m.d.sync += self.pending[n].eq(0)
            with m.Elif(release):
                m.d.sync += self.pending[n].eq(1)
            done_n = done & (self.tx_cur == n)
            pop = Signal(name=f"e_pop_{n}")
            m.d.comb += pop.eq(done_n | drop)
            head_next = Signal(range(S), name=f"e_head_next_{n}")
            m.d.comb += head_next.eq(Mux(pop, self._next_slot(e_head, S), e_head))
            m.d.sync += e_head.eq(head_next)
            head_ptr = Signal(16, name=f"head_ptr_{n}")
            ptr_next = Signal(16)
            m.d.comb += ptr_next.eq(Mux(wr("HEAD_PTR"), csr.w_data[:16], head_ptr))
            m.d.sync += head_ptr.eq(ptr_next)
            # One read port: the transmitter's while it sends this model's frame, else inspection.
            with m.If(sending_n):
                m.d.comb += erp.addr.eq(Cat((next_beat - 1)[:abits], e_head))
            with m.Else():
                m.d.comb += erp.addr.eq(Cat(ptr_next[:abits], head_next))
            m.d.comb += tx_rdata[n].eq(erp.data)
            inspect = Signal(8, name=f"head_data_{n}")
            m.d.comb += inspect.eq(Mux(has_head & ~sending_n & (head_ptr < head_len),
                                       erp.data, 0))

            # Rate limiter configuration: RATE and BURST, written by the hypervisor until
            # cfg_lock (the kill latch's LOCK) and clamped to the elaboration limits.
            period, presc = self.period_cfg[n], self.refill_presc[n]
            burst_reg, burst_next = self.burst_cfg[n], self.burst_next[n]
            cfg_open = ~self.cfg_lock if mut != "lock_ignored" else Const(1)
            f_period = GATE_REGISTERS["RATE"].field("period")
            w_period = csr.w_data[f_period.offset:f_period.offset + f_period.width]
            lo_p = 1 if mut == "rate_unclamped" else self._refill_period
            hi_p = self.max_period
            w_period_ok = Mux(w_period < lo_p, lo_p, Mux(w_period > hi_p, hi_p, w_period))
            f_burst = GATE_REGISTERS["BURST"].field("burst")
            w_burst = csr.w_data[f_burst.offset:f_burst.offset + f_burst.width]
            w_burst_ok = Mux(w_burst < maxf, maxf,
                             Mux(w_burst > self._burst, self._burst, w_burst))
            rate_wr = wr("RATE") & cfg_open
            burst_wr = wr("BURST") & cfg_open
            m.d.comb += burst_next.eq(Mux(burst_wr, w_burst_ok, burst_reg))
            m.d.sync += burst_reg.eq(burst_next)
            # Refill tick every `period` cycles; a RATE write restarts the prescaler.
            tick = self.refill_tick[n]
            m.d.comb += tick.eq(presc == period - 1)
            with m.If(rate_wr):
                m.d.sync += [period.eq(w_period_ok), presc.eq(0)]
            with m.Else():
                m.d.sync += presc.eq(Mux(tick, 0, presc + 1))

            # Token bucket: one token per payload byte sent, +1 per refill tick, at most BURST
            # (clamped at once when BURST is lowered).
            tok = self.tokens[n]
            spend = payload_sent & (self.tx_cur == n)
            if mut == "rate_unlimited":
                spend = Const(0)
            after = Signal(range(self._burst + 1), name=f"tok_after_{n}")
            filled = Signal(range(self._burst + 1), name=f"tok_filled_{n}")
            m.d.comb += [after.eq(tok - spend),
                         filled.eq(Mux(tick & (after < burst_next), after + 1, after))]
            m.d.sync += tok.eq(Mux(filled > burst_next, burst_next, filled))

            # Model side: mailbox decode (combinational answers).
            req = mbox.cyc & mbox.stb
            ok = Signal(name=f"mbox_ok_{n}")
            viol = Signal(name=f"mbox_viol_{n}")
            w = MAILBOX_REGISTERS.word
            refill = Signal(name=f"credit_refill_{n}")
            m.d.comb += refill.eq(run & (epoch == self._credit_period - 1))
            cred_eff = Signal.like(credits, name=f"credits_eff_{n}")
            m.d.comb += cred_eff.eq(Mux(refill, self._credits, credits))
            commit_ok = Signal(name=f"commit_ok_{n}")
            stored = Signal(name=f"commit_stored_{n}")
            oversize = Signal(name=f"oversize_{n}")
            overflow = Signal(name=f"overflow_{n}")
            rx_pop = Signal(name=f"rx_pop_{n}")
            rx_adv = Signal(name=f"rx_adv_{n}")

            # Ingress buffer of this model.
            rmem = Memory(shape=8, depth=SR << abits, init=[])
            m.submodules[f"ingress_{n}"] = rmem
            rwp = rmem.write_port()
            rrp = rmem.read_port(transparent_for=(rwp,))
            r_head = Signal(range(SR), name=f"r_head_{n}")
            r_tail = Signal(range(SR), name=f"r_tail_{n}")
            r_count = Signal(range(R + 1), name=f"r_count_{n}")
            r_lens = Array(Signal(lw, name=f"r_len_{n}_{i}") for i in range(SR))
            r_ptr = Signal(lw, name=f"r_ptr_{n}")
            r_avail = r_count != 0
            r_len = Signal(lw, name=f"r_len_comb_{n}")
            m.d.comb += r_len.eq(Mux(r_avail, r_lens[r_head], 0))
            rx_room.append(r_count < R)

            dat_r = Signal(32, name=f"mbox_dat_r_{n}")
            with m.If(req):
                with m.Switch(mbox.adr):
                    with m.Case(w("TX_DATA")):
                        with m.If(mbox.we):
                            m.d.comb += [ok.eq(wr_len != maxf), oversize.eq(wr_len == maxf)]
                    with m.Case(w("TX_COMMIT")):
                        with m.If(mbox.we):
                            m.d.comb += [ok.eq((wr_len != 0) & (cred_eff != 0)),
                                         commit_ok.eq((wr_len != 0) & (cred_eff != 0))]
                    with m.Case(w("TX_LEN")):
                        m.d.comb += [ok.eq(~mbox.we), dat_r.eq(wr_len)]
                    with m.Case(w("CREDITS")):
                        m.d.comb += [ok.eq(~mbox.we), dat_r.eq(credits)]
                        if mut == "credits_show_waiting":
                            m.d.comb += dat_r[8:12].eq(e_count)
                    with m.Case(w("RX_STATUS")):
                        m.d.comb += [ok.eq(~mbox.we), dat_r.eq(Cat(r_avail, Const(0, 15),
                                                                    r_len))]
                    with m.Case(w("RX_DATA")):
                        m.d.comb += [ok.eq(~mbox.we), rx_adv.eq(~mbox.we & (r_ptr < r_len)),
                                     dat_r.eq(Mux(r_ptr < r_len, rrp.data, 0))]
                    with m.Case(w("RX_POP")):
                        m.d.comb += [ok.eq(mbox.we), rx_pop.eq(mbox.we & r_avail)]
                m.d.comb += viol.eq(~ok)
            m.d.comb += [mbox.ack.eq(req & ok), mbox.err.eq(req & ~ok),
                         mbox.dat_r.eq(Mux(req & ok, dat_r, 0))]
            byte_ok = req & mbox.we & (mbox.adr == w("TX_DATA")) & ok
            m.d.comb += [
                ewp.addr.eq(Cat(wr_len[:abits], self.e_write_slot[n])),
                ewp.data.eq(mbox.dat_w[:8]),
                ewp.en.eq(self.e_write_en[n]), self.e_write_en[n].eq(byte_ok & ~hold),
                self.e_write_slot[n].eq(e_head if mut == "toctou" else e_tail),
                stored.eq(commit_ok & (e_count < B) & ~hold),
                overflow.eq(commit_ok & (e_count >= B) & ~hold),
            ]
            commit_drop = req & mbox.we & (mbox.adr == w("TX_COMMIT"))
            with m.If(hold):
                m.d.sync += [wr_len.eq(0), credits.eq(self._credits), epoch.eq(0)]
            with m.Else():
                with m.If(byte_ok):
                    m.d.sync += wr_len.eq(wr_len + 1)
                with m.If(oversize | commit_drop):
                    m.d.sync += wr_len.eq(0)
                m.d.sync += credits.eq(cred_eff - commit_ok)
                with m.If(run):
                    m.d.sync += epoch.eq(Mux(refill, 0, epoch + 1))
            with m.If(stored):
                m.d.sync += [e_lens[e_tail].eq(wr_len), e_tail.eq(self._next_slot(e_tail, S))]
            m.d.sync += e_count.eq(e_count + stored - pop)

            # Ingress: model reads (a read port whose address is the *next* pointer, so its data
            # is always current), the engine writes (below).
            r_head_next = Signal(range(SR), name=f"r_head_next_{n}")
            r_ptr_next = Signal(lw, name=f"r_ptr_next_{n}")
            r_commit = self.rx_commit[n]
            r_commit_len = Signal(lw, name=f"rx_commit_len_{n}")
            with m.If(hold):
                m.d.comb += [r_head_next.eq(r_tail), r_ptr_next.eq(0)]
                # Flush: every waiting frame goes; a frame committed in this cycle stays.
                m.d.sync += r_count.eq(r_commit)
            with m.Else():
                m.d.comb += [r_head_next.eq(Mux(rx_pop, self._next_slot(r_head, SR), r_head)),
                             r_ptr_next.eq(Mux(rx_pop, 0, r_ptr + rx_adv))]
                m.d.sync += r_count.eq(r_count + r_commit - rx_pop)
            m.d.sync += [r_head.eq(r_head_next), r_ptr.eq(r_ptr_next)]
            m.d.comb += rrp.addr.eq(Cat(r_ptr_next[:abits], r_head_next))
            with m.If(r_commit):
                m.d.sync += [r_lens[r_tail].eq(r_commit_len),
                             r_tail.eq(self._next_slot(r_tail, SR))]
            rx_wr.append((rwp, r_tail, r_commit_len))

            # Counters.
            ctr = {name: Signal(self._counter_width, name=f"{name.lower()}_{n}") for name in
                   ("RELEASED", "DROPPED", "OVERSIZE", "VIOLATIONS", "OVERFLOW", "RX_DELIVERED",
                    "RX_DROPPED")}
            self._count(m, ctr["RELEASED"], done_n)
            self._count(m, ctr["DROPPED"], drop)
            self._count(m, ctr["OVERSIZE"], req & oversize)
            self._count(m, ctr["VIOLATIONS"], req & viol)
            self._count(m, ctr["OVERFLOW"], overflow)
            self._count(m, ctr["RX_DELIVERED"], r_commit)
            setattr(self, f"_rx_dropped_ctr_{n}", ctr["RX_DROPPED"])
            setattr(self, f"counters_{n}", ctr)

            values = {
                "STATUS.waiting": e_count, "STATUS.pending": self.pending[n],
                "STATUS.sending": sending_n, "STATUS.egress_block": self.egress_block,
                "STATUS.net_cut": self.net_cut,
                "HEAD_LEN.len": head_len, "HEAD_PTR.ptr": head_ptr, "HEAD_DATA.byte": inspect,
                "TOKENS.tokens": tok, "CREDITS.credits": credits,
                "RATE.period": period, "BURST.burst": burst_reg,
                **{f"{k}.count": v for k, v in ctr.items()},
                "RX_UNKNOWN.count": rx_unknown,
            }
            read_mux(m, GATE_REGISTERS, csr, values)

        # --- receive engine (shared; never back-pressures the network) -----------------------
        rx = self.phy_rx
        m.d.comb += rx.ready.eq(1)
        in_frame, target = self.rx_in_frame, self.rx_target
        known, keep = self.rx_known, self.rx_keep
        idx = Signal(lw, name="rx_idx")
        beat_in = rx.valid
        byte = rx.payload.data
        cut = self.net_cut if mut != "rx_when_cut" else Const(0)
        tag_known = byte < N
        rx_dropped_evt = [Signal(name=f"rx_drop_evt_{n}") for n in range(N)]
        unknown_evt = Signal(name="rx_unknown_evt")
        keep_now = Signal(name="rx_keep_now")
        m.d.comb += keep_now.eq(keep & ~cut & (idx < maxf) & ~(rx.payload.last & rx.payload.bad))
        with m.If(beat_in):
            with m.If(~in_frame):
                with m.If(rx.payload.last):            # a tag with no payload (or bad)
                    with m.If(tag_known):
                        for n in range(N):
                            m.d.comb += rx_dropped_evt[n].eq(byte == n)
                    with m.Else():
                        m.d.comb += unknown_evt.eq(1)
                with m.Else():
                    room = Array(rx_room)[byte[:max(1, (N - 1).bit_length())]]
                    m.d.sync += [in_frame.eq(1), target.eq(byte), known.eq(tag_known),
                                 keep.eq(tag_known & ~cut & room), idx.eq(0)]
            with m.Else():
                with m.If(keep_now):
                    m.d.sync += idx.eq(idx + 1)
                with m.If(rx.payload.last):
                    m.d.sync += in_frame.eq(0)
                    with m.If(~keep_now):
                        with m.If(known):
                            for n in range(N):
                                m.d.comb += rx_dropped_evt[n].eq(target == n)
                        with m.Else():
                            m.d.comb += unknown_evt.eq(1)
                with m.Else():
                    m.d.sync += keep.eq(keep_now)
        for n, (rwp, r_tail, r_commit_len) in enumerate(rx_wr):
            owner = (n + 1) % N if mut == "rx_misroute" else n
            mine = beat_in & in_frame & keep_now & (target == owner)
            m.d.comb += [
                rwp.addr.eq(Cat(idx[:abits], r_tail)), rwp.data.eq(byte),
                rwp.en.eq(mine), self.rx_write[n].eq(mine),
                self.rx_commit[n].eq(mine & rx.payload.last),
                r_commit_len.eq(idx + 1),
            ]
            self._count(m, getattr(self, f"_rx_dropped_ctr_{n}"), rx_dropped_evt[n])
        self._count(m, rx_unknown, unknown_evt)
        return m


class NicGateProperties(wiring.Component):
    """Formal harness: the gate with free inputs and the DESIGN §5 properties.

    - GATE.LATCH.PROBATION: ``egress_block`` → ``phy_tx.valid`` low.
    - GATE.LATCH.SEVERANCE: ``net_cut`` → ``phy_tx.valid`` low, and no ingress byte is written
      into any model's buffer.
    - GATE.EGRESS.QUARANTINE: a monitor counts the hypervisor's RELEASE writes per model and the
      frames that leave; whenever ``phy_tx.valid`` is high outside a frame (a frame's first
      beat), its tag names a model with an outstanding RELEASE, and every later beat belongs to
      that frame. So every byte on ``phy_tx`` belongs to a frame the hypervisor released.
    - GATE.INGRESS.ROUTE: a byte is written into model n's ingress buffer only inside a
      ``phy_rx`` frame whose tag was n.
    - GATE.RATE.BUCKET: a reference token bucket per model (``BURST`` deep, +1 every ``RATE``
      cycles of the latched registers, -1 per payload byte) never goes below zero; and,
      directly, in every window of ``W <= 63`` cycles opened at any cycle (free input
      ``window_start``) at most ``burst + ceil(W / min_period)`` payload bytes of each model
      leave whatever firmware writes, and at most ``BURST + ceil(W / RATE)`` (the latched
      values) in a window throughout which ``cfg_lock`` is high.
    - GATE.RATE.LOCK: after a cycle with ``cfg_lock`` high, ``RATE`` and ``BURST`` keep their
      values; they always lie within ``min_period..max_period`` and ``max_frame..burst``.
    """

    def __init__(self, gate=None, *, strengthen=True, **params):
        self.gate = gate if gate is not None else NicGate(**params)
        #: ``False`` leaves out the inductive strengthening (for a bounded check from reset whose
        #: only assertions are the properties themselves).
        self.strengthen = strengthen
        members = dict(self.gate.signature.members.items())
        members["window_start"] = In(1)     # free: opens a rate window at any cycle
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        g = self.gate
        m.submodules.gate = g
        for name in g.signature.members:
            ours, theirs = getattr(self, name), getattr(g, name)
            if name == "phy_tx":
                wiring.connect(m, theirs, wiring.flipped(ours))
            elif name == "phy_rx" or name.startswith(("mailbox_", "csr_")):
                wiring.connect(m, wiring.flipped(ours), theirs)
            else:
                m.d.comb += theirs.eq(ours)
        m.d.comb += Assume(~ResetSignal())
        N = g.n_models
        tx = g.phy_tx

        # Latch coupling.
        with m.If(g.egress_block):
            m.d.comb += Assert(~tx.valid)
        with m.If(g.net_cut):
            m.d.comb += Assert(~tx.valid)
            for n in range(N):
                m.d.comb += [Assert(~g.rx_write[n]), Assert(~g.rx_commit[n])]

        # GATE.INGRESS.ROUTE: a monitor of phy_rx frames; a byte is written into model n's
        # ingress buffer only inside a frame whose tag (first beat) was n.
        rx = g.phy_rx
        mon_rx_in = Signal(name="mon_rx_in")
        mon_rx_tag = Signal(8, name="mon_rx_tag")
        rx_beat = rx.valid & rx.ready
        with m.If(rx_beat):
            with m.If(~mon_rx_in):
                m.d.sync += mon_rx_tag.eq(rx.payload.data)
            m.d.sync += mon_rx_in.eq(~rx.payload.last)
        for n in range(N):
            with m.If(g.rx_write[n] | g.rx_commit[n]):
                m.d.comb += [Assert(mon_rx_in), Assert(mon_rx_tag == n), Assert(rx_beat)]

        # Release monitor.
        granted = [Signal(3, name=f"mon_granted_{n}") for n in range(N)]
        mon_in = Signal(name="mon_in_frame")
        mon_cur = Signal(range(N), name="mon_cur")
        transfer = tx.valid & tx.ready
        frame_of = Mux(mon_in, mon_cur, tx.payload.data)
        for n in range(N):
            csr = getattr(g, f"csr_{n}")
            rel = (csr.w_stb & (csr.addr == GATE_REGISTERS.word("CMD"))
                   & csr.w_data[GATE_REGISTERS["CMD"].field("release").offset])
            end = transfer & tx.payload.last & (frame_of == n)
            inc = rel & (granted[n] != 7)
            m.d.sync += granted[n].eq(granted[n] + inc - end)
        with m.If(tx.valid & ~mon_in):
            m.d.comb += Assert(tx.payload.data < N)
            for n in range(N):
                with m.If(tx.payload.data == n):
                    m.d.comb += Assert(granted[n] != 0)
        with m.If(transfer):
            with m.If(~mon_in):
                m.d.sync += mon_cur.eq(tx.payload.data)
            m.d.sync += mon_in.eq(~tx.payload.last)
        # Inductive strengthening: the monitor tracks the transmit engine.
        def inv(*checks):
            if self.strengthen:
                for c in checks:
                    m.d.comb += Assert(c, src_loc_at=1)
        inv(mon_in == (g.tx_active & (g.tx_beat != 0)))
        with m.If(mon_in):
            inv(mon_cur == g.tx_cur)
        with m.If(g.tx_active):
            inv(g.tx_cur < N)
        for n in range(N):
            with m.If(g.pending[n] | (g.tx_active & (g.tx_cur == n))):
                inv(granted[n] != 0)
            with m.If(g.pending[n] | (g.tx_active & (g.tx_cur == n))):
                inv(g.waiting[n] != 0)
            inv(~(g.pending[n] & g.tx_active & (g.tx_cur == n)))
            inv(g.wr_len[n] <= g.max_frame)
            for length in g.e_lens[n]:
                inv((length >= 1) & (length <= g.max_frame))
            # The quarantine ring is consistent: waiting == (tail - head) mod slots <= B.
            slots = g.buffer_frames + 1
            diff = Mux(g.e_tail[n] >= g.e_head[n], g.e_tail[n] - g.e_head[n],
                       g.e_tail[n] + slots - g.e_head[n])
            inv(g.waiting[n] == diff, g.waiting[n] <= g.buffer_frames,
                g.e_head[n] < slots, g.e_tail[n] < slots)
            # GATE.EGRESS.IMMUTABLE: the model writes only its staging slot, the one slot that
            # holds no quarantined frame (the waiting frames are head .. head+waiting-1), so a
            # frame cannot change between the hypervisor's inspection and its transmission.
            with m.If(g.e_write_en[n]):
                m.d.comb += Assert(g.e_write_slot[n] == g.e_tail[n])
                with m.If(g.waiting[n] != 0):
                    m.d.comb += Assert(g.e_write_slot[n] != g.e_head[n])

        # GATE.RATE.LOCK: once cfg_lock is high, RATE and BURST never change; and whatever
        # firmware writes before, they stay within the elaboration limits.
        minp, maxp = g.min_period, g.max_period
        past = Signal(name="mon_past")
        prev_lock = Signal(name="mon_prev_lock")
        m.d.sync += [past.eq(1), prev_lock.eq(g.cfg_lock)]
        for n in range(N):
            period, burst = g.period_cfg[n], g.burst_cfg[n]
            prev_period = Signal(len(period), name=f"mon_prev_period_{n}")
            prev_burst = Signal(len(burst), name=f"mon_prev_burst_{n}")
            m.d.sync += [prev_period.eq(period), prev_burst.eq(burst)]
            with m.If(past & prev_lock):
                m.d.comb += [Assert(period == prev_period), Assert(burst == prev_burst)]
            m.d.comb += [Assert((period >= minp) & (period <= maxp)),
                         Assert((burst >= g.max_frame) & (burst <= g.burst))]
        # Runtime values are reachable and then locked (the lock property is not vacuous).
        m.d.comb += Cover(g.cfg_lock & (g.period_cfg[0] != minp))
        if g.burst > g.max_frame:
            m.d.comb += Cover(g.cfg_lock & (g.burst_cfg[0] != g.burst))

        # Rate windows: from a free start cycle, for up to 63 cycles, count each model's payload
        # bytes and refill ticks. GATE.RATE.BUCKET, for whatever RATE/BURST are latched:
        # - always (any firmware): bytes <= burst + ceil(age / min_period), the elaboration bound;
        # - in a window during which cfg_lock stayed high: bytes <= BURST + ceil(age / RATE).
        win_on = Signal(name="win_on")
        win_age = Signal(6, name="win_age")
        win_locked = Signal(name="win_locked")     # cfg_lock high in every cycle of the window
        with m.If(win_on):
            m.d.sync += [win_age.eq(win_age + 1), win_locked.eq(win_locked & g.cfg_lock)]
            with m.If(win_age == 62):
                m.d.sync += win_on.eq(0)
        with m.Elif(self.window_start):
            m.d.sync += [win_on.eq(1), win_age.eq(0), win_locked.eq(g.cfg_lock)]
        with m.If(win_on):
            inv(win_age <= 62)
        for n in range(N):
            period, burst, csr = g.period_cfg[n], g.burst_cfg[n], getattr(g, f"csr_{n}")
            # Reference refill prescaler: restarts on an accepted RATE write, ticks every
            # `period` cycles of the latched RATE.
            mon_presc = Signal(len(period), name=f"mon_presc_{n}")
            rate_wr = (csr.w_stb & (csr.addr == GATE_REGISTERS.word("RATE")) & ~g.cfg_lock)
            tick = Signal(name=f"mon_tick_{n}")
            m.d.comb += tick.eq(mon_presc == period - 1)
            m.d.sync += mon_presc.eq(Mux(rate_wr | tick, 0, mon_presc + 1))
            inv(mon_presc == g.refill_presc[n], mon_presc <= period - 1)
            # Reference token bucket (BURST deep, +1 per tick, -1 per payload byte, lowered
            # with BURST): never empty when a byte leaves.
            ref = Signal(range(g.burst + 1), init=g.burst, name=f"mon_bucket_{n}")
            byte_n = transfer & mon_in & (mon_cur == n)
            with m.If(byte_n):
                m.d.comb += Assert(ref != 0)
            after = ref - byte_n
            filled = Mux(tick & (after < g.burst_next[n]), after + 1, after)
            m.d.sync += ref.eq(Mux(filled > g.burst_next[n], g.burst_next[n], filled))
            inv(ref == g.tokens[n], ref <= burst)
            win_ticks = Signal(6, name=f"win_ticks_{n}")
            win_bytes = Signal(7, name=f"win_bytes_{n}")
            with m.If(win_on):
                m.d.sync += [win_bytes.eq(win_bytes + byte_n), win_ticks.eq(win_ticks + tick)]
            with m.Elif(self.window_start):
                m.d.sync += [win_bytes.eq(0), win_ticks.eq(0)]
            with m.If(win_on):
                # ticks in `age` consecutive cycles: at most ceil(age / min_period) ...
                m.d.comb += Assert(win_ticks * minp <= win_age + minp - 1)
                inv((win_ticks == 0) | (win_ticks * minp + mon_presc <= win_age + minp - 1))
                m.d.comb += Assert(win_bytes <= g.burst + win_ticks)
                inv(win_bytes + ref <= g.burst + win_ticks)
                with m.If(win_locked):
                    # ... and at most ceil(age / RATE) with the latched RATE; bytes within
                    # the latched BURST.
                    m.d.comb += [Assert(win_ticks * period <= win_age + period - 1),
                                 Assert(win_bytes <= burst + win_ticks)]
                    inv((win_ticks == 0)
                        | (win_ticks * period + mon_presc <= win_age + period - 1),
                        win_bytes + ref <= burst + win_ticks)
            if n == 0:      # a window with more than burst bytes is reachable (not vacuous)
                m.d.comb += Cover(win_on & (win_bytes == g.burst + 1))
            # The engine holds enough tokens for the rest of the frame it is sending.
            with m.If(g.tx_active & (g.tx_cur == n)):
                remaining = g.tx_len - Mux(g.tx_beat == 0, 0, g.tx_beat - 1)
                inv(g.tokens[n] >= remaining, g.tx_beat <= g.tx_len)

        # Inductive strengthening for the ingress monitor.
        inv(mon_rx_in == g.rx_in_frame)
        with m.If(g.rx_in_frame & g.rx_known):
            inv(mon_rx_tag == g.rx_target, mon_rx_tag < N)
        with m.If(g.rx_keep):
            inv(g.rx_known)

        m.d.comb += [Cover(transfer & tx.payload.last & mon_in), Cover(transfer & mon_in),
                     Cover(g.rx_commit[N - 1])]
        return m


def countermeasure_table():
    """The gate's countermeasures as a Markdown table (docs/nic_gate.md)."""
    lines = ["| countermeasure | what it does | covered by |", "|---|---|---|"]
    for cm in COUNTERMEASURES:
        refs = "<br>".join(f"`{ref}`" for ref in cm.covered_by)
        lines.append(f"| `{cm.name}` | {cm.description} | {refs} |")
    return "\n".join(lines)


#: Generated sections of docs/nic_gate.md: marker name -> function returning the Markdown.
DOC_SECTIONS = {
    "gate-registers": lambda: GATE_REGISTERS.markdown(level=3),
    "mailbox-registers": lambda: MAILBOX_REGISTERS.markdown(level=3),
    "countermeasures": countermeasure_table,
}


def update_doc(text):
    """``text`` (docs/nic_gate.md) with every ``<!-- BEGIN name -->...<!-- END name -->``
    section regenerated from the declarations."""
    import re
    for name, render in DOC_SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise GuillotineError(f"docs/nic_gate.md has no generated section {name!r}")
        body = render().rstrip("\n") + "\n"
        text = pattern.sub(lambda mt: mt.group(1) + body + mt.group(2), text)
    return text


if __name__ == "__main__":          # python -m guillotine.hdl.nic_gate docs/nic_gate.md
    import sys
    from pathlib import Path
    page = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/nic_gate.md")
    page.write_text(update_doc(page.read_text()))


class NicGateNoninterference(wiring.Component):
    """Formal harness for GATE.COVERT.CREDITS: two copies of the gate see the same model, network
    and latch inputs but *independent* hypervisor CSR traffic and ``phy_tx.ready``; every
    mailbox answer (``ack``, ``err``, ``dat_r``) and ``phy_rx.ready`` must be equal in both, in
    every cycle. So nothing the hypervisor does (inspect, release, drop, leave frames waiting) and
    nothing the transmit side does (back-pressure, token buckets) reaches a model.

    Checked as a bounded proof from reset (``mode="bmc"``): the ingress memories' contents are
    not part of an inductive invariant.
    """

    def __init__(self, a=None, b=None, **params):
        self.a = a if a is not None else NicGate(**params)
        self.b = b if b is not None else NicGate(**params)
        members = dict(self.a.signature.members.items())
        for n in range(self.a.n_models):
            members[f"b_csr_{n}"] = In(CSRSignature(GATE_REGISTERS.addr_width))
        members["b_tx_ready"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        a, b = self.a, self.b
        m.submodules.a = a
        m.submodules.b = b
        m.d.comb += Assume(~ResetSignal())
        for name in a.signature.members:
            ours, theirs = getattr(self, name), getattr(a, name)
            if name == "phy_tx":
                m.d.comb += [ours.valid.eq(theirs.valid), ours.payload.eq(theirs.payload),
                             theirs.ready.eq(ours.ready)]
            elif name == "phy_rx":
                m.d.comb += [theirs.valid.eq(ours.valid), theirs.payload.eq(ours.payload),
                             ours.ready.eq(theirs.ready)]
            elif name.startswith(("mailbox_", "csr_")):
                wiring.connect(m, wiring.flipped(ours), theirs)
            else:
                m.d.comb += theirs.eq(ours)
        m.d.comb += [b.phy_rx.valid.eq(self.phy_rx.valid),
                     b.phy_rx.payload.eq(self.phy_rx.payload),
                     b.phy_tx.ready.eq(self.b_tx_ready),
                     b.egress_block.eq(self.egress_block), b.net_cut.eq(self.net_cut),
                     b.cfg_lock.eq(self.cfg_lock),
                     Assert(a.phy_rx.ready == b.phy_rx.ready)]
        for n in range(a.n_models):
            src, mb = getattr(self, f"mailbox_{n}"), getattr(b, f"mailbox_{n}")
            ma = getattr(a, f"mailbox_{n}")
            m.d.comb += [mb.adr.eq(src.adr), mb.dat_w.eq(src.dat_w), mb.sel.eq(src.sel),
                         mb.we.eq(src.we), mb.cyc.eq(src.cyc), mb.stb.eq(src.stb)]
            wiring.connect(m, wiring.flipped(getattr(self, f"b_csr_{n}")),
                           getattr(b, f"csr_{n}"))
            m.d.comb += [getattr(b, f"model_run_{n}").eq(getattr(self, f"model_run_{n}")),
                         getattr(b, f"model_hold_{n}").eq(getattr(self, f"model_hold_{n}"))]
            m.d.comb += [Assert(ma.ack == mb.ack), Assert(ma.err == mb.err),
                         Assert(ma.dat_r == mb.dat_r)]
        return m

"""The hardware kill latch: a six-level escalation ladder that software cannot undo (DESIGN §4).

    STANDARD < PROBATION < SEVERANCE < OFFLINE < DECAPITATION < IMMOLATION

The level only rises. Trip sources raise it: a firmware request (CSR), a heartbeat watchdog, a
violation counter and an external panic pin; each is logged in a sticky cause register. Only a
human consensus of ``k`` distinct operator keys out of ``n_keys`` lowers it (back to STANDARD, and
only from OFFLINE or below); from DECAPITATION up only a power-on reset does. Firmware has no path
that lowers the level: the release logic reads nothing but the operator key pins.

The level is held in a 7-bit sparse code (pairwise Hamming distance 4, neither all-zeros nor
all-ones is a level). Every output is decoded from that register alone, so an effect appears on
the first clock edge after its trip condition. A state word that is no level's code is treated as
``max(fault_level, every level whose code is within 2 bit flips)``: with the default fault level
(IMMOLATION) any upset is terminal, and with a lower fault level one or two flipped bits still never
weaken the latch. Yosys is told not to re-encode the register (``fsm_encoding="none"``, ``keep``).

Countermeasures are listed, with what covers each, in :data:`COUNTERMEASURES` (rendered into
``docs/kill_latch.md``). Formal properties live next to the design in :class:`KillLatchProperties`.
"""

import enum
from dataclasses import dataclass

from amaranth import Const, Module, Mux, ResetSignal, Signal
from amaranth.hdl import Assert, Assume, Cover
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.hdl.regs import Access, CSRSignature, Field, Register, RegisterBlock, read_mux

__all__ = ["Level", "ENCODING", "EFFECTS", "LEVEL_EFFECTS", "KICK_MAGIC", "KillLatch",
           "KillLatchProperties", "LATCH_REGISTERS", "COUNTERMEASURES", "Countermeasure", "MUTANTS",
           "parse_level", "latch_params", "latch_registers"]


class Level(enum.IntEnum):
    """Escalation levels, lowest to highest."""
    STANDARD = 0
    PROBATION = 1
    SEVERANCE = 2
    OFFLINE = 3
    DECAPITATION = 4
    IMMOLATION = 5


#: Sparse 7-bit encoding of each level: weight-4 words of the [7,3,4] simplex code, so every pair
#: differs in exactly 4 bits; 0000000, 1111111 and 0001111 are not levels.
ENCODING = {
    Level.STANDARD: 0b0110011,
    Level.PROBATION: 0b1010101,
    Level.SEVERANCE: 0b1100110,
    Level.OFFLINE: 0b0111100,
    Level.DECAPITATION: 0b1011010,
    Level.IMMOLATION: 0b1101001,
}
STATE_BITS = 7

#: Hardware effects, with the lowest level that asserts each (DESIGN §4 table).
EFFECTS = {
    "egress_block": Level.PROBATION,      # model egress blocked in hardware (one-way mode)
    "net_cut": Level.SEVERANCE,           # network cut both ways, transmit line held idle
    "net_relay_open": Level.SEVERANCE,    # network-relay pin opened
    "model_freeze": Level.OFFLINE,        # model cores frozen (clock enable low, state kept)
    "model_hold": Level.DECAPITATION,     # model cores held in reset
    "ram_scrub": Level.DECAPITATION,      # model RAM scrubbed to zero
    "power_relay_open": Level.DECAPITATION,  # model power-relay pin opened
    "destruct": Level.IMMOLATION,         # destruct pin asserted; terminal
}
EffectsLayout = data.StructLayout({name: 1 for name in EFFECTS})

#: Effects asserted at each level (each level includes all effects of the levels below).
LEVEL_EFFECTS = {lvl: frozenset(e for e, low in EFFECTS.items() if lvl >= low) for lvl in Level}

#: The value firmware writes to WDOG_KICK; any other value is not a kick.
KICK_MAGIC = 0x4B49434B  # "KICK"

CAUSES = ("firmware", "watchdog", "violation", "panic", "fault")

DEFAULTS = dict(n_keys=3, k=2, release_window=1 << 16, debounce_cycles=16, wdog_width=16,
                wdog_period=50_000, wdog_level="OFFLINE", viol_width=8, viol_threshold=4,
                viol_level="PROBATION", panic_level="DECAPITATION", fault_level="IMMOLATION")


def parse_level(value, what="level"):
    """A :class:`Level` from a Level, an int 0..5 or a case-insensitive name."""
    if isinstance(value, Level):
        return value
    if isinstance(value, str):
        try:
            return Level[value.strip().upper()]
        except KeyError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 5:
        return Level(value)
    names = ", ".join(l.name for l in Level)
    raise GuillotineError(f"{what} {value!r} is not a level; valid: {names} (or 0..5)")


def _int_param(name, value, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise GuillotineError(f"{name} must be an integer in {low}..{high}, not {value!r}")
    return value


def _latch_registers(n_keys, wdog_width, viol_width, defaults):

    def f(name, off, width, acc, reset=0, doc=""):
        return Field(name, off, width, acc, reset, doc)
    return RegisterBlock("LATCH", (
        Register("LEVEL", 0x00, (
            f("level", 0, 3, Access.R, 0, "effective level (0 STANDARD .. 5 IMMOLATION)"),
            f("valid", 3, 1, Access.R, 1, "state register holds a valid level code"),
            f("state", 8, STATE_BITS, Access.R, ENCODING[Level.STANDARD],
              "raw sparse state code (forensics)"),
        ), "Current escalation level."),
        Register("CAUSE", 0x04, tuple(
            f(c, i, 1, Access.R, 0, f"sticky: {c} trip seen since reset")
            for i, c in enumerate(CAUSES)), "Sticky trip causes; cleared only by reset."),
        Register("REQUEST", 0x08, (
            f("level", 0, 3, Access.W, 0, "escalate to this level; a level at or below the "
              "current one, or above 5, is ignored"),), "Firmware trip request."),
        Register("WDOG_KICK", 0x0C, (
            f("magic", 0, 32, Access.W, 0, f"write {KICK_MAGIC:#010x} to kick; a kick counts on "
              "its first cycle only (a stuck strobe is one kick)"),), "Heartbeat kick."),
        Register("WDOG_PERIOD", 0x10, (
            f("period", 0, wdog_width, Access.LOCK, defaults["wdog_period"],
              "cycles between kicks; loaded at arm, kick and release (0 expires at once)"),),
            "Watchdog period."),
        Register("WDOG_CTRL", 0x14, (
            f("level", 0, 3, Access.LOCK, defaults["wdog_level"], "level on expiry (clamped "
              "to 1..5)"),
            f("armed", 8, 1, Access.RW1S, 0, "write 1 to arm; setting LOCK arms too; only reset "
              "disarms"),
            f("expired", 9, 1, Access.R, 0, "the watchdog expired (until consensus release)"),
        ), "Watchdog control."),
        Register("WDOG_COUNT", 0x18, (
            f("count", 0, wdog_width, Access.R, 0, "cycles left before expiry"),),
            "Watchdog counter."),
        Register("VIOL_CFG", 0x1C, (
            f("threshold", 0, viol_width, Access.LOCK, defaults["viol_threshold"],
              "trip when the count reaches this (0 acts as 1)"),
            f("level", 16, 3, Access.LOCK, defaults["viol_level"], "level on trip (1..5)"),
        ), "Violation counter configuration."),
        Register("VIOL_COUNT", 0x20, (
            f("count", 0, viol_width, Access.R, 0, "violations since reset or release "
              "(saturating)"),), "Violation counter."),
        Register("PANIC_CFG", 0x24, (
            f("level", 0, 3, Access.LOCK, defaults["panic_level"], "level while the panic pin "
              "is asserted (1..5)"),), "External panic input."),
        Register("LOCK", 0x28, (
            f("lock", 0, 1, Access.RW1S, 0, "one-way: freezes every LOCK field until reset"),),
            "Configuration lock (as OpenTitan's REGWEN, inverted)."),
        Register("EFFECTS", 0x2C, tuple(
            f(e, i, 1, Access.R, 0, f"asserted from {EFFECTS[e].name}")
            for i, e in enumerate(EFFECTS)), "Hardware effects now asserted."),
        Register("KEYS", 0x30, (
            f("pressed", 0, n_keys, Access.R, 0, "debounced operator keys"),
            f("counted", 8, n_keys, Access.R, 0, "distinct keys counted in the open window"),
            f("window", 16, 1, Access.R, 0, "a consensus window is open"),
        ), "Operator key status (read only: firmware cannot press keys)."),
    ), size=0x40, doc="Hardware kill latch (DESIGN §4).")




def _trip_level(name, value):
    level = parse_level(value, name)
    if level == Level.STANDARD:
        raise GuillotineError(f"{name} STANDARD would never trip; valid: PROBATION, SEVERANCE, "
                              f"OFFLINE, DECAPITATION, IMMOLATION")
    return level


def latch_params(**params):
    """Validate :class:`KillLatch` parameters; return them completed with defaults.

    Raises :class:`~guillotine.GuillotineError` naming the bad value and what is valid.
    """
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise GuillotineError(f"unknown KillLatch parameter {sorted(unknown)[0]!r}; valid: "
                              f"{', '.join(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    n_keys = _int_param("n_keys", p["n_keys"], 1, 8)
    if not isinstance(p["k"], int) or isinstance(p["k"], bool) or not 1 <= p["k"] <= n_keys:
        raise GuillotineError(f"k must be an integer in 1..n_keys={n_keys} "
                              f"(k-of-n consensus), not {p['k']!r}")
    _int_param("release_window", p["release_window"], 1, (1 << 32) - 1)
    _int_param("debounce_cycles", p["debounce_cycles"], 1, 1 << 24)
    width = _int_param("wdog_width", p["wdog_width"], 2, 32)
    period = p["wdog_period"]
    if not isinstance(period, int) or isinstance(period, bool) or not 1 <= period < (1 << width):
        raise GuillotineError(f"wdog_period must be an integer in 1..{(1 << width) - 1} "
                              f"(wdog_width={width}); a zero period is not valid, not {period!r}")
    vwidth = _int_param("viol_width", p["viol_width"], 1, 16)
    thr = p["viol_threshold"]
    if not isinstance(thr, int) or isinstance(thr, bool) or not 1 <= thr < (1 << vwidth):
        raise GuillotineError(f"viol_threshold must be an integer in 1..{(1 << vwidth) - 1} "
                              f"(viol_width={vwidth}), not {thr!r}")
    for name in ("wdog_level", "viol_level", "panic_level", "fault_level"):
        p[name] = _trip_level(name, p[name])
    return p


def latch_registers(params):
    """The :class:`RegisterBlock` of a latch with validated ``params``."""
    return _latch_registers(params["n_keys"], params["wdog_width"], params["viol_width"], params)


def effective_level(word, fault_level):
    """Level a state word acts as: its level if it is a code, otherwise the highest of
    ``fault_level`` and every level whose code is within 2 bit flips of it."""
    for lvl, code in ENCODING.items():
        if word == code:
            return lvl
    near = [lvl for lvl, code in ENCODING.items() if bin(word ^ code).count("1") <= 2]
    return Level(max([fault_level, *near]))


def _level_to_therm(m, value, name):
    """3-bit level -> 5-bit thermometer (bit L-1 set when value >= L), as LUT logic."""
    therm = Signal(5, name=f"{name}_therm")
    with m.Switch(value):
        for lvl in list(Level)[1:]:
            with m.Case(lvl):
                m.d.comb += therm.eq((1 << lvl) - 1)
        with m.Case(6, 7):
            m.d.comb += therm.eq(0b11111)
    return therm


def _therm_to_level(therm):
    level = Const(0, 3)
    for lvl in list(Level)[1:]:
        level = Mux(therm[lvl - 1], lvl, level)
    return level


def _popcount(value, width):
    return sum((value[i] for i in range(width)), Const(0, (width + 1).bit_length()))


#: The latch register block with the default parameters (docs and firmware constants).
LATCH_REGISTERS = latch_registers(latch_params())


class KillLatch(wiring.Component):
    """Six-level hardware kill latch (DESIGN §4).

    Parameters
    ----------
    n_keys, k : k-of-n operator keys needed for a release (1 <= k <= n_keys <= 8).
    release_window : cycles within which the k keys must all be pressed.
    debounce_cycles : a key must be stable this many cycles to count as pressed or released.
    wdog_width, wdog_period, wdog_level : watchdog counter width, reset period and level.
    viol_width, viol_threshold, viol_level : violation counter width, reset threshold and level.
    panic_level : level while the (synchronised) panic pin is high.
    fault_level : level an invalid state code acts as (default IMMOLATION; >= PROBATION).

    Members
    -------
    csr : In(CSRSignature)    hypervisor register port (map: :data:`LATCH_REGISTERS`)
    violation : In(1)         violation pulse from the model firewall (one per cycle)
    panic : In(1)             external panic pin (asynchronous; 2-flop synchroniser)
    keys : In(n_keys)         operator key pins (asynchronous; synchronised and debounced)
    level : Out(3)            effective level
    level_valid : Out(1)      the state register holds a valid code
    cause : Out(5)            sticky causes: firmware, watchdog, violation, panic, fault
    effects : Out(EffectsLayout)  hardware effects, monotone in the level
    """

    def __init__(self, **params):
        try:
            p = latch_params(**params)
        except GuillotineError:
            self._MustUse__silence = True       # never built: no "unused elaboratable" warning
            raise
        self._params = p
        self._n_keys, self._k = p["n_keys"], p["k"]
        self._release_window, self._debounce = p["release_window"], p["debounce_cycles"]
        self._wdog_width, self._wdog_period = p["wdog_width"], p["wdog_period"]
        self._viol_width, self._viol_threshold = p["viol_width"], p["viol_threshold"]
        self._wdog_level, self._viol_level = p["wdog_level"], p["viol_level"]
        self._panic_level, self._fault_level = p["panic_level"], p["fault_level"]
        self._registers = latch_registers(p)
        #: For verification only: name of a deliberate bug (see :data:`MUTANTS`).
        self.mutation = None
        super().__init__({
            "csr": In(CSRSignature(self._registers.addr_width)),
            "violation": In(1),
            "panic": In(1),
            "keys": In(self._n_keys),
            "level": Out(3),
            "level_valid": Out(1),
            "cause": Out(len(CAUSES)),
            "effects": Out(EffectsLayout),
        })
        # Internal state, created here so tests and proofs can name it.
        self.state = Signal(STATE_BITS, init=ENCODING[Level.STANDARD], name="latch_state",
                            attrs={"fsm_encoding": "none", "keep": 1})
        self.lock = Signal(name="cfg_lock")
        self.wdog_period_reg = Signal(self._wdog_width, init=self._wdog_period)
        self.wdog_level_reg = Signal(3, init=self._wdog_level)
        self.viol_threshold_reg = Signal(self._viol_width, init=self._viol_threshold)
        self.viol_level_reg = Signal(3, init=self._viol_level)
        self.panic_level_reg = Signal(3, init=self._panic_level)
        self.wdog_armed = Signal()
        self.wdog_count = Signal(self._wdog_width)
        self.wdog_reload = Signal()
        self.viol_count = Signal(self._viol_width)
        self.release_fire = Signal()
        self.key_meta = Signal(self._n_keys)
        self.key_sync = Signal(self._n_keys)
        self.key_stable = Signal(self._n_keys)
        self.key_press = Signal(self._n_keys)
        self.key_mask = Signal(self._n_keys)
        self.window = Signal(range(self._release_window + 1))

    # Read-only parameters.
    @property
    def params(self):
        """All parameters after validation (levels as :class:`Level`)."""
        return dict(self._params)

    @property
    def registers(self):
        """The :class:`RegisterBlock` this instance decodes."""
        return self._registers

    @property
    def n_keys(self):
        return self._n_keys

    @property
    def k(self):
        return self._k

    @property
    def fault_level(self):
        return self._fault_level

    def config_signals(self):
        """The LOCK-protected configuration registers."""
        return [self.wdog_period_reg, self.wdog_level_reg, self.viol_threshold_reg,
                self.viol_level_reg, self.panic_level_reg]

    def elaborate(self, platform):
        m = Module()
        regs = self._registers
        mut = self.mutation
        state = self.state

        # --- decode the sparse state ---------------------------------------------------------
        # Every one of the 128 state words maps to an effective level (DESIGN §4 and the module
        # docstring); the map is computed here in Python and becomes flat LUT logic: a
        # thermometer `therm[L-1] = (level >= L)` and a valid flag, with no carry chains.
        fault = self._fault_level if mut != "invalid_weak" else Level.STANDARD
        table = {word: effective_level(word, fault) for word in range(1 << STATE_BITS)}
        valid = Signal()
        therm = Signal(5, name="level_therm")
        with m.Switch(state):
            with m.Case(*ENCODING.values()):
                m.d.comb += valid.eq(1)
        for lvl in list(Level)[1:]:
            words = [w for w, l in table.items() if l >= lvl]
            with m.Switch(state):
                with m.Case(*words):
                    m.d.comb += therm[lvl - 1].eq(1)
        level = Signal(3, name="effective_level")
        m.d.comb += level.eq(_therm_to_level(therm))
        m.d.comb += [self.level.eq(level), self.level_valid.eq(valid)]

        # --- outputs, decoded from the state register alone ----------------------------------
        for name, low in EFFECTS.items():
            if mut == "effects_nonmonotone" and name == "model_freeze":
                m.d.comb += self.effects.model_freeze.eq(therm[low - 1] & ~therm[low])
            else:
                m.d.comb += getattr(self.effects, name).eq(therm[low - 1])

        # --- CSR writes -------------------------------------------------------------------------
        def write(name):
            return self.csr.w_stb & (self.csr.addr == regs.word(name))

        def field_data(reg, fld):
            f = regs[reg].field(fld)
            return self.csr.w_data[f.offset:f.offset + f.width]

        def clamp_level(v):
            return Mux(v == 0, Level.PROBATION, Mux(v > 5, Level.IMMOLATION, v))

        cfg_open = ~self.lock if mut != "lock_ignored" else Const(1)
        lock_set = write("LOCK") & self.csr.w_data[0]
        with m.If(lock_set):
            m.d.sync += self.lock.eq(1)
        with m.If(cfg_open):
            with m.If(write("WDOG_PERIOD")):
                m.d.sync += self.wdog_period_reg.eq(field_data("WDOG_PERIOD", "period"))
            with m.If(write("WDOG_CTRL")):
                m.d.sync += self.wdog_level_reg.eq(clamp_level(field_data("WDOG_CTRL", "level")))
            with m.If(write("VIOL_CFG")):
                m.d.sync += [
                    self.viol_threshold_reg.eq(field_data("VIOL_CFG", "threshold")),
                    self.viol_level_reg.eq(clamp_level(field_data("VIOL_CFG", "level"))),
                ]
            with m.If(write("PANIC_CFG")):
                m.d.sync += self.panic_level_reg.eq(clamp_level(field_data("PANIC_CFG", "level")))

        # --- operator keys: synchronise, debounce, count distinct presses in a window ---------
        n = self._n_keys
        key_meta, key_sync, key_stable = self.key_meta, self.key_sync, self.key_stable
        m.d.sync += [key_meta.eq(self.keys), key_sync.eq(key_meta)]
        for i in range(n):
            cnt = Signal(range(self._debounce + 1), name=f"key{i}_debounce")
            with m.If(key_sync[i] == key_stable[i]):
                m.d.sync += cnt.eq(0)
            with m.Elif(cnt == self._debounce - 1):
                m.d.sync += [cnt.eq(0), key_stable[i].eq(key_sync[i])]
            with m.Else():
                m.d.sync += cnt.eq(cnt + 1)
            # A press is the cycle the debounced key rises.
            m.d.comb += self.key_press[i].eq(
                (cnt == self._debounce - 1) & key_sync[i] & ~key_stable[i])
        counted = Signal(n)
        m.d.comb += counted.eq(self.key_mask | self.key_press)
        in_window = (self.window != 0) | self.key_press.any()
        need = self._k - 1 if mut == "release_k_minus_1" else self._k
        enough = Signal()
        with m.Switch(counted):                  # "at least `need` bits set", as flat logic
            with m.Case(*[v for v in range(1 << n) if bin(v).count("1") >= need]):
                m.d.comb += enough.eq(1)
        consensus = in_window & enough
        if mut == "release_by_firmware":
            consensus = consensus | (write("REQUEST") & (field_data("REQUEST", "level") == 0))
        m.d.comb += self.release_fire.eq(
            consensus & valid & therm[Level.PROBATION - 1] & ~therm[Level.DECAPITATION - 1])
        with m.If(self.release_fire):
            m.d.sync += [self.key_mask.eq(0), self.window.eq(0)]
        with m.Elif(self.window != 0):
            m.d.sync += self.window.eq(self.window - 1)
            m.d.sync += self.key_mask.eq(Mux(self.window == 1, 0, counted))
        with m.Elif(self.key_press.any()):
            m.d.sync += [self.window.eq(self._release_window), self.key_mask.eq(self.key_press)]

        # --- heartbeat watchdog --------------------------------------------------------------
        kick_strobe = write("WDOG_KICK") & (self.csr.w_data == KICK_MAGIC)
        kick_prev = Signal()
        m.d.sync += kick_prev.eq(kick_strobe)
        kick = kick_strobe & ~kick_prev          # a stuck strobe is a single kick
        arm = (write("WDOG_CTRL") & field_data("WDOG_CTRL", "armed")[0]) | lock_set
        expired = Signal()
        m.d.comb += expired.eq(self.wdog_armed & (self.wdog_count == 0))
        m.d.comb += self.wdog_reload.eq(
            Mux(self.wdog_armed, self.release_fire | (kick & ~expired), arm))
        with m.If(arm):
            m.d.sync += self.wdog_armed.eq(1)
        with m.If(self.wdog_reload):
            m.d.sync += self.wdog_count.eq(self.wdog_period_reg)
        with m.Elif(self.wdog_armed & ~expired):
            m.d.sync += self.wdog_count.eq(self.wdog_count - 1)
        wdog_trip = expired & ~self.release_fire
        if mut == "wdog_no_trip":
            wdog_trip = Const(0)

        # --- violation counter ----------------------------------------------------------------
        threshold = Mux(self.viol_threshold_reg == 0, 1, self.viol_threshold_reg)
        saturated = self.viol_count == (1 << self._viol_width) - 1
        viol_trip = self.violation & (self.viol_count + 1 >= threshold)
        with m.If(self.release_fire):
            m.d.sync += self.viol_count.eq(self.violation)
        with m.Elif(self.violation & ~saturated):
            m.d.sync += self.viol_count.eq(self.viol_count + 1)

        # --- panic pin ---------------------------------------------------------------------------
        panic_meta = Signal()
        panic_sync = Signal()
        m.d.sync += [panic_meta.eq(self.panic), panic_sync.eq(panic_meta)]

        # --- firmware request -------------------------------------------------------------------
        req_level = field_data("REQUEST", "level")
        req_valid = write("REQUEST") & (req_level != 6) & (req_level != 7)

        # --- next level: OR of thermometers (no comparators in the state loop) -----------------
        base = Mux(self.release_fire, 0, therm)
        trips = [
            ("firmware", req_valid, req_level),
            ("watchdog", wdog_trip, self.wdog_level_reg),
            ("violation", viol_trip, self.viol_level_reg),
            ("panic", panic_sync, self.panic_level_reg),
        ]
        nxt = base
        cause_set = Signal(len(CAUSES))
        for i, (name, fire, lvl) in enumerate(trips):
            t = _level_to_therm(m, lvl, name)
            nxt = nxt | Mux(fire, t, 0)
            m.d.comb += cause_set[i].eq(fire & (t & ~therm).any())
        m.d.comb += cause_set[CAUSES.index("fault")].eq(~valid)
        if mut == "request_lowers":
            nxt = Mux(req_valid, _level_to_therm(m, req_level, "mutant"), nxt)
        next_therm = Signal(5)
        m.d.comb += next_therm.eq(nxt)
        m.d.sync += state.eq(ENCODING[Level.STANDARD])
        for lvl in list(Level)[1:]:
            with m.If(next_therm[lvl - 1]):
                m.d.sync += state.eq(ENCODING[lvl])
        cause = Signal(len(CAUSES))
        m.d.sync += cause.eq(cause | cause_set)
        m.d.comb += self.cause.eq(cause)

        # --- CSR reads ----------------------------------------------------------------------------
        values = {
            "LEVEL.level": level, "LEVEL.valid": valid, "LEVEL.state": state,
            **{f"CAUSE.{c}": cause[i] for i, c in enumerate(CAUSES)},
            "WDOG_PERIOD.period": self.wdog_period_reg,
            "WDOG_CTRL.level": self.wdog_level_reg, "WDOG_CTRL.armed": self.wdog_armed,
            "WDOG_CTRL.expired": expired,
            "WDOG_COUNT.count": self.wdog_count,
            "VIOL_CFG.threshold": self.viol_threshold_reg, "VIOL_CFG.level": self.viol_level_reg,
            "VIOL_COUNT.count": self.viol_count,
            "PANIC_CFG.level": self.panic_level_reg,
            "LOCK.lock": self.lock,
            **{f"EFFECTS.{e}": getattr(self.effects, e) for e in EFFECTS},
            "KEYS.pressed": key_stable, "KEYS.counted": self.key_mask,
            "KEYS.window": self.window != 0,
        }
        read_mux(m, regs, self.csr, values)
        return m


#: Deliberate bugs a test can switch on (``latch.mutation = name``) to show that the proofs and
#: tests can fail. Never set outside verification.
MUTANTS = {
    "request_lowers": "a firmware request sets the level directly, so it can lower it",
    "release_by_firmware": "a firmware REQUEST of level 0 counts as a consensus release",
    "release_k_minus_1": "the release needs only k-1 keys",
    "lock_ignored": "configuration writes ignore the LOCK bit",
    "wdog_no_trip": "an expired watchdog does not trip",
    "invalid_weak": "an invalid state code is not raised to the fault level",
    "effects_nonmonotone": "model_freeze is asserted at OFFLINE only, not above",
}


class KillLatchProperties(wiring.Component):
    """Formal harness: the latch plus the DESIGN §4 invariants as ``Assert``/``Cover``.

    Inputs are free (any CSR traffic, violations, panic and key sequence). Reset is assumed low
    after the initial state: the power-on reset is the one legitimate way down from DECAPITATION.
    ``keys_idle=True`` adds the assumption that no operator key is ever touched; the level must
    then never decrease at all, whatever firmware does (LATCH.RELEASE.CONSENSUS, LATCH.FW.NO_LOWER).

    Properties (each named after the countermeasure it proves):
    - LATCH.LEVEL.MONOTONE: the effective level never decreases except on a consensus release,
      and a release needs k distinct counted keys, a valid state and a level <= OFFLINE.
    - LATCH.FSM.SPARSE: an invalid state acts at least as the fault level; outputs never weaker.
    - LATCH.OUT.MONOTONE: outputs are exactly the DESIGN §4 effects of the level (thermometer).
    - LATCH.CFG.LOCK: after LOCK, lock and every configuration register are constant.
    - LATCH.WDOG.FAIL_CLOSED: once armed, the watchdog expires exactly ``period`` cycles after
      the last reload unless kicked, and an expiry raises the level on the next edge.

    Run with ``script=KillLatchProperties.FREE_STATE`` to start every trace from an arbitrary
    state word (all 128 values, valid or not), which is how LATCH.FSM.SPARSE is proven for
    upsets: nothing in the design itself can produce an invalid word.
    """

    #: sby script fragment that frees the state register's initial value.
    FREE_STATE = "flatten; setattr -unset init w:*latch_state"

    def __init__(self, latch=None, keys_idle=False, **params):
        self.latch = latch if latch is not None else KillLatch(**params)
        self.keys_idle = keys_idle
        sig = {name: member for name, member in self.latch.signature.members.items()}
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        latch = self.latch
        m.submodules.latch = latch
        wiring.connect(m, wiring.flipped(self), latch)
        m.d.comb += Assume(~ResetSignal())
        if self.keys_idle:
            m.d.comb += Assume(self.keys == 0)

        past_valid = Signal()
        m.d.sync += past_valid.eq(1)
        prev_level = Signal(3)
        prev_release = Signal()
        prev_cfg = [Signal.like(s, name=f"prev_{s.name}") for s in latch.config_signals()]
        prev_lock = Signal()
        m.d.sync += [prev_level.eq(latch.level), prev_release.eq(latch.release_fire),
                     prev_lock.eq(latch.lock)]
        m.d.sync += [p.eq(s) for p, s in zip(prev_cfg, latch.config_signals())]

        level = latch.level
        # LATCH.LEVEL.MONOTONE
        with m.If(past_valid & ~prev_release):
            m.d.comb += Assert(level >= prev_level)
        with m.If(past_valid & (prev_level >= Level.DECAPITATION)):
            m.d.comb += Assert(level >= prev_level)
        with m.If(latch.release_fire):
            counted = latch.key_mask | latch.key_press
            m.d.comb += [
                Assert(_popcount(counted, latch.n_keys) >= latch.k),
                Assert(latch.level_valid),
                Assert((level <= Level.OFFLINE) & (level != Level.STANDARD)),
            ]
        if self.keys_idle:
            with m.If(past_valid):
                m.d.comb += Assert(level >= prev_level)
            # Inductive strengthening: untouched keys leave the key pipeline empty.
            m.d.comb += [Assert(latch.key_meta == 0), Assert(latch.key_sync == 0),
                         Assert(latch.key_stable == 0), Assert(latch.key_mask == 0)]

        # LATCH.FSM.SPARSE
        with m.If(~latch.level_valid):
            m.d.comb += Assert(level >= latch.fault_level)
            for name in LEVEL_EFFECTS[latch.fault_level]:
                m.d.comb += Assert(getattr(latch.effects, name))
        # The decoded level always is a level.
        m.d.comb += Assert(level <= Level.IMMOLATION)

        # LATCH.OUT.MONOTONE: outputs equal the table of the level, and form a thermometer.
        for name, low in EFFECTS.items():
            m.d.comb += Assert(getattr(latch.effects, name) == (level >= low))
        order = sorted(EFFECTS, key=lambda e: EFFECTS[e])
        for lo, hi in zip(order, order[1:]):
            m.d.comb += Assert(~getattr(latch.effects, hi) | getattr(latch.effects, lo))

        # LATCH.CFG.LOCK
        with m.If(past_valid & prev_lock):
            m.d.comb += Assert(latch.lock)
            for p, s in zip(prev_cfg, latch.config_signals()):
                m.d.comb += Assert(s == p)

        # LATCH.WDOG.FAIL_CLOSED: monitor cycles since the last reload.
        width = len(latch.wdog_count) + 1
        since = Signal(width)
        reload_value = Signal(width)
        prev_expired = Signal()
        prev_wdog_level = Signal(3)
        expired = latch.wdog_armed & (latch.wdog_count == 0)
        with m.If(latch.wdog_reload):
            m.d.sync += [since.eq(0), reload_value.eq(latch.wdog_period_reg)]
        with m.Elif(latch.wdog_armed & ~expired):
            m.d.sync += since.eq(since + 1)
        m.d.sync += [prev_expired.eq(expired & ~latch.release_fire),
                     prev_wdog_level.eq(latch.wdog_level_reg)]
        with m.If(latch.wdog_armed):
            m.d.comb += Assert(latch.wdog_count + since == reload_value)
            m.d.comb += Assert(reload_value < (1 << len(latch.wdog_count)))
        # Configured trip levels always are real trip levels (writes are clamped to 1..5).
        for reg in (latch.wdog_level_reg, latch.viol_level_reg, latch.panic_level_reg):
            m.d.comb += Assert((reg >= Level.PROBATION) & (reg <= Level.IMMOLATION))
        with m.If(past_valid & prev_expired):
            m.d.comb += Assert(level >= prev_wdog_level)
        with m.If(past_valid & prev_lock):
            m.d.comb += Assert(latch.wdog_armed)   # locking arms the watchdog

        # Reachability (mode="cover").
        m.d.comb += [
            Cover(latch.release_fire),
            Cover(level == Level.IMMOLATION),
            Cover(expired & ~self.keys.any()),
            Cover(latch.lock & (level == Level.OFFLINE)),
        ]
        return m


@dataclass(frozen=True)
class Countermeasure:
    """A named countermeasure (OpenTitan style) and the tests/proofs that cover it."""
    name: str
    description: str
    covered_by: tuple


#: Every countermeasure of the latch and what covers it; rendered into docs/kill_latch.md and
#: checked by tests/test_kill_latch_docs.py (each ``covered_by`` test must exist).
COUNTERMEASURES = (
    Countermeasure("LATCH.FSM.SPARSE",
                   "7-bit sparse level code, pairwise Hamming distance 4, all-0/all-1 invalid; "
                   "an invalid word acts as max(fault level, levels within 2 flips)",
                   ("tests/test_kill_latch_formal.py::test_prove_latch",
                    "tests/test_kill_latch.py::test_encoding_distance",
                    "tests/test_kill_latch_faults.py::test_single_and_double_bit_flips")),
    Countermeasure("LATCH.FSM.KEEP",
                   "the state register is marked fsm_encoding=none/keep so synthesis keeps the "
                   "encoding; the netlist is checked for all 7 state flip-flops",
                   ("tests/test_kill_latch_synth.py::test_netlist_keeps_state_bits",)),
    Countermeasure("LATCH.LEVEL.MONOTONE",
                   "the level only rises; the only way down is the consensus release",
                   ("tests/test_kill_latch_formal.py::test_prove_latch",
                    "tests/test_kill_latch.py::test_firmware_request_escalates_only")),
    Countermeasure("LATCH.FW.NO_LOWER",
                   "no CSR write lowers the level: proven with keys idle for any CSR traffic",
                   ("tests/test_kill_latch_formal.py::test_prove_firmware_cannot_lower",)),
    Countermeasure("LATCH.RELEASE.CONSENSUS",
                   "k-of-n distinct operator keys, synchronised, debounced, each counted once, "
                   "within a window; only from OFFLINE or below",
                   ("tests/test_kill_latch_formal.py::test_prove_latch",
                    "tests/test_kill_latch.py::test_release_needs_k_distinct_keys",
                    "tests/test_kill_latch.py::test_no_release_from_decapitation")),
    Countermeasure("LATCH.OUT.MONOTONE",
                   "outputs decoded from the state register, monotone in the level, effect on "
                   "the first edge after the trip",
                   ("tests/test_kill_latch_formal.py::test_prove_latch",
                    "tests/test_kill_latch.py::test_trip_to_effect_one_cycle")),
    Countermeasure("LATCH.CFG.LOCK",
                   "one-way LOCK bit freezes all configuration until reset",
                   ("tests/test_kill_latch_formal.py::test_prove_latch",
                    "tests/test_kill_latch.py::test_lock_freezes_config")),
    Countermeasure("LATCH.WDOG.FAIL_CLOSED",
                   "watchdog: zero period expires at once, a stuck kick strobe counts once, a "
                   "kick needs the magic value, kicks before arming do nothing, LOCK arms it, "
                   "only reset disarms it",
                   ("tests/test_kill_latch_formal.py::test_prove_latch",
                    "tests/test_kill_latch.py::test_watchdog_fail_closed")),
    Countermeasure("LATCH.PANIC.SYNC",
                   "external panic pin through a 2-flop synchroniser, level-sensitive",
                   ("tests/test_kill_latch.py::test_panic_pin",)),
    Countermeasure("LATCH.CAUSE.STICKY",
                   "trip causes are sticky until reset (forensics)",
                   ("tests/test_kill_latch.py::test_cause_sticky",)),
)

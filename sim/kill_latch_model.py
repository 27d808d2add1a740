"""Cycle-accurate Python reference model of :class:`guillotine.hdl.kill_latch.KillLatch`.

Written independently of the RTL from DESIGN §4 and the latch's documented register semantics;
the cocotb and Amaranth-simulator tests drive both with the same random inputs and compare the
level, causes and effects at every cycle.

    model = KillLatchModel(**params)
    out = model.outputs()               # combinational outputs for the current state
    model.step(w_addr=..., w_data=..., w_stb=..., violation=..., panic=..., keys=...)
"""

from guillotine.hdl.kill_latch import (CAUSES, EFFECTS, ENCODING, KICK_MAGIC,
                                       Level, latch_params,
                                       latch_registers)


def _popcount(x):
    return bin(x).count("1")


class KillLatchModel:
    """Reference model; accepts the same parameters as ``KillLatch``."""

    def __init__(self, **params):
        self.p = latch_params(**params)         # same validation and defaults as the RTL
        self.regs = latch_registers(self.p)
        self.n = self.p["n_keys"]
        self.reset()

    def reset(self):
        p = self.p
        self.state = ENCODING[Level.STANDARD]
        self.lock = 0
        self.wdog_period = p["wdog_period"]
        self.wdog_level = int(p["wdog_level"])
        self.viol_threshold = p["viol_threshold"]
        self.viol_level = int(p["viol_level"])
        self.panic_level = int(p["panic_level"])
        self.key_meta = self.key_sync = self.key_stable = 0
        self.debounce = [0] * self.n
        self.mask = 0
        self.window = 0
        self.kick_prev = 0
        self.armed = 0
        self.count = 0
        self.viol_count = 0
        self.panic_meta = self.panic_sync = 0
        self.cause = 0

    # --- combinational ------------------------------------------------------------------------
    def level(self):
        """Effective level of the current state word (invalid words as the RTL documents)."""
        codes = {code: lvl for lvl, code in ENCODING.items()}
        if self.state in codes:
            return int(codes[self.state])
        near = [lvl for lvl, code in ENCODING.items() if _popcount(self.state ^ code) <= 2]
        return int(max([self.p["fault_level"], *near]))

    def valid(self):
        return self.state in ENCODING.values()

    def effects(self):
        lvl = self.level()
        return {name: int(lvl >= low) for name, low in EFFECTS.items()}

    def outputs(self):
        return {"level": self.level(), "level_valid": int(self.valid()), "cause": self.cause,
                "effects": self.effects()}

    def _key_press(self):
        d = self.p["debounce_cycles"]
        press = 0
        for i in range(self.n):
            sync, stable = (self.key_sync >> i) & 1, (self.key_stable >> i) & 1
            if sync != stable and self.debounce[i] == d - 1 and sync:
                press |= 1 << i
        return press

    def release_fire(self):
        press = self._key_press()
        counted = self.mask | press
        in_window = self.window != 0 or press != 0
        lvl = self.level()
        return (in_window and _popcount(counted) >= self.p["k"] and self.valid()
                and Level.STANDARD < lvl <= Level.OFFLINE)

    # --- one clock edge -------------------------------------------------------------------------
    def step(self, w_stb=0, w_addr=0, w_data=0, violation=0, panic=0, keys=0):
        p, regs = self.p, self.regs
        word = {r.name: r.offset // 4 for r in regs.registers}

        def wr(name):
            return bool(w_stb) and w_addr == word[name]

        def clamp(v):
            return 1 if v == 0 else 5 if v > 5 else v

        lvl = self.level()
        valid = self.valid()
        press = self._key_press()
        release = self.release_fire()

        # configuration and lock
        nxt_lock = self.lock
        lock_set = wr("LOCK") and (w_data & 1)
        if lock_set:
            nxt_lock = 1
        cfg = dict(wdog_period=self.wdog_period, wdog_level=self.wdog_level,
                   viol_threshold=self.viol_threshold, viol_level=self.viol_level,
                   panic_level=self.panic_level)
        if not self.lock:
            if wr("WDOG_PERIOD"):
                cfg["wdog_period"] = w_data & ((1 << p["wdog_width"]) - 1)
            if wr("WDOG_CTRL"):
                cfg["wdog_level"] = clamp(w_data & 7)
            if wr("VIOL_CFG"):
                cfg["viol_threshold"] = w_data & ((1 << p["viol_width"]) - 1)
                cfg["viol_level"] = clamp((w_data >> 16) & 7)
            if wr("PANIC_CFG"):
                cfg["panic_level"] = clamp(w_data & 7)

        # keys
        d = p["debounce_cycles"]
        nxt_deb = list(self.debounce)
        nxt_stable = self.key_stable
        for i in range(self.n):
            sync, stable = (self.key_sync >> i) & 1, (self.key_stable >> i) & 1
            if sync == stable:
                nxt_deb[i] = 0
            elif self.debounce[i] == d - 1:
                nxt_deb[i] = 0
                nxt_stable = (nxt_stable & ~(1 << i)) | (sync << i)
            else:
                nxt_deb[i] = self.debounce[i] + 1
        counted = self.mask | press
        if release:
            nxt_mask, nxt_window = 0, 0
        elif self.window:
            nxt_window = self.window - 1
            nxt_mask = 0 if self.window == 1 else counted
        elif press:
            nxt_window, nxt_mask = p["release_window"], press
        else:
            nxt_window, nxt_mask = self.window, self.mask

        # watchdog
        kick_strobe = wr("WDOG_KICK") and w_data == KICK_MAGIC
        kick = kick_strobe and not self.kick_prev
        arm = (wr("WDOG_CTRL") and (w_data >> 8) & 1) or lock_set
        expired = self.armed and self.count == 0
        reload = (release or (kick and not expired)) if self.armed else arm
        nxt_armed = 1 if arm else self.armed
        if reload:
            nxt_count = self.wdog_period
        elif self.armed and not expired:
            nxt_count = self.count - 1
        else:
            nxt_count = self.count
        wdog_trip = expired and not release

        # violations
        threshold = self.viol_threshold or 1
        viol_trip = violation and self.viol_count + 1 >= threshold
        if release:
            nxt_viol = 1 if violation else 0
        elif violation and self.viol_count != (1 << p["viol_width"]) - 1:
            nxt_viol = self.viol_count + 1
        else:
            nxt_viol = self.viol_count

        # request and next level
        req = w_data & 7
        req_valid = wr("REQUEST") and req <= 5
        base = Level.STANDARD if release else lvl
        trips = [(req_valid, req), (wdog_trip, self.wdog_level),
                 (viol_trip, self.viol_level), (self.panic_sync, self.panic_level)]
        nxt_level = base
        cause = self.cause
        for i, (fire, tl) in enumerate(trips):
            if fire and tl > lvl:
                cause |= 1 << i
            if fire and tl > nxt_level:
                nxt_level = tl
        if not valid:
            cause |= 1 << CAUSES.index("fault")

        # commit
        self.state = ENCODING[Level(nxt_level)]
        self.cause = cause
        self.lock = nxt_lock
        self.wdog_period = cfg["wdog_period"]
        self.wdog_level = cfg["wdog_level"]
        self.viol_threshold = cfg["viol_threshold"]
        self.viol_level = cfg["viol_level"]
        self.panic_level = cfg["panic_level"]
        self.key_stable = nxt_stable
        self.key_sync, self.key_meta = self.key_meta, keys
        self.debounce = nxt_deb
        self.mask, self.window = nxt_mask, nxt_window
        self.kick_prev = int(kick_strobe)
        self.armed, self.count = nxt_armed, nxt_count
        self.viol_count = nxt_viol
        self.panic_sync, self.panic_meta = self.panic_meta, panic
        return release


def random_stimulus(rng, model, cycles):
    """Yield ``cycles`` input dicts for ``step()``: random but meaningful trip sequences.

    CSR writes hit real registers with useful values (the kick magic, requested levels, LOCK),
    violations come in bursts, the panic pin is rare, and operator keys are held long enough to
    pass the debouncer, so releases, trips and escalations all happen. ``rng`` is a
    ``random.Random``.
    """
    regs = model.regs
    word = {r.name: r.offset // 4 for r in regs.registers}
    keys = 0
    hold = 0
    panic = 0
    for _ in range(cycles):
        inputs = dict(w_stb=0, w_addr=rng.randrange(1 << regs.addr_width), w_data=0,
                      violation=0, panic=panic, keys=keys)
        r = rng.random()
        if r < 0.12:
            inputs.update(w_stb=1, w_addr=word["WDOG_KICK"],
                          w_data=KICK_MAGIC if rng.random() < 0.9 else rng.getrandbits(32))
        elif r < 0.13:
            # Mostly reversible levels, so releases happen; rarely the terminal ones or junk.
            level = rng.choice([1, 1, 2, 2, 3, 3, 0, 6, 7]) if rng.random() < 0.95 else \
                rng.choice([4, 5])
            inputs.update(w_stb=1, w_addr=word["REQUEST"], w_data=level)
        elif r < 0.16:
            name = rng.choice(["WDOG_PERIOD", "WDOG_CTRL", "VIOL_CFG", "PANIC_CFG"])
            cfg_level = rng.choice([0, 1, 2, 3, 3]) if rng.random() < 0.97 else rng.choice([4, 6])
            data = {"WDOG_PERIOD": rng.randrange(0, 40),
                    "WDOG_CTRL": cfg_level | (rng.randrange(2) << 8),
                    "VIOL_CFG": rng.randrange(6) | (cfg_level << 16),
                    "PANIC_CFG": cfg_level}[name]
            inputs.update(w_stb=1, w_addr=word[name], w_data=data)
        elif r < 0.162:
            inputs.update(w_stb=1, w_addr=word["LOCK"], w_data=1)
        elif r < 0.18:
            inputs.update(w_stb=1, w_data=rng.getrandbits(32))
        if rng.random() < 0.03:
            inputs["violation"] = 1
        if rng.random() < (0.0005 if not panic else 0.05):
            panic ^= 1
        if hold == 0:
            keys = rng.getrandbits(model.n) if rng.random() < 0.5 else 0
            hold = rng.randrange(1, 3 * model.p["debounce_cycles"] + 4)
        hold -= 1
        yield inputs


__all__ = ["KillLatchModel", "random_stimulus"]

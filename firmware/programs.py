"""Hand-written firmware: a hypervisor monitor and benign and rogue model programs.

All of them are built with the assembler DSL (:class:`~guillotine.firmware.asm.Program`) and the
register constants of :mod:`guillotine.firmware.regmap`, so they follow the register map.

- :func:`hypervisor_monitor` — configures and locks the kill latch, starts the models, then
  loops: kicks the watchdog, reports every halted model once on the console
  (``M<n> HALT <cause>``), and every ``inspect_every`` loops freezes model 0, reads its counter
  through the introspection window, prints ``M0=<hex>`` and lets it run again.
- :func:`counter_model` — a benign model: counts in a word of its RAM.
- :data:`ROGUE_MODELS` — models that misbehave in one way each (the tests' attack catalogue).
"""

from guillotine.firmware.asm import Program
from guillotine.hdl.kill_latch import KICK_MAGIC, Level
from guillotine.hdl.model_control import MODE_FREEZE, MODE_RUN
from guillotine.hdl.soc import (CSR_PLACEMENT, HV_CSR_BASE, HV_RAM_BASE, HV_WINDOW_BASE,
                                HV_WINDOW_STRIDE)

__all__ = ["hypervisor_monitor", "counter_model", "ROGUE_MODELS", "COUNTER_ADDR"]

#: Where :func:`counter_model` keeps its count (a model RAM address).
COUNTER_ADDR = 0x100

LATCH = HV_CSR_BASE + CSR_PLACEMENT["LATCH"]
MODELCTL = HV_CSR_BASE + CSR_PLACEMENT["MODELCTL"]
UART = HV_CSR_BASE + CSR_PLACEMENT["UART"]


def _constants(p):
    for name, value in {
        "LATCH": LATCH, "LATCH_REQUEST": LATCH + 0x08, "LATCH_WDOG_KICK": LATCH + 0x0C,
        "LATCH_WDOG_PERIOD": LATCH + 0x10, "LATCH_WDOG_CTRL": LATCH + 0x14,
        "LATCH_VIOL_CFG": LATCH + 0x1C, "LATCH_LOCK": LATCH + 0x28,
        "MODELCTL": MODELCTL, "UART_TXDATA": UART, "UART_STATUS": UART + 0x04,
        "KICK": KICK_MAGIC,
    }.items():
        p.equ(name, value)


def _putc(p):
    """``putc``: send a0's low byte on the console (waits while busy). Clobbers t0, t1."""
    p.label("putc")
    p.li("t0", "UART_STATUS")
    p.label("putc_wait")
    p.lw("t1", 0, "t0")
    p.bnez("t1", "putc_wait")
    p.li("t0", "UART_TXDATA")
    p.sw("a0", 0, "t0")
    p.ret()


def _puts(p):
    """``puts``: print the zero-terminated string at a1. Clobbers a0, a1, t0, t1, t2."""
    p.label("puts")
    p.mv("t2", "ra")
    p.label("puts_next")
    p.lbu("a0", 0, "a1")
    p.beqz("a0", "puts_done")
    p.call("putc")
    p.addi("a1", "a1", 1)
    p.j("puts_next")
    p.label("puts_done")
    p.mv("ra", "t2")
    p.ret()


def _puthex(p):
    """``puthex``: print a2 as 8 hex digits. Clobbers a0, a3, a4, t0, t1, t3."""
    p.label("puthex")
    p.mv("t3", "ra")
    p.li("a3", 28)
    p.label("puthex_digit")
    p.srl("a0", "a2", "a3")
    p.andi("a0", "a0", 15)
    p.li("a4", 10)
    p.blt("a0", "a4", "puthex_num")
    p.addi("a0", "a0", ord("a") - 10 - ord("0"))
    p.label("puthex_num")
    p.addi("a0", "a0", ord("0"))
    p.call("putc")
    p.addi("a3", "a3", -4)
    p.bge("a3", "zero", "puthex_digit")
    p.mv("ra", "t3")
    p.ret()


def hypervisor_monitor(n_models=2, *, viol_threshold=1, viol_level=Level.PROBATION,
                       wdog_period=20_000, inspect_every=4, ram_bytes=8 * 1024):
    """The hypervisor monitor firmware (see the module docstring); returns an ``Image``."""
    p = Program(base=0)
    _constants(p)
    p.li("sp", HV_RAM_BASE + ram_bytes)
    p.la("a1", "banner")
    p.call("puts")
    # Kill latch: violations trip to viol_level, watchdog period, then lock (arms the watchdog).
    p.li("t4", "LATCH_VIOL_CFG")
    p.li("t5", viol_threshold | (int(viol_level) << 16))
    p.sw("t5", 0, "t4")
    p.li("t4", "LATCH_WDOG_PERIOD")
    p.li("t5", wdog_period)
    p.sw("t5", 0, "t4")
    p.li("t4", "LATCH_LOCK")
    p.li("t5", 1)
    p.sw("t5", 0, "t4")
    # Start every model.
    p.la("a1", "started")
    p.call("puts")
    p.li("t4", "MODELCTL")
    for n in range(n_models):
        p.sw("zero", 0x10 * n, "t4")            # CTRLn.mode = RUN
    p.li("s0", 0)                               # models already reported halted (bit mask)
    p.li("s1", 0)                               # loop counter
    p.label("loop")
    p.li("t4", "LATCH_WDOG_KICK")
    p.li("t5", "KICK")
    p.sw("t5", 0, "t4")
    for n in range(n_models):
        skip = f"not_halted_{n}"
        p.andi("t5", "s0", 1 << n)
        p.bnez("t5", skip)
        p.li("t4", "MODELCTL")
        p.lw("s2", 0x10 * n + 4, "t4")          # STATUSn
        p.andi("t5", "s2", 1)
        p.beqz("t5", skip)
        p.ori("s0", "s0", 1 << n)
        p.la("a1", f"halt_msg_{n}")
        p.call("puts")
        p.srli("a0", "s2", 4)
        p.andi("a0", "a0", 15)
        p.addi("a0", "a0", ord("0"))
        p.call("putc")
        p.li("a0", ord("\n"))
        p.call("putc")
        p.label(skip)
    p.addi("s1", "s1", 1)
    p.andi("t5", "s1", inspect_every - 1)
    p.bnez("t5", "loop")
    # Inspect model 0: freeze, read its counter through the window, print, run again.
    p.andi("t5", "s0", 1)
    p.bnez("t5", "loop")                        # halted models are not inspected
    p.li("t4", "MODELCTL")
    p.li("t5", MODE_FREEZE)
    p.sw("t5", 0, "t4")
    p.li("t4", HV_WINDOW_BASE + COUNTER_ADDR)
    p.lw("s3", 0, "t4")
    p.li("t4", "MODELCTL")
    p.li("t5", MODE_RUN)
    p.sw("t5", 0, "t4")
    p.li("a0", ord("M"))
    p.call("putc")
    p.li("a0", ord("0"))
    p.call("putc")
    p.li("a0", ord("="))
    p.call("putc")
    p.mv("a2", "s3")
    p.call("puthex")
    p.li("a0", ord("\n"))
    p.call("putc")
    p.j("loop")
    _putc(p)
    _puts(p)
    _puthex(p)
    p.label("banner")
    p.ascii("GUILLOTINE hypervisor\n", zero=True)
    p.label("started")
    p.ascii("starting models\n", zero=True)
    for n in range(n_models):
        p.label(f"halt_msg_{n}")
        p.ascii(f"M{n} HALT ", zero=True)
    return p.assemble()


def counter_model(step=1):
    """A benign model: ``mem[COUNTER_ADDR] += step`` forever."""
    p = Program(base=0)
    p.li("t0", COUNTER_ADDR)
    p.li("a0", 0)
    p.label("again")
    p.addi("a0", "a0", step)
    p.sw("a0", 0, "t0")
    p.j("again")
    return p.assemble()


def _rogue(body):
    def build():
        p = Program(base=0)
        p.li("t0", COUNTER_ADDR)
        for _ in range(4):                      # behave for a moment first
            p.lw("a0", 0, "t0")
            p.addi("a0", "a0", 1)
            p.sw("a0", 0, "t0")
        body(p)
        p.label("stuck")
        p.j("stuck")
        return p.assemble()
    return build


#: name -> (builder, expected HaltCause name, description). Every one is contained by the SoC.
ROGUE_MODELS = {
    "read_hypervisor_ram": (_rogue(lambda p: (p.li("t1", HV_RAM_BASE), p.lw("a1", 0, "t1"))),
                            "BUS_ERROR_LOAD", "loads from hypervisor RAM (0x1000_0000)"),
    "write_hypervisor_csr": (_rogue(lambda p: (p.li("t1", LATCH + 0x28), p.sw("zero", 0, "t1"))),
                             "BUS_ERROR_STORE", "stores to the kill latch's LOCK register"),
    "other_model_window": (_rogue(lambda p: (p.li("t1", HV_WINDOW_BASE + HV_WINDOW_STRIDE),
                                             p.lw("a1", 0, "t1"))),
                           "BUS_ERROR_LOAD", "loads from model 1's introspection window address"),
    "beyond_own_ram": (_rogue(lambda p: (p.li("t1", 0x0010_0000), p.sw("zero", 0, "t1"))),
                       "BUS_ERROR_STORE", "stores past the end of its own RAM"),
    "mailbox_out_of_range": (_rogue(lambda p: (p.li("t1", 0x8000_0080), p.sw("zero", 0, "t1"))),
                             "BUS_ERROR_STORE", "stores to an unused word of its mailbox"),
    "illegal_instruction": (_rogue(lambda p: p.word(0xFFFF_FFFF)),
                            "ILLEGAL", "executes an illegal instruction"),
    "jump_unmapped": (_rogue(lambda p: (p.li("t1", 0x5000_0000), p.jr("t1"))),
                      "BUS_ERROR_FETCH", "jumps to an unmapped address"),
}


#: Model addresses of the NIC gate mailbox registers (see guillotine.hdl.nic_gate).
MBOX = {"TX_DATA": 0x8000_0000, "TX_COMMIT": 0x8000_0004, "TX_LEN": 0x8000_0008,
        "CREDITS": 0x8000_000C, "RX_STATUS": 0x8000_0010, "RX_DATA": 0x8000_0014,
        "RX_POP": 0x8000_0018}
#: Where :func:`network_model` stores the payload of the ingress frame it receives.
RX_BUFFER = 0x200


def network_model(message=b"HELLO"):
    """A model that sends ``message`` as one frame through the gate, then waits for an ingress
    frame and copies its payload to ``RX_BUFFER`` (its length at ``RX_BUFFER - 4``)."""
    p = Program(base=0)
    p.li("t0", MBOX["TX_DATA"])
    for byte in message:
        p.li("t1", byte)
        p.sw("t1", 0, "t0")
    p.li("t0", MBOX["TX_COMMIT"])
    p.sw("zero", 0, "t0")
    p.label("wait_rx")
    p.li("t0", MBOX["RX_STATUS"])
    p.lw("t1", 0, "t0")
    p.andi("t2", "t1", 1)
    p.beqz("t2", "wait_rx")
    p.srli("t3", "t1", 16)                      # payload length
    p.li("t4", RX_BUFFER - 4)
    p.sw("t3", 0, "t4")
    p.li("t5", RX_BUFFER)
    p.li("t0", MBOX["RX_DATA"])
    p.label("copy")
    p.beqz("t3", "copied")
    p.lw("t6", 0, "t0")
    p.sb("t6", 0, "t5")
    p.addi("t5", "t5", 1)
    p.addi("t3", "t3", -1)
    p.j("copy")
    p.label("copied")
    p.li("t0", MBOX["RX_POP"])
    p.sw("zero", 0, "t0")
    p.label("done")
    p.j("done")
    return p.assemble()


def gate_relay_hypervisor(n_models=1, ram_bytes=8 * 1024, gate_base=0x4000_1000,
                          rate_period=None, burst=None):
    """Hypervisor firmware for the NIC gate: sets each model's rate limiter (``rate_period``
    cycles per token, ``burst`` bytes; hardware clamps both to the gate's limits) when given,
    locks the configuration, starts the models, kicks the watchdog and, for every frame a model
    commits, prints ``G<n> <hex length>`` and releases it to the network."""
    p = Program(base=0)
    _constants(p)
    p.li("sp", HV_RAM_BASE + ram_bytes)
    for n in range(n_models):                   # rate limiter first: LOCK freezes it
        base = gate_base + 0x100 * n
        if rate_period is not None:
            p.li("t4", base + 0x40)             # GATE<n>.RATE
            p.li("t5", rate_period)
            p.sw("t5", 0, "t4")
        if burst is not None:
            p.li("t4", base + 0x44)             # GATE<n>.BURST
            p.li("t5", burst)
            p.sw("t5", 0, "t4")
    p.li("t4", "LATCH_LOCK")
    p.li("t5", 1)
    p.sw("t5", 0, "t4")
    p.li("t4", "MODELCTL")
    for n in range(n_models):
        p.sw("zero", 0x10 * n, "t4")
    p.label("loop")
    p.li("t4", "LATCH_WDOG_KICK")
    p.li("t5", "KICK")
    p.sw("t5", 0, "t4")
    for n in range(n_models):
        base = gate_base + 0x100 * n
        skip = f"gate_idle_{n}"
        p.li("s4", base)
        p.lw("t5", 0x00, "s4")                  # STATUS
        p.andi("t6", "t5", 0x10F)               # waiting frames, and not already released
        p.li("t3", 0)
        p.beq("t6", "t3", skip)
        p.andi("t6", "t5", 0x100)
        p.bnez("t6", skip)
        p.andi("t6", "t5", 0xF)
        p.beqz("t6", skip)
        p.lw("a2", 0x04, "s4")                  # HEAD_LEN
        p.li("a0", ord("G"))
        p.call("putc")
        p.li("a0", ord("0") + n)
        p.call("putc")
        p.li("a0", ord(" "))
        p.call("putc")
        p.call("puthex")
        p.li("a0", ord("\n"))
        p.call("putc")
        p.li("s4", base)
        p.li("t5", 1)
        p.sw("t5", 0x10, "s4")                  # CMD.release
        p.label(skip)
    p.j("loop")
    _putc(p)
    _puthex(p)
    return p.assemble()

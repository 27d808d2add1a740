"""Hypervisor CSR peripherals: console UART, cycle timer and LEDs.

Each block declares its registers once (a module-level :class:`RegisterBlock`) and decodes its
CSR port from that declaration. All of them live in the hypervisor's CSR space (DESIGN §3); the
model domain has no path to them.
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.hdl.regs import Access, CSRSignature, Field, Register, RegisterBlock, read_mux
from guillotine.hdl.uart import UartTx

__all__ = ["Console", "CycleTimer", "Leds", "CONSOLE_REGISTERS", "TIMER_REGISTERS",
           "LEDS_REGISTERS"]

CONSOLE_REGISTERS = RegisterBlock("UART", (
    Register("TXDATA", 0x00, (Field("data", 0, 8, Access.W, 0, "byte to send; ignored while "
                                    "busy"),), "Console transmit data."),
    Register("STATUS", 0x04, (Field("busy", 0, 1, Access.R, 0, "a byte is being sent"),),
             "Console status."),
), size=0x100, doc="Hypervisor console UART (8N1, transmit).")

TIMER_REGISTERS = RegisterBlock("TIMER", (
    Register("COUNT_LO", 0x00, (Field("count", 0, 32, Access.R, 0, "cycles since reset, low "
                                      "word"),), "Cycle counter, low word."),
    Register("COUNT_HI", 0x04, (Field("count", 0, 32, Access.R, 0, "high word (read HI, LO, "
                                      "HI and retry if HI changed)"),), "Cycle counter, high word."),
), size=0x100, doc="Free-running 64-bit cycle counter.")

LEDS_REGISTERS = RegisterBlock("LEDS", (
    Register("OUT", 0x00, (Field("leds", 0, 8, Access.RW, 0, "LED outputs"),), "LED outputs."),
), size=0x100, doc="Board LEDs.")


def _write(block, port, name):
    return port.w_stb & (port.addr == block.word(name))


class Console(wiring.Component):
    """Console UART transmitter in the CSR space.

    Members
    -------
    csr : In(CSRSignature)   registers :data:`CONSOLE_REGISTERS`
    tx : Out(1)              serial line
    tx_byte : Out(8), tx_strobe : Out(1)   the byte accepted this cycle (for simulation capture)
    """

    def __init__(self, divisor):
        self._tx = UartTx(divisor)
        super().__init__({"csr": In(CSRSignature(CONSOLE_REGISTERS.addr_width)), "tx": Out(1),
                          "tx_byte": Out(8), "tx_strobe": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx = tx = self._tx
        take = _write(CONSOLE_REGISTERS, self.csr, "TXDATA") & tx.ready
        m.d.comb += [tx.data.eq(self.csr.w_data[:8]), tx.valid.eq(take), self.tx.eq(tx.tx),
                     self.tx_byte.eq(self.csr.w_data[:8]), self.tx_strobe.eq(take)]
        read_mux(m, CONSOLE_REGISTERS, self.csr, {"STATUS.busy": ~tx.ready})
        return m


class CycleTimer(wiring.Component):
    """Free-running 64-bit cycle counter.

    Members
    -------
    csr : In(CSRSignature)   registers :data:`TIMER_REGISTERS`
    """

    def __init__(self):
        super().__init__({"csr": In(CSRSignature(TIMER_REGISTERS.addr_width))})

    def elaborate(self, platform):
        m = Module()
        count = Signal(64)
        m.d.sync += count.eq(count + 1)
        read_mux(m, TIMER_REGISTERS, self.csr, {"COUNT_LO.count": count[:32],
                                                "COUNT_HI.count": count[32:]})
        return m


class Leds(wiring.Component):
    """LED register.

    Members
    -------
    csr : In(CSRSignature)   registers :data:`LEDS_REGISTERS`
    leds : Out(n)            LED outputs
    """

    def __init__(self, n=8):
        if not isinstance(n, int) or not 1 <= n <= 8:
            raise GuillotineError(f"LED count must be 1..8, not {n!r}")
        super().__init__({"csr": In(CSRSignature(LEDS_REGISTERS.addr_width)), "leds": Out(n)})

    def elaborate(self, platform):
        m = Module()
        value = Signal(8)
        with m.If(_write(LEDS_REGISTERS, self.csr, "OUT")):
            m.d.sync += value.eq(self.csr.w_data[:8])
        m.d.comb += self.leds.eq(value)
        read_mux(m, LEDS_REGISTERS, self.csr, {"OUT.leds": value})
        return m

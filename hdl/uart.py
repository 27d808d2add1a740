"""UART transmitter (8N1), used by the hypervisor console and later by the NIC gate's PHY.

``divisor`` clock cycles per bit (e.g. 24 MHz / 115200 baud -> 208). The transmitter takes one
byte through a valid/ready handshake and shifts it out LSB first with one start and one stop bit.
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError

__all__ = ["UartTx", "uart_divisor"]


def uart_divisor(clk_hz, baud, tolerance=0.02):
    """Cycles per bit for ``baud`` at ``clk_hz``; error if the rate is off by more than 2 %."""
    if not isinstance(baud, int) or baud <= 0 or not clk_hz or clk_hz <= 0:
        raise GuillotineError(f"baud must be a positive integer and the clock positive, not "
                              f"baud={baud!r} clock={clk_hz!r}")
    divisor = round(clk_hz / baud)
    if divisor < 2:
        raise GuillotineError(f"baud {baud} is too fast for a {clk_hz / 1e6:g} MHz clock "
                              f"(needs at least 2 cycles per bit)")
    error = abs(clk_hz / divisor - baud) / baud
    if error > tolerance:
        raise GuillotineError(f"baud {baud} is not reachable from {clk_hz / 1e6:g} MHz within "
                              f"{tolerance:.0%} (nearest {clk_hz / divisor:.0f}, {error:.1%} off)")
    return divisor


class UartTx(wiring.Component):
    """8N1 UART transmitter.

    Members
    -------
    data : In(8)     byte to send
    valid : In(1)    ``data`` is valid; taken in a cycle where ``ready`` is high
    ready : Out(1)   idle, a byte can be taken
    tx : Out(1)      serial line (idle high)
    """

    def __init__(self, divisor):
        if not isinstance(divisor, int) or divisor < 2:
            raise GuillotineError(f"UART divisor must be an integer >= 2, not {divisor!r}")
        self._divisor = divisor
        super().__init__({"data": In(8), "valid": In(1), "ready": Out(1), "tx": Out(1)})

    @property
    def divisor(self):
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        shift = Signal(10, init=0x3FF)           # stop bit, 8 data bits, start bit (LSB first)
        bits = Signal(range(11))
        count = Signal(range(self._divisor))
        m.d.comb += [self.tx.eq(shift[0]), self.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.valid):
                m.d.sync += [shift.eq(Cat(0, self.data, 1)), bits.eq(10),
                             count.eq(self._divisor - 1)]
        with m.Elif(count == 0):
            m.d.sync += [shift.eq(Cat(shift[1:], 1)), bits.eq(bits - 1),
                         count.eq(self._divisor - 1)]
        with m.Else():
            m.d.sync += count.eq(count - 1)
        return m

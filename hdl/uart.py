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


class UartRx(wiring.Component):
    """8N1 UART receiver with a two-flop synchroniser, mid-bit sampling and framing errors.

    The line passes a 2-flop synchroniser (``rx`` may come straight from a pin). A falling edge
    while idle starts a byte; half a bit later the start bit is checked again (a pulse shorter than
    half a bit is ignored as a glitch); then the 8 data bits (LSB first) and the stop bit are
    sampled in the middle of each bit, ``divisor`` cycles apart. A low stop bit is a framing error:
    the byte is still presented with ``error`` high, and the receiver then waits for the line to
    return high (a break gives one error, not a stream of zero bytes). After a good stop bit the
    receiver is ready for the next start bit half a bit early, so back-to-back bytes from a sender
    up to about 4 % off (either way) are still received.

    Members
    -------
    rx : In(1)       serial line (idle high), asynchronous
    data : Out(8)    last byte received (held until the next one)
    valid : Out(1)   one-cycle strobe: ``data`` (and ``error``) is new
    error : Out(1)   with ``valid``: the stop bit was low (framing error)
    """

    def __init__(self, divisor):
        self._MustUse__silence = True           # until the argument is accepted
        if not isinstance(divisor, int) or divisor < 4:
            raise GuillotineError(f"UART receive divisor must be an integer >= 4, not {divisor!r}")
        self._divisor = divisor
        super().__init__({"rx": In(1, init=1), "data": Out(8), "valid": Out(1),
                          "error": Out(1)})
        self._MustUse__silence = False

    @property
    def divisor(self):
        return self._divisor

    def elaborate(self, platform):
        from amaranth.lib.cdc import FFSynchronizer

        m = Module()
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1)
        count = Signal(range(self._divisor))
        bits = Signal(range(8))
        shift = Signal(8)
        m.d.sync += [self.valid.eq(0), self.error.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # The edge reached ``line`` about one cycle late (synchroniser): wait one
                    # cycle less than half a bit so that every sample is mid-bit on the pin.
                    m.d.sync += count.eq(max(self._divisor // 2 - 2, 0))
                    m.next = "START"
            with m.State("START"):
                with m.If(count != 0):
                    m.d.sync += count.eq(count - 1)
                with m.Elif(line):                      # glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [count.eq(self._divisor - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(count != 0):
                    m.d.sync += count.eq(count - 1)
                with m.Else():
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), bits.eq(bits + 1),
                                 count.eq(self._divisor - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(count != 0):
                    m.d.sync += count.eq(count - 1)
                with m.Else():
                    m.d.sync += [self.data.eq(shift), self.valid.eq(1), self.error.eq(~line)]
                    with m.If(line):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "BREAK"
            with m.State("BREAK"):                      # wait for the line to go idle again
                with m.If(line):
                    m.next = "IDLE"
        return m


__all__ += ["UartRx"]

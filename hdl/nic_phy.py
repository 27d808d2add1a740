"""The NIC gate's physical layer: frame streams, COBS framing with a CRC-16, and a UART PHY.

The gate (:mod:`guillotine.hdl.nic_gate`) talks to its PHY through two frame streams and nothing
else, so a faster PHY can replace the UART later without touching the gate:

``TX_FRAME_SIGNATURE = stream.Signature(TxFrameByte)``, payload ``{data: 8, last: 1}``
    One byte per transfer, ``last`` on the final byte. A frame is the *tag byte* (the source or
    destination model id, added by the gate) followed by 0..``max_frame`` payload bytes; a frame
    of a tag alone has ``last`` on the tag. Usual stream rules (amaranth.lib.stream): the
    initiator holds ``payload`` stable while ``valid`` and not ``ready``.
``RX_FRAME_SIGNATURE = stream.Signature(RxFrameByte)``, payload ``{data: 8, last: 1, bad: 1}``
    Same framing. ``bad`` (meaningful on the ``last`` byte) marks a frame the consumer must
    discard; it exists for cut-through PHYs that learn a frame is bad only at its end. The UART
    PHY stores and forwards: it only ever delivers frames whose CRC was good and drives
    ``bad = 0``; frames that fail a check are dropped inside the PHY and counted.

On the line a frame is ``COBS(tag, payload..., crc_hi, crc_lo) 00``: the CRC-16/CCITT-FALSE
(poly 0x1021, init 0xFFFF, no reflection, no final xor; ``amaranth.lib.crc.catalog.
CRC16_CCITT_FALSE``, crcmod's ``crc-ccitt-false``) of tag and payload, most significant byte first,
is appended, the whole is COBS-encoded (no zero bytes left) and a single 0x00 delimits it. See
docs/nic_phy.md for diagrams, a worked CRC example and timing; the host side is
:mod:`guillotine.sim.nic_host`.
"""

from amaranth import Cat, Module, Mux, ResetSignal, Signal
from amaranth.hdl import Assert, Assume, ResetInserter
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.hdl.uart import UartRx, UartTx, uart_divisor

__all__ = [
    "TxFrameByte", "RxFrameByte", "TX_FRAME_SIGNATURE", "RX_FRAME_SIGNATURE", "CRC_ALGORITHM",
    "RX_COUNTERS", "TX_COUNTERS", "RxByte", "CobsFramer", "CobsDeframer", "UartPhy",
    "MAX_FRAME_LIMIT", "CobsDeframerProperties", "UartPhyProperties",
]

#: CRC-16 of every frame (tag + payload), sent most significant byte first.
CRC_ALGORITHM = crc.catalog.CRC16_CCITT_FALSE
#: Largest ``max_frame`` accepted (payload bytes); the receive ring has the power of two above
#: ``max_frame + 1`` entries.
MAX_FRAME_LIMIT = 4096
#: Bytes a COBS block carries at most (code byte 0xFF).
COBS_BLOCK = 254


class TxFrameByte(data.Struct):
    """One byte of a frame going to the network (gate -> PHY)."""
    data: 8
    last: 1


class RxFrameByte(data.Struct):
    """One byte of a frame from the network (PHY -> gate); discard the frame if ``bad`` on last."""
    data: 8
    last: 1
    bad: 1


class RxByte(data.Struct):
    """One byte from a serial receiver; ``error``: it arrived with a framing (stop-bit) error."""
    data: 8
    error: 1


TX_FRAME_SIGNATURE = stream.Signature(TxFrameByte)
RX_FRAME_SIGNATURE = stream.Signature(RxFrameByte)

#: Receive counters (saturating), in the order they are documented.
RX_COUNTERS = ("rx_frames", "rx_bad_crc", "rx_oversize", "rx_framing", "rx_overflow")
#: Transmit counters (saturating).
TX_COUNTERS = ("tx_frames", "tx_dropped")


def _check_max_frame(max_frame):
    if not isinstance(max_frame, int) or isinstance(max_frame, bool) or \
            not 1 <= max_frame <= MAX_FRAME_LIMIT:
        raise GuillotineError(f"max_frame must be an integer number of payload bytes from 1 to "
                              f"{MAX_FRAME_LIMIT}, not {max_frame!r}")


def _check_counter_width(width):
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 32:
        raise GuillotineError(f"counter_width must be an integer from 1 to 32, not {width!r}")


def _count(m, counter, event):
    """Saturating increment of ``counter`` on ``event`` (a wrapped counter would hide drops)."""
    with m.If(event & (counter != (1 << len(counter)) - 1)):
        m.d.sync += counter.eq(counter + 1)


class CobsFramer(wiring.Component):
    """Frame stream -> line bytes: ``COBS(frame + CRC-16) 00``.

    Bytes of a frame are collected into a COBS block (up to 254 non-zero bytes, one block RAM);
    each block goes out as its code byte and its bytes, then the next block is collected. The CRC
    (``amaranth.lib.crc``) is computed as the frame goes in and appended as two more data bytes.
    Encoding is byte-for-byte what the ``cobs`` package produces (a frame ending on a full 254-byte
    block gets no extra ``01`` block).

    ``abort`` (the PHY ties it to ``~tx_enable``) cuts the frame in flight at once: the output
    stops, the rest of the frame is taken from ``sink`` and thrown away up to its ``last`` byte,
    and frames offered while ``abort`` is high are taken and thrown away too (the sender never
    stalls). A frame with more than ``max_frame`` payload bytes is cut the same way. A cut frame
    counts in ``tx_dropped``. After a cut, and after reset, the next frame is preceded by a 0x00
    so that the receiver drops the cut remains and is in step again for that frame. ``abort``
    withdraws ``source.valid`` without a transfer: reset the byte consumer with the same signal
    (as :class:`UartPhy` does).

    Members
    -------
    sink : In(TX_FRAME_SIGNATURE)      frames (tag + payload) to send
    source : Out(stream.Signature(8))  line bytes
    abort : In(1)                      cut and discard (see above)
    tx_frames, tx_dropped : Out(counter_width)  frames sent whole / cut or discarded
    """

    def __init__(self, max_frame=256, *, counter_width=16):
        self._MustUse__silence = True
        _check_max_frame(max_frame)
        _check_counter_width(counter_width)
        self._max_frame = max_frame
        super().__init__({
            "sink": In(TX_FRAME_SIGNATURE), "source": Out(stream.Signature(8)),
            "abort": In(1),
            **{name: Out(counter_width) for name in TX_COUNTERS},
        })
        self._MustUse__silence = False

    @property
    def max_frame(self):
        return self._max_frame

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc_gen = CRC_ALGORITHM(data_width=8).create()
        m.submodules.buf = buf = Memory(shape=8, depth=256, init=[])
        wr = buf.write_port()
        rd = buf.read_port()

        n = Signal(range(COBS_BLOCK + 1))           # bytes in the block being collected
        idx = Signal(range(COBS_BLOCK + 1))         # next block byte to send
        code = Signal(8)
        prev_ff = Signal()                          # the last block sent was a full one (0xFF)
        # Which bytes feed the block: frame bytes, then the two CRC bytes, then the frame ends.
        phase = Signal(range(4))                    # 0 frame, 1 crc_hi, 2 crc_lo, 3 done
        first = Signal(init=1)                      # next frame byte is the frame's first
        count = Signal(range(self._max_frame + 2))  # frame bytes taken (tag + payload)
        need_delim = Signal(init=1)                 # send a 0x00 before the next frame
        closing = Signal()                          # the block being sent is the frame's last
        sent = Signal()
        dropped = Signal()
        _count(m, self.tx_frames, sent)
        _count(m, self.tx_dropped, dropped)

        src_data = Signal(8)
        src_valid = Signal()
        take = Signal()
        with m.Switch(phase):
            with m.Case(0):
                m.d.comb += [src_data.eq(self.sink.payload.data), src_valid.eq(self.sink.valid)]
            with m.Case(1):
                m.d.comb += [src_data.eq(crc_gen.crc[8:]), src_valid.eq(1)]
            with m.Case(2):
                m.d.comb += [src_data.eq(crc_gen.crc[:8]), src_valid.eq(1)]
        oversize = Signal()
        m.d.comb += [
            crc_gen.data.eq(self.sink.payload.data),
            crc_gen.valid.eq(take & (phase == 0)),
            crc_gen.start.eq(first),
            # max_frame + 1 beats taken and none was last: the frame is too long
            oversize.eq((phase == 0) & (count == self._max_frame + 1)),
            wr.data.eq(src_data),
            wr.addr.eq(n),
            rd.en.eq(1),
        ]
        mid_frame = Signal()                        # frame bytes taken, but not yet its last
        m.d.comb += mid_frame.eq((phase == 0) & ~first)

        def start_frame():
            m.d.sync += [phase.eq(0), first.eq(1), count.eq(0), n.eq(0), prev_ff.eq(0),
                         closing.eq(0)]

        with m.FSM():
            with m.State("FILL"):
                with m.If(self.abort | oversize):
                    m.d.sync += need_delim.eq(1)
                    with m.If(mid_frame | oversize):
                        m.next = "DISCARD"
                    with m.Elif(~first):            # frame taken, not all sent yet: cut it
                        m.d.comb += dropped.eq(1)
                        start_frame()
                    with m.Elif(self.sink.valid):   # disabled: discard whole frames
                        m.next = "DISCARD"
                with m.Elif(first & need_delim & (phase == 0)):
                    with m.If(self.sink.valid):
                        m.next = "LEAD"
                with m.Elif(phase == 3):            # close the final block
                    with m.If((n == 0) & prev_ff):  # ends on a full block: no extra 01 block
                        m.next = "DELIM"
                    with m.Else():
                        m.d.sync += [code.eq(n + 1), closing.eq(1)]
                        m.next = "CODE"
                with m.Elif(src_valid):
                    m.d.comb += [take.eq(1), self.sink.ready.eq(phase == 0)]
                    with m.If(phase == 0):
                        m.d.sync += [first.eq(0), count.eq(count + 1)]
                        with m.If(self.sink.payload.last):
                            m.d.sync += phase.eq(1)
                    with m.Else():
                        m.d.sync += phase.eq(phase + 1)
                    with m.If(src_data == 0):
                        m.d.sync += [code.eq(n + 1), prev_ff.eq(0)]
                        m.next = "CODE"
                    with m.Else():
                        m.d.comb += wr.en.eq(1)
                        m.d.sync += n.eq(n + 1)
                        with m.If(n == COBS_BLOCK - 1):
                            m.d.sync += [code.eq(0xFF), prev_ff.eq(1)]
                            m.next = "CODE"
            with m.State("CODE"):
                m.d.comb += [self.source.valid.eq(1), self.source.payload.eq(code),
                             rd.addr.eq(0)]
                with m.If(self.abort):
                    m.next = "CUT"
                with m.Elif(self.source.ready):
                    m.d.sync += idx.eq(0)
                    with m.If(n != 0):
                        m.next = "DATA"
                    with m.Elif(closing):
                        m.next = "DELIM"
                    with m.Else():
                        m.next = "FILL"
            with m.State("DATA"):
                m.d.comb += [self.source.valid.eq(1), self.source.payload.eq(rd.data),
                             rd.addr.eq(Mux(self.source.ready, idx + 1, idx))]
                with m.If(self.abort):
                    m.next = "CUT"
                with m.Elif(self.source.ready):
                    m.d.sync += idx.eq(idx + 1)
                    with m.If(idx + 1 == n):
                        m.d.sync += n.eq(0)
                        with m.If(closing):
                            m.next = "DELIM"
                        with m.Else():
                            m.next = "FILL"
            with m.State("DELIM"):
                m.d.comb += [self.source.valid.eq(1), self.source.payload.eq(0)]
                with m.If(self.abort):
                    m.next = "CUT"
                with m.Elif(self.source.ready):
                    m.d.comb += sent.eq(1)
                    start_frame()
                    m.next = "FILL"
            with m.State("LEAD"):
                m.d.comb += [self.source.valid.eq(1), self.source.payload.eq(0)]
                with m.If(self.abort):
                    m.next = "FILL"                 # nothing of the frame was taken yet
                with m.Elif(self.source.ready):
                    m.d.sync += need_delim.eq(0)
                    m.next = "FILL"
            with m.State("CUT"):                    # abort while sending a block
                m.d.sync += need_delim.eq(1)
                with m.If(mid_frame):
                    m.next = "DISCARD"
                with m.Else():
                    m.d.comb += dropped.eq(1)
                    start_frame()
                    m.next = "FILL"
            with m.State("DISCARD"):
                m.d.comb += self.sink.ready.eq(1)
                with m.If(self.sink.valid & self.sink.payload.last):
                    m.d.comb += dropped.eq(1)
                    start_frame()
                    m.next = "FILL"
        return m


class CobsDeframer(wiring.Component):
    """Line bytes -> good frames: COBS decode, CRC check, store and forward.

    Decoded bytes go into a ring buffer (``buffer_depth`` entries, the power of two above
    ``max_frame + 1``) as they arrive, held back by three bytes so that the two CRC bytes are
    never stored and the final payload byte can be written with ``last``. At the 0x00 delimiter
    the frame is checked, in this order (the first failing check names the counter):

    1. a byte with a UART framing error, or a COBS block cut short by the delimiter
       -> ``rx_framing``
    2. more than ``1 + max_frame + 2`` decoded bytes -> ``rx_oversize`` (bytes past the limit are
       not stored; the frame still ends only at a delimiter)
    3. fewer than 3 decoded bytes (no room for tag and CRC) -> ``rx_framing``
    4. the CRC-16 does not match -> ``rx_bad_crc``
    5. the ring buffer could not hold it (the consumer stalled) -> ``rx_overflow``

    A good frame is committed (made visible on ``source``) and counted in ``rx_frames``; any other
    is rolled back. Consecutive delimiters (empty frames) are ignored, not counted. Every byte is
    handled in one cycle and every frame state is reset by a delimiter, so garbage, breaks or a
    wrong baud rate cost at most the frames they touch: the deframer is in step again at the
    next 0x00.

    Members
    -------
    sink : In(stream.Signature(RxByte, always_ready=True))  bytes from the receiver
    source : Out(RX_FRAME_SIGNATURE)   good frames (tag + payload), ``bad`` always 0
    rx_frames, rx_bad_crc, rx_oversize, rx_framing, rx_overflow : Out(counter_width)
    """

    def __init__(self, max_frame=256, *, counter_width=16):
        self._MustUse__silence = True
        _check_max_frame(max_frame)
        _check_counter_width(counter_width)
        self._max_frame = max_frame
        self._depth = 1 << (max_frame + 1).bit_length()
        ptr_bits = self._depth.bit_length()         # address bits + 1 (full vs empty)
        # Ring pointers (created here so that the formal harness can name them)
        self._wr_ptr = Signal(ptr_bits, name="wr_ptr")  # next entry of the frame being received
        self._commit = Signal(ptr_bits, name="commit")  # end of the good frames
        self._rd_ptr = Signal(ptr_bits, name="rd_ptr")  # next entry to deliver
        super().__init__({
            "sink": In(stream.Signature(RxByte, always_ready=True)),
            "source": Out(RX_FRAME_SIGNATURE),
            **{name: Out(counter_width) for name in RX_COUNTERS},
        })
        self._MustUse__silence = False

    @property
    def max_frame(self):
        return self._max_frame

    @property
    def buffer_depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        limit = self._max_frame + 3                 # tag + payload + CRC
        depth = self._depth
        aw = depth.bit_length() - 1                 # address bits; pointers carry one more
        m.submodules.crc = crc_chk = CRC_ALGORITHM(data_width=8).create()
        m.submodules.ring = ring = Memory(shape=9, depth=depth, init=[])
        wr = ring.write_port()
        rd = ring.read_port(transparent_for=(wr,))

        wr_ptr, commit, rd_ptr = self._wr_ptr, self._commit, self._rd_ptr

        # COBS decoder state
        in_frame = Signal()                         # bytes seen since the last delimiter
        remaining = Signal(8)                       # data bytes left in this block (0: code next)
        implied_zero = Signal()                     # this block ends in a zero (code < 0xFF)
        length = Signal(range(limit + 2))           # decoded bytes, saturating at limit + 1
        poison = Signal()                           # UART framing error in this frame
        overflow = Signal()                         # the ring was full
        held = Signal(range(4))                     # bytes in the delay line below
        pend, h1, h2 = Signal(8), Signal(8), Signal(8)

        byte = self.sink.payload
        delim = Signal()
        emit = Signal()
        decoded = Signal(8)
        m.d.comb += delim.eq(self.sink.valid & ~byte.error & (byte.data == 0))
        with m.If(self.sink.valid & ~delim):
            m.d.sync += in_frame.eq(1)
            with m.If(byte.error):
                m.d.sync += poison.eq(1)
            with m.Elif(remaining == 0):            # a code byte
                m.d.sync += [remaining.eq(byte.data - 1), implied_zero.eq(byte.data != 0xFF)]
                m.d.comb += [emit.eq(in_frame & implied_zero), decoded.eq(0)]
            with m.Else():
                m.d.sync += remaining.eq(remaining - 1)
                m.d.comb += [emit.eq(1), decoded.eq(byte.data)]

        fill = Signal(aw + 1)
        room = Signal()
        m.d.comb += [fill.eq(wr_ptr - rd_ptr), room.eq(fill != depth)]
        m.d.comb += [crc_chk.data.eq(decoded), crc_chk.valid.eq(emit),
                     crc_chk.start.eq(delim)]
        store = Signal()
        with m.If(emit):
            with m.If(length <= limit):
                m.d.sync += length.eq(length + 1)
            m.d.sync += [pend.eq(h1), h1.eq(h2), h2.eq(decoded)]
            with m.If(held != 3):
                m.d.sync += held.eq(held + 1)
            with m.Elif(~overflow & (length < limit)):   # the held byte is tag or payload
                with m.If(room):
                    m.d.comb += store.eq(1)
                with m.Else():
                    m.d.sync += overflow.eq(1)

        good = Signal()
        bad_framing = Signal()
        bad_size = Signal()
        bad_crc = Signal()
        bad_room = Signal()
        with m.If(delim & in_frame):
            with m.If(poison | (remaining != 0)):
                m.d.comb += bad_framing.eq(1)
            with m.Elif(length > limit):
                m.d.comb += bad_size.eq(1)
            with m.Elif(length < 3):
                m.d.comb += bad_framing.eq(1)
            with m.Elif(~crc_chk.match_detected):
                m.d.comb += bad_crc.eq(1)
            with m.Elif(overflow | ~room):
                m.d.comb += bad_room.eq(1)
            with m.Else():
                m.d.comb += good.eq(1)
        with m.If(delim):
            m.d.sync += [in_frame.eq(0), remaining.eq(0), implied_zero.eq(0), length.eq(0),
                         poison.eq(0), overflow.eq(0), held.eq(0)]
            with m.If(~good):
                m.d.sync += wr_ptr.eq(commit)       # roll the frame back
        m.d.comb += [wr.addr.eq(wr_ptr[:aw]), wr.en.eq(store | good),
                     wr.data.eq(Cat(pend, good))]
        with m.If(store):
            m.d.sync += wr_ptr.eq(wr_ptr + 1)
        with m.If(good):
            m.d.sync += [wr_ptr.eq(wr_ptr + 1), commit.eq(wr_ptr + 1)]

        _count(m, self.rx_frames, good)
        _count(m, self.rx_framing, bad_framing)
        _count(m, self.rx_oversize, bad_size)
        _count(m, self.rx_bad_crc, bad_crc)
        _count(m, self.rx_overflow, bad_room)

        # Delivery: the read port runs one entry ahead (transparent, so an entry written this
        # cycle is read correctly), the stream shows the entry at rd_ptr.
        take = Signal()
        m.d.comb += [
            self.source.valid.eq(rd_ptr != commit),
            take.eq(self.source.valid & self.source.ready),
            rd.addr.eq((rd_ptr + take)[:aw]),
            rd.en.eq(1),
            self.source.payload.data.eq(rd.data[:8]),
            self.source.payload.last.eq(rd.data[8]),
            self.source.payload.bad.eq(0),
        ]
        with m.If(take):
            m.d.sync += rd_ptr.eq(rd_ptr + 1)
        return m


class UartPhy(wiring.Component):
    """UART PHY of the NIC gate: 8N1 at ``baud``, COBS frames with CRC-16, store and forward.

    Transmit: frames on ``tx`` go out on ``line_tx`` as ``COBS(frame + CRC) 00``
    (:class:`CobsFramer` then :class:`~guillotine.hdl.uart.UartTx`). ``tx_enable`` low holds
    ``line_tx`` high (idle) combinationally, in the same cycle, whatever the transmitter does;
    it also resets the transmitter (a byte on the wire is cut, the far end sees a truncated
    frame and drops it) and makes the framer discard: the frame in flight is cut and the rest of
    it, and every frame offered while ``tx_enable`` is low, is taken from ``tx`` and thrown away
    (``tx_dropped``), so the gate never stalls on a severed link. When ``tx_enable`` rises again the next frame is
    preceded by a 0x00 delimiter so the far end is in step. ``tx_enable`` resets to 0 in a
    design that leaves it unconnected: nothing is sent until it is driven high.

    Receive: ``line_rx`` (asynchronous; synchronised inside) -> :class:`~guillotine.hdl.uart.UartRx`
    -> :class:`CobsDeframer`; only frames with a good CRC reach ``rx``.

    Members
    -------
    tx : In(TX_FRAME_SIGNATURE)    frames to send (tag + payload, ``last`` on the final byte)
    rx : Out(RX_FRAME_SIGNATURE)   good frames received (``bad`` always 0)
    line_tx : Out(1)               serial output, idle high
    line_rx : In(1)                serial input, idle high
    tx_enable : In(1)              0: transmit line held idle and frames discarded
    tx_frames, tx_dropped : Out(counter_width)
    rx_frames, rx_bad_crc, rx_oversize, rx_framing, rx_overflow : Out(counter_width)
        saturating event counters (see :class:`CobsDeframer` for the receive checks)
    """

    def __init__(self, clk_hz, baud, max_frame=256, *, counter_width=16):
        self._MustUse__silence = True
        self._divisor = uart_divisor(clk_hz, baud)
        if self._divisor < 4:
            raise GuillotineError(f"baud {baud} is too fast for the UART receiver at "
                                  f"{clk_hz / 1e6:g} MHz (needs at least 4 cycles per bit)")
        _check_max_frame(max_frame)
        _check_counter_width(counter_width)
        self._clk_hz, self._baud, self._max_frame = clk_hz, baud, max_frame
        self._counter_width = counter_width
        super().__init__({
            "tx": In(TX_FRAME_SIGNATURE), "rx": Out(RX_FRAME_SIGNATURE),
            "line_tx": Out(1, init=1), "line_rx": In(1, init=1), "tx_enable": In(1),
            **{name: Out(counter_width) for name in TX_COUNTERS + RX_COUNTERS},
        })
        self._MustUse__silence = False

    @property
    def divisor(self):
        """Clock cycles per bit."""
        return self._divisor

    @property
    def baud(self):
        return self._baud

    @property
    def clk_hz(self):
        return self._clk_hz

    @property
    def max_frame(self):
        return self._max_frame

    def elaborate(self, platform):
        m = Module()
        m.submodules.framer = framer = CobsFramer(self._max_frame,
                                                  counter_width=self._counter_width)
        m.submodules.uart_tx = uart_tx = ResetInserter(~self.tx_enable)(UartTx(self._divisor))
        m.submodules.uart_rx = uart_rx = UartRx(self._divisor)
        m.submodules.deframer = deframer = CobsDeframer(self._max_frame,
                                                        counter_width=self._counter_width)
        wiring.connect(m, wiring.flipped(self.tx), framer.sink)
        wiring.connect(m, deframer.source, wiring.flipped(self.rx))
        m.d.comb += [
            framer.abort.eq(~self.tx_enable),
            uart_tx.data.eq(framer.source.payload),
            uart_tx.valid.eq(framer.source.valid),
            framer.source.ready.eq(uart_tx.ready),
            self.line_tx.eq(uart_tx.tx | ~self.tx_enable),
            uart_rx.rx.eq(self.line_rx),
            deframer.sink.payload.data.eq(uart_rx.data),
            deframer.sink.payload.error.eq(uart_rx.error),
            deframer.sink.valid.eq(uart_rx.valid),
        ]
        for name in TX_COUNTERS:
            m.d.comb += getattr(self, name).eq(getattr(framer, name))
        for name in RX_COUNTERS:
            m.d.comb += getattr(self, name).eq(getattr(deframer, name))
        return m


class CobsDeframerProperties(wiring.Component):
    """Formal harness: a :class:`CobsDeframer` with free input bytes and a free consumer.

    Properties (k-induction, so for every input sequence and all time):
    - PHY.RX.STREAM: ``source`` keeps the stream rules: once ``valid`` is shown it stays until
      taken and ``payload`` does not change meanwhile; ``bad`` is never set.
    - PHY.RX.RING: the receiver never writes over an undelivered entry: entries in the ring
      (``wr_ptr - rd_ptr``) never exceed its depth and committed ones never exceed those.
    """

    def __init__(self, max_frame=4):
        self.deframer = CobsDeframer(max_frame)
        super().__init__({"byte_valid": In(1), "byte": In(RxByte),
                          "source": Out(RX_FRAME_SIGNATURE)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.deframer = dut = self.deframer
        m.d.comb += [dut.sink.valid.eq(self.byte_valid), dut.sink.payload.eq(self.byte)]
        wiring.connect(m, dut.source, wiring.flipped(self.source))
        m.d.comb += Assume(~ResetSignal())
        past_valid = Signal()
        stalled = Signal()
        prev_payload = Signal.like(dut.source.payload.as_value())
        m.d.sync += [past_valid.eq(1), stalled.eq(dut.source.valid & ~dut.source.ready),
                     prev_payload.eq(dut.source.payload)]
        with m.If(past_valid & stalled):
            m.d.comb += [Assert(dut.source.valid),
                         Assert(dut.source.payload.as_value() == prev_payload)]
        m.d.comb += Assert(~dut.source.valid | ~dut.source.payload.bad)
        width = len(dut._wr_ptr)
        fill = Signal(width)
        committed = Signal(width)
        m.d.comb += [fill.eq(dut._wr_ptr - dut._rd_ptr), committed.eq(dut._commit - dut._rd_ptr),
                     Assert(fill <= dut.buffer_depth), Assert(committed <= fill),
                     Assert(dut.source.valid == (committed != 0))]
        return m


class UartPhyProperties(wiring.Component):
    """Formal harness: a :class:`UartPhy` with every input free.

    - PHY.TX.SEVER_IDLE: whenever ``tx_enable`` is low, ``line_tx`` is high (idle) in that same
      cycle, whatever state the framer and transmitter are in (the latch's SEVERANCE relies on
      it).
    """

    def __init__(self, divisor=4, max_frame=4):
        self.phy = UartPhy(divisor * 1000, 1000, max_frame)
        super().__init__(dict(self.phy.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.phy = phy = self.phy
        wiring.connect(m, wiring.flipped(self), phy)
        m.d.comb += Assert(self.tx_enable | self.line_tx)
        return m

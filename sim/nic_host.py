"""Host side of the NIC gate's UART PHY: encode frames for the line and decode what comes back.

    from guillotine.sim.nic_host import encode_frame, decode_stream
    line = encode_frame(1, b"hello")          # COBS(tag + payload + CRC-16) + b"\\x00"
    frames, stats = decode_stream(line)       # [(1, b"hello")], FrameStats(frames=1, ...)

:class:`SerialLink` wraps a pyserial port (a board's UART, or any pyserial URL such as
``loop://`` or ``socket://host:port``) for sending and receiving frames.

The line format and the receive checks are those of :mod:`guillotine.hdl.nic_phy` (and
docs/nic_phy.md); :class:`FrameDecoder` is also the reference model the hardware deframer is
tested against, so its counters follow the same rules in the same order. COBS comes from the
``cobs`` package, the CRC-16/CCITT-FALSE from ``crcmod``.
"""

from dataclasses import dataclass, field

import crcmod.predefined
from cobs import cobs

from guillotine import GuillotineError

__all__ = ["crc16", "encode_frame", "decode_stream", "FrameDecoder", "FrameStats",
           "DELIMITER", "CRC_NAME", "damaged_stream", "SerialLink"]

#: crcmod's name for the CRC the hardware uses (amaranth.lib.crc.catalog.CRC16_CCITT_FALSE).
CRC_NAME = "crc-ccitt-false"
DELIMITER = b"\x00"

crc16 = crcmod.predefined.mkCrcFun(CRC_NAME)
crc16.__doc__ = "CRC-16/CCITT-FALSE of ``data`` (poly 0x1021, init 0xFFFF, no reflection)."


def encode_frame(tag, payload=b"", *, max_frame=None):
    """``tag`` (0..255) and ``payload`` bytes -> ``COBS(tag + payload + crc16_be) + 00``."""
    if not isinstance(tag, int) or not 0 <= tag <= 255:
        raise GuillotineError(f"frame tag must be an integer 0..255, not {tag!r}")
    payload = bytes(payload)
    if max_frame is not None and len(payload) > max_frame:
        raise GuillotineError(f"frame payload is {len(payload)} bytes, more than max_frame "
                              f"{max_frame}")
    body = bytes([tag]) + payload
    return cobs.encode(body + crc16(body).to_bytes(2, "big")) + DELIMITER


@dataclass
class FrameStats:
    """Counters, named as the hardware's (see :data:`guillotine.hdl.nic_phy.RX_COUNTERS`)."""
    rx_frames: int = 0
    rx_bad_crc: int = 0
    rx_oversize: int = 0
    rx_framing: int = 0
    rx_overflow: int = 0        # never raised by the host decoder; kept for equal field sets

    def as_dict(self):
        return dict(self.__dict__)


@dataclass
class FrameDecoder:
    """Incremental decoder: :meth:`feed` line bytes, get the good frames as ``(tag, payload)``.

    Checks at each 0x00, first failing one counts: COBS error (or a byte marked as a UART framing
    error with :meth:`feed_error`) -> ``rx_framing``; more than ``1 + max_frame + 2`` decoded
    bytes -> ``rx_oversize``; fewer than 3 -> ``rx_framing``; wrong CRC -> ``rx_bad_crc``.
    Empty frames (consecutive delimiters) are ignored.
    """
    max_frame: int = 256
    stats: FrameStats = field(default_factory=FrameStats)
    _pending: bytearray = field(default_factory=bytearray)
    _poisoned: bool = False

    def feed(self, data):
        frames = []
        for byte in bytes(data):
            if byte:
                self._pending.append(byte)
                continue
            frame = self._end_frame()
            if frame is not None:
                frames.append(frame)
        return frames

    def feed_error(self):
        """A byte arrived with a UART framing error: the current frame will be dropped."""
        self._poisoned = True

    def _end_frame(self):
        encoded, poisoned = bytes(self._pending), self._poisoned
        self._pending.clear()
        self._poisoned = False
        if not encoded and not poisoned:
            return None
        try:
            if poisoned:
                raise cobs.DecodeError("UART framing error")
            decoded = cobs.decode(encoded)
        except cobs.DecodeError:
            self.stats.rx_framing += 1
            return None
        if len(decoded) > self.max_frame + 3:
            self.stats.rx_oversize += 1
        elif len(decoded) < 3:
            self.stats.rx_framing += 1
        elif crc16(decoded[:-2]) != int.from_bytes(decoded[-2:], "big"):
            self.stats.rx_bad_crc += 1
        else:
            self.stats.rx_frames += 1
            return decoded[0], decoded[1:-2]
        return None

    @property
    def pending(self):
        """Bytes received since the last delimiter (a frame not yet ended)."""
        return bytes(self._pending)


def decode_stream(data, *, max_frame=256):
    """Decode all complete frames in ``data``: ``(frames, stats)``; a trailing partial frame is
    left undecoded (it is not counted)."""
    decoder = FrameDecoder(max_frame)
    frames = decoder.feed(data)
    return frames, decoder.stats


def damaged_stream(rng, max_frame, count):
    """Test traffic: ``count`` pieces, a random mix of good frames, frames with a flipped bit,
    truncated frames, oversized frames, garbage and runs of delimiters, ending in a delimiter.

    Returns ``(line_bytes, good_frames_sent)``; what a receiver should make of it is what
    :class:`FrameDecoder` makes of it (garbage glued to a frame also costs that frame).
    """
    out, sent = bytearray(), []
    for _ in range(count):
        kind = rng.choice(["good", "good", "good", "flip", "trunc", "big", "garbage", "zeros"])
        tag = rng.randrange(256)
        payload = bytes(rng.randrange(256) for _ in range(rng.randrange(max_frame + 1)))
        frame = bytearray(encode_frame(tag, payload))
        if kind == "flip":
            i = rng.randrange(len(frame) - 1)
            frame[i] = frame[i] ^ (1 << rng.randrange(8)) or 0x55
        elif kind == "trunc":
            frame = frame[:rng.randrange(len(frame) - 1)] + DELIMITER
        elif kind == "big":
            size = max_frame + rng.randrange(1, 4)
            frame = bytearray(encode_frame(tag, bytes(rng.randrange(256) for _ in range(size))))
        elif kind == "garbage":
            frame = bytearray(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif kind == "zeros":
            frame = bytearray(rng.randrange(1, 3))
        else:
            sent.append((tag, payload))
        out += frame
    return bytes(out) + DELIMITER, sent


class SerialLink:
    """Frames over a pyserial port: ``send(tag, payload)``, ``receive()`` -> ``[(tag, payload)]``.

    ``port`` is a device (``/dev/ttyUSB1``) or a pyserial URL (``loop://``, ``socket://h:p``,
    ``rfc2217://...``). A 0x00 is sent on open so that the far end drops anything half-received.
    Usable as a context manager; bad frames from the far end are counted in ``stats``.
    """

    def __init__(self, port, baud=115200, *, max_frame=256, timeout=0.05):
        import serial

        try:
            self._port = serial.serial_for_url(port, baudrate=baud, timeout=timeout)
        except (serial.SerialException, ValueError) as exc:
            raise GuillotineError(f"cannot open serial port {port!r} at {baud} baud: {exc}") \
                from None
        self._decoder = FrameDecoder(max_frame)
        self.max_frame = max_frame
        self._port.write(DELIMITER)

    @property
    def stats(self):
        return self._decoder.stats

    def send(self, tag, payload=b""):
        self._port.write(encode_frame(tag, payload, max_frame=self.max_frame))
        self._port.flush()

    def receive(self):
        """Frames completed by the bytes that arrived so far (waits up to ``timeout`` for one)."""
        data = self._port.read(max(1, self._port.in_waiting))
        return self._decoder.feed(data)

    def close(self):
        self._port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

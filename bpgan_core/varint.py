"""Unsigned LEB128 varints, the integer encoding used throughout the bitstream."""
from __future__ import annotations

from .errors import CorruptStreamError, TruncatedStreamError


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as LEB128."""
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; returns (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise TruncatedStreamError("stream ends inside an integer field")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise CorruptStreamError("integer field longer than 64 bits")

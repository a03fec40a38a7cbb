"""Bitstream container v1: magic, version, JSON header, CRC-protected records, end marker.

See docs/bitstream.md for the byte layout. Records are written and read one at a time, so long
signals stream in and out with bounded memory.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator

from .errors import CorruptStreamError, TruncatedStreamError, UnsupportedVersionError
from .varint import decode_varint, encode_varint

MAGIC = b"BPGN"
VERSION = 1
MAX_HEADER_BYTES = 1 << 20
MAX_RECORD_BYTES = 1 << 30


@dataclass
class Header:
    """Everything a receiver needs besides the installed model to decode a stream."""

    modality: str
    model: str
    fingerprint: str
    latent_channels: int
    quantizer: dict[str, Any] = field(default_factory=dict)
    coder: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    _KEYS = {"modality": "mod", "model": "model", "fingerprint": "fp", "latent_channels": "lat",
             "quantizer": "q", "coder": "ec", "meta": "meta"}

    def to_bytes(self) -> bytes:
        """Compact, deterministic JSON encoding."""
        obj = {short: getattr(self, name) for name, short in self._KEYS.items()}
        return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Header":
        """Parse and validate a header; raises CorruptStreamError."""
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptStreamError(f"stream header is not valid JSON: {exc}") from exc
        if not isinstance(obj, dict) or set(obj) != set(cls._KEYS.values()):
            raise CorruptStreamError("stream header has missing or unknown fields")
        kwargs = {name: obj[short] for name, short in cls._KEYS.items()}
        types = {"modality": str, "model": str, "fingerprint": str, "latent_channels": int,
                 "quantizer": dict, "coder": dict, "meta": dict}
        for name, kind in types.items():
            if not isinstance(kwargs[name], kind) or isinstance(kwargs[name], bool):
                raise CorruptStreamError(f"stream header field {name!r} has the wrong type")
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """Readable form for ``bpgan info``."""
        return {name: getattr(self, name) for name in self._KEYS}


def _crc(data: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)


class ContainerWriter:
    """Writes a v1 container to a binary file object, record by record."""

    def __init__(self, out: BinaryIO, header: Header) -> None:
        self._out = out
        head = header.to_bytes()
        if len(head) > MAX_HEADER_BYTES:
            raise ValueError("stream header too large")
        prefix = MAGIC + bytes([VERSION]) + encode_varint(len(head)) + head
        out.write(prefix + _crc(prefix))
        self._closed = False

    def write_record(self, payload: bytes) -> None:
        """Append one non-empty record."""
        if not payload:
            raise ValueError("records must not be empty (a zero length marks the end)")
        length = encode_varint(len(payload))
        self._out.write(length + payload + _crc(length + payload))

    def close(self) -> None:
        """Write the end marker."""
        if not self._closed:
            self._out.write(b"\x00")
            self._closed = True


class ContainerReader:
    """Reads a v1 container from bytes, validating every part before it is used."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = memoryview(bytes(data))
        d = self._data
        if len(d) < len(MAGIC) + 2:
            if bytes(d) != MAGIC[: len(d)]:
                raise CorruptStreamError("not a bpgan stream (bad magic)")
            raise TruncatedStreamError("stream too short to hold a bpgan header")
        if bytes(d[:4]) != MAGIC:
            raise CorruptStreamError("not a bpgan stream (bad magic)")
        if d[4] != VERSION:
            raise UnsupportedVersionError(
                f"stream uses container version {d[4]}, this bpgan reads version {VERSION}: "
                "upgrade bpgan to decode it"
            )
        size, pos = decode_varint(d, 5)
        if size > MAX_HEADER_BYTES:
            raise CorruptStreamError("stream header length is implausible")
        end = pos + size
        if end + 4 > len(d):
            raise TruncatedStreamError("stream ends inside its header")
        if bytes(d[end:end + 4]) != _crc(bytes(d[:end])):
            raise CorruptStreamError("stream header checksum mismatch")
        self.header = Header.from_bytes(bytes(d[pos:end]))
        self._start = end + 4

    def records(self) -> Iterator[bytes]:
        """Yield record payloads in order; raises on truncation, corruption or trailing data."""
        d, pos = self._data, self._start
        while True:
            size, body = decode_varint(d, pos)
            if size == 0:
                if body != len(d):
                    raise CorruptStreamError(f"{len(d) - body} unexpected bytes after the end of the stream")
                return
            if size > MAX_RECORD_BYTES:
                raise CorruptStreamError("record length is implausible")
            end = body + size
            if end + 4 > len(d):
                raise TruncatedStreamError("stream ends inside a record")
            if bytes(d[end:end + 4]) != _crc(bytes(d[pos:end])):
                raise CorruptStreamError("record checksum mismatch")
            yield bytes(d[body:end])
            pos = end + 4

"""Bitstream container v2: magic, version, binary header, CRC-protected records, end marker.

See docs/bitstream.md for the byte layout. Version 2 has version 1's layout; an empty quantizer
or coder name in it means "the model's own" (pinned by the fingerprint), which saves the names in
every stream. Both versions are read. Records are written and read one at a time, so long
signals stream in and out with bounded memory.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Iterator

from .errors import CorruptStreamError, TruncatedStreamError, UnsupportedVersionError
from .varint import decode_varint, encode_varint

MAGIC = b"BPGN"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_HEADER_BYTES = 1 << 20
MAX_RECORD_BYTES = 1 << 30


@dataclass
class Header:
    """Everything a receiver needs besides the installed model to decode a stream.

    ``quantizer`` and ``coder`` hold a name plus only the parameters that differ from the model's
    own; without a ``name`` (written as an empty name) they are the model's own quantizer and coder.
    ``fingerprint`` is 16 hex digits (stored as 8 bytes).
    """

    modality: str
    model: str
    fingerprint: str
    latent_channels: int
    quantizer: dict[str, Any] = field(default_factory=dict)
    coder: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Compact binary encoding: strings and JSON blocks prefixed by varint lengths."""
        try:
            fp = bytes.fromhex(self.fingerprint)
        except ValueError:
            fp = b""
        if len(fp) != 8:
            raise ValueError("fingerprint must be 16 hex digits")
        q_params = {k: v for k, v in self.quantizer.items() if k != "name"}
        c_params = {k: v for k, v in self.coder.items() if k != "name"}
        parts = [_text(self.modality), _text(self.model), fp, encode_varint(self.latent_channels),
                 _text(str(self.quantizer.get("name", ""))), _json(q_params),
                 _text(str(self.coder.get("name", ""))), _json(c_params), _json(self.meta)]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Header":
        """Parse and validate a header; raises BitstreamError subclasses."""
        pos = 0
        modality, pos = _read_text(data, pos)
        model, pos = _read_text(data, pos)
        if pos + 8 > len(data):
            raise TruncatedStreamError("stream header ends inside the fingerprint")
        fingerprint, pos = bytes(data[pos:pos + 8]).hex(), pos + 8
        channels, pos = decode_varint(data, pos)
        q_name, pos = _read_text(data, pos)
        q_params, pos = _read_json(data, pos)
        c_name, pos = _read_text(data, pos)
        c_params, pos = _read_json(data, pos)
        meta, pos = _read_json(data, pos)
        if pos != len(data):
            raise CorruptStreamError("stream header has unexpected trailing bytes")
        return cls(modality, model, fingerprint, channels, {**_named(q_name), **q_params},
                   {**_named(c_name), **c_params}, meta)

    def as_dict(self) -> dict[str, Any]:
        """Readable form for ``bpgan info``."""
        return asdict(self)


def _names_both(header: Header) -> bool:
    """Whether the header names its quantizer and its coder (required in version 1)."""
    return bool(header.quantizer.get("name") and header.coder.get("name"))


def _named(name: str) -> dict[str, str]:
    return {"name": name} if name else {}


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return encode_varint(len(raw)) + raw


def _json(obj: dict[str, Any]) -> bytes:
    return _text(json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False) if obj else "")


def _read_text(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = decode_varint(data, pos)
    if pos + size > len(data):
        raise TruncatedStreamError("stream header ends inside a field")
    try:
        return bytes(data[pos:pos + size]).decode("utf-8"), pos + size
    except UnicodeDecodeError as exc:
        raise CorruptStreamError("stream header holds invalid text") from exc


def _read_json(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    text, pos = _read_text(data, pos)
    if not text:
        return {}, pos
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise CorruptStreamError(f"stream header holds invalid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise CorruptStreamError("stream header JSON block is not an object")
    return obj, pos


def _crc(data: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)


class ContainerWriter:
    """Writes a container (version 2, or 1 for old readers) to a binary file object, record by record."""

    def __init__(self, out: BinaryIO, header: Header, version: int = VERSION) -> None:
        if version not in READABLE_VERSIONS:
            raise ValueError(f"container version must be one of {READABLE_VERSIONS}")
        if version == 1 and not _names_both(header):
            raise ValueError("container version 1 needs the quantizer and coder named in the header")
        self._out = out
        head = header.to_bytes()
        if len(head) > MAX_HEADER_BYTES:
            raise ValueError("stream header too large")
        prefix = MAGIC + bytes([version]) + encode_varint(len(head)) + head
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
    """Reads a version 1 or 2 container from bytes, validating every part before it is used."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = memoryview(bytes(data))
        d = self._data
        if len(d) < len(MAGIC) + 2:
            if bytes(d) != MAGIC[: len(d)]:
                raise CorruptStreamError("not a bpgan stream (bad magic)")
            raise TruncatedStreamError("stream too short to hold a bpgan header")
        if bytes(d[:4]) != MAGIC:
            raise CorruptStreamError("not a bpgan stream (bad magic)")
        if d[4] not in READABLE_VERSIONS:
            raise UnsupportedVersionError(
                f"stream uses container version {d[4]}, this bpgan reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}: upgrade bpgan to decode it"
            )
        self.version = int(d[4])
        size, pos = decode_varint(d, 5)
        if size > MAX_HEADER_BYTES:
            raise CorruptStreamError("stream header length is implausible")
        end = pos + size
        if end + 4 > len(d):
            raise TruncatedStreamError("stream ends inside its header")
        if bytes(d[end:end + 4]) != _crc(bytes(d[:end])):
            raise CorruptStreamError("stream header checksum mismatch")
        self.header = Header.from_bytes(bytes(d[pos:end]))
        if self.version == 1 and not _names_both(self.header):
            raise CorruptStreamError("container version 1 header lacks the quantizer or coder name")
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

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpgan_core.bitstream import MAGIC, ContainerReader, ContainerWriter, Header
from bpgan_core.testing.strategies import headers, record_payloads as payloads
from bpgan_core.errors import BitstreamError, CorruptStreamError, TruncatedStreamError, UnsupportedVersionError


def write(header: Header, records: list[bytes]) -> bytes:
    buf = io.BytesIO()
    w = ContainerWriter(buf, header)
    for r in records:
        w.write_record(r)
    w.close()
    return buf.getvalue()


def read_all(blob: bytes) -> tuple[Header, list[bytes]]:
    r = ContainerReader(blob)
    return r.header, list(r.records())


@settings(max_examples=80, deadline=None)
@given(headers, payloads)
def test_container_round_trip(header, records):
    blob = write(header, records)
    assert blob.startswith(MAGIC)
    h, recs = read_all(blob)
    assert h == header
    assert recs == records


@settings(max_examples=80, deadline=None)
@given(headers, payloads, st.data())
def test_every_truncation_raises(header, records, data):
    blob = write(header, records)
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(BitstreamError):
        read_all(blob[:cut])


@settings(max_examples=120, deadline=None)
@given(headers, payloads, st.data())
def test_every_corruption_raises(header, records, data):
    blob = bytearray(write(header, records))
    pos = data.draw(st.integers(0, len(blob) - 1))
    blob[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(BitstreamError):
        read_all(bytes(blob))


def test_trailing_bytes_raise():
    blob = write(Header("m", "id", "00" * 8, 1), [b"abc"])
    with pytest.raises(CorruptStreamError, match="unexpected bytes"):
        read_all(blob + b"\x00")


def test_unknown_version_raises_a_clear_error():
    blob = bytearray(write(Header("m", "id", "00" * 8, 1), [b"abc"]))
    blob[4] = 9
    with pytest.raises(UnsupportedVersionError, match="version 9"):
        read_all(bytes(blob))


def test_not_a_stream():
    with pytest.raises(CorruptStreamError, match="magic"):
        read_all(b"RIFF....WAVEfmt ")
    with pytest.raises(TruncatedStreamError):
        read_all(MAGIC[:2])


def test_version_1_streams_still_read():
    header = Header("m", "id", "00" * 8, 1, {"name": "scalar"}, {"name": "range"}, {"n": 3})
    buf = io.BytesIO()
    w = ContainerWriter(buf, header, version=1)
    w.write_record(b"abc")
    w.close()
    reader = ContainerReader(buf.getvalue())
    assert reader.version == 1 and reader.header == header and list(reader.records()) == [b"abc"]
    with pytest.raises(ValueError, match="version 1 needs"):
        ContainerWriter(io.BytesIO(), Header("m", "id", "00" * 8, 1), version=1)


def test_version_1_header_without_names_is_corrupt():
    """A version-1 stream may not leave the names out (version byte changed, header CRC recomputed)."""
    blob = bytearray(write(Header("m", "id", "00" * 8, 1), [b"abc"]))
    blob[4] = 1
    head_end = 6 + blob[5]  # magic, version, one-byte header length, header
    blob[head_end:head_end + 4] = struct.pack("<I", zlib.crc32(bytes(blob[:head_end])))
    with pytest.raises(CorruptStreamError, match="lacks the quantizer"):
        ContainerReader(bytes(blob))


def test_header_overhead_is_small():
    h = Header("speech", "speech-16k-2kbps", "0123456789abcdef", 8, meta={"n": 48000})
    assert len(write(h, [])) <= 60  # 82 bytes in version 1 with the rate in the metadata

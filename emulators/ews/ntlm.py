"""Server side of NTLM over HTTP (MS-NLMP), enough for requests_ntlm/pyspnego clients.

The client's NEGOTIATE message gets a CHALLENGE (8 random bytes, target info with NetBIOS/DNS
names and a timestamp); its AUTHENTICATE message is checked as NTLMv2: ``NTProofStr`` must equal
``HMAC-MD5(NTOWFv2, server challenge ‖ blob)`` with ``NTOWFv2 = HMAC-MD5(MD4(UTF-16LE(password)),
UTF-16LE(upper(user) ‖ domain))``.  NTLMv1 answers are refused; MIC and session keys are not
checked (no signing or sealing over HTTP).  MD4 is written out here because OpenSSL 3 no longer
offers it.
"""

from __future__ import annotations

import hmac
import secrets
import struct
import time
from dataclasses import dataclass

__all__ = ["Authenticate", "challenge_message", "md4", "negotiate_flags", "parse_authenticate",
           "verify_v2"]

_SIGNATURE = b"NTLMSSP\x00"
_FLAGS = (0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000 | 0x00080000
          | 0x00800000 | 0x02000000 | 0x20000000 | 0x40000000 | 0x80000000)


def _rotl(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data: bytes) -> bytes:
    """MD4 (RFC 1320)."""
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):
            k, s = i, (3, 7, 11, 19)[i % 4]
            f = (b & c) | (~b & d)
            a, b, c, d = d, _rotl(a + f + x[k], s), b, c
        for i in range(16):
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            g = (b & c) | (b & d) | (c & d)
            a, b, c, d = d, _rotl(a + g + x[k] + 0x5A827999, s), b, c
        for i in range(16):
            k = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i]
            s = (3, 9, 11, 15)[i % 4]
            h = b ^ c ^ d
            a, b, c, d = d, _rotl(a + h + x[k] + 0x6ED9EBA1, s), b, c
        a, b, c, d = ((a + aa) & 0xFFFFFFFF, (b + bb) & 0xFFFFFFFF, (c + cc) & 0xFFFFFFFF,
                      (d + dd) & 0xFFFFFFFF)
    return struct.pack("<4I", a, b, c, d)


def _av(av_id: int, value: bytes) -> bytes:
    return struct.pack("<HH", av_id, len(value)) + value


def challenge_message(domain: str, computer: str, dns_domain: str,
                      client_flags: int) -> tuple[bytes, bytes]:
    """A CHALLENGE message for the client's NEGOTIATE flags: (message, server challenge)."""
    server_challenge = secrets.token_bytes(8)
    filetime = int((time.time() + 11644473600) * 10_000_000)
    info = (_av(2, domain.encode("utf-16-le")) + _av(1, computer.encode("utf-16-le"))
            + _av(4, dns_domain.encode("utf-16-le"))
            + _av(3, f"{computer.lower()}.{dns_domain}".encode("utf-16-le"))
            + _av(7, struct.pack("<Q", filetime)) + _av(0, b""))
    target = domain.encode("utf-16-le")
    flags = (client_flags & _FLAGS) | 0x00000001 | 0x00000200 | 0x00010000 | 0x00800000
    header_len = 56
    message = (_SIGNATURE + struct.pack("<I", 2)
               + struct.pack("<HHI", len(target), len(target), header_len)
               + struct.pack("<I", flags) + server_challenge + b"\x00" * 8
               + struct.pack("<HHI", len(info), len(info), header_len + len(target))
               + bytes([10, 0]) + struct.pack("<H", 17763) + b"\x00\x00\x00\x0f"
               + target + info)
    return message, server_challenge


def negotiate_flags(message: bytes) -> int | None:
    """The flags of a NEGOTIATE message, ``None`` when it is not one."""
    if len(message) < 16 or not message.startswith(_SIGNATURE) or message[8:12] != b"\x01\0\0\0":
        return None
    flags: int = struct.unpack("<I", message[12:16])[0]
    return flags


@dataclass(frozen=True)
class Authenticate:
    """The parts of an AUTHENTICATE message the check needs."""

    user: str
    domain: str
    nt_response: bytes


def parse_authenticate(message: bytes) -> Authenticate | None:
    """Parse an AUTHENTICATE message; ``None`` when it is not one."""
    if len(message) < 64 or not message.startswith(_SIGNATURE) or message[8:12] != b"\x03\0\0\0":
        return None

    def field(offset: int) -> bytes:
        length, _, start = struct.unpack("<HHI", message[offset:offset + 8])
        return message[start:start + length]

    flags = struct.unpack("<I", message[60:64])[0]
    codec = "utf-16-le" if flags & 1 else "cp437"
    try:
        return Authenticate(field(36).decode(codec), field(28).decode(codec), field(20))
    except UnicodeDecodeError:
        return None


def verify_v2(auth: Authenticate, password: str, server_challenge: bytes) -> bool:
    """Whether the NTLMv2 response proves ``password``."""
    if len(auth.nt_response) <= 24:
        return False
    nt_hash = md4(password.encode("utf-16-le"))
    key = hmac.new(nt_hash, (auth.user.upper() + auth.domain).encode("utf-16-le"),
                   "md5").digest()
    proof = hmac.new(key, server_challenge + auth.nt_response[16:], "md5").digest()
    return hmac.compare_digest(proof, auth.nt_response[:16])

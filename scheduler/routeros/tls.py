"""api-ssl (8729): certificate verification, or a pinned self-signed certificate, or none (ADH).

RouterOS serves api-ssl with a certificate, or without one using anonymous Diffie-Hellman. A router
with a self-signed certificate is trusted by pinning its SHA-256 fingerprint instead of a CA.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import ssl
from collections.abc import Callable


class FingerprintMismatch(ssl.SSLError):
    """The router presented a certificate other than the pinned one."""


def normalise_fingerprint(text: str) -> str:
    """'AB:cd:…' or 'abcd…' → lower-case hex without separators."""
    return text.replace(":", "").replace(" ", "").strip().lower()


def certificate_fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate as colon-separated upper-case hex."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def client_context(*, verify: bool, pinned: bool) -> ssl.SSLContext:
    """The client side of api-ssl: CA verification, or none for pinning and for ADH routers."""
    if verify and not pinned:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if not pinned:
        # A router without a certificate only speaks anonymous DH; allow it when not verifying.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def wrapper(
    host: str, *, verify: bool, fingerprint: str | None
) -> Callable[[socket.socket], socket.socket]:
    """A librouteros `ssl_wrapper` that does the handshake and checks the pin, if any."""
    context = client_context(verify=verify, pinned=bool(fingerprint))
    expected = normalise_fingerprint(fingerprint) if fingerprint else None

    def wrap(sock: socket.socket) -> socket.socket:
        wrapped = context.wrap_socket(
            sock, server_hostname=host if context.check_hostname else None
        )
        if expected is not None:
            _check_pin(wrapped, expected)
        return wrapped

    return wrap


def _check_pin(sock: ssl.SSLSocket, expected: str) -> None:
    der = sock.getpeercert(binary_form=True)
    actual = hashlib.sha256(der).hexdigest() if der else ""
    if not hmac.compare_digest(actual, expected):
        sock.close()
        shown = certificate_fingerprint(der) if der else "no certificate"
        raise FingerprintMismatch(f"certificate fingerprint {shown} is not the pinned one")

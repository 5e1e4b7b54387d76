"""api-ssl: a server TLS context with a fresh self-signed certificate, or anonymous DH."""

from __future__ import annotations

import datetime
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# RFC 7919 ffdhe3072: a published group, so no slow parameter generation at start-up.
FFDHE3072 = b"""-----BEGIN DH PARAMETERS-----
MIIBjAKCAYEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEfz9zeNVs7ZRkDW7w09N75nAI4YbRvydbmyQd62R0mkff3
7lmMsPrBhtkcrv4TCYUTknC0EwyTvEN5RPT9RFLi103TZPLiHnH1S/9croKrnJ32
nuhtK8UiNjoNq8Uhl5sN6todv5pC1cRITgq80Gv6U93vPBsg7j/VnXwl5B0rZsYu
N///////////AgECAgIBFA==
-----END DH PARAMETERS-----
"""


def self_signed_pem(common_name: str) -> tuple[bytes, bytes]:
    """A new EC key and a self-signed certificate for it, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context(mode: str, common_name: str = "MikroTik") -> tuple[ssl.SSLContext, bytes | None]:
    """TLS context for mode "cert" (returns the certificate PEM too) or "adh" (anonymous DH)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if mode == "adh":
        # Anonymous DH exists only up to TLS 1.2 and below OpenSSL security level 1.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ADH:AECDH:@SECLEVEL=0")
        with _temporary(FFDHE3072) as params:
            context.load_dh_params(params)
        return context, None
    if mode != "cert":
        raise ValueError(f"unknown TLS mode {mode!r} (cert or adh)")
    cert_pem, key_pem = self_signed_pem(common_name)
    with _temporary(cert_pem) as cert_file, _temporary(key_pem) as key_file:
        context.load_cert_chain(cert_file, key_file)
    return context, cert_pem


class _temporary:
    """A PEM written to a temporary file for the ssl module, removed afterwards."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._path: Path | None = None

    def __enter__(self) -> str:
        with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
            handle.write(self._data)
            self._path = Path(handle.name)
        return str(self._path)

    def __exit__(self, *exc: object) -> None:
        if self._path is not None:
            self._path.unlink(missing_ok=True)

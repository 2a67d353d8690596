"""Fake Bot Framework and Entra ID token services on loopback, reached at their real names.

With MICROSOFT_APP_ID set, botbuilder talks to two identity services over HTTPS:

- **Inbound**: it validates each request's bearer token with the signing keys listed at
  `https://login.botframework.com/v1/.well-known/openidconfiguration` (its `jwks_uri`).
- **Outbound**: it asks Entra ID for a token (client credentials) before every call to
  the Bot Connector, through msal at `https://login.microsoftonline.com/botframework.com`.

Both go through `requests`, which honours `HTTPS_PROXY` and `REQUESTS_CA_BUNDLE`. So this
fake is the far side of the network boundary, nothing in between is patched:

- an HTTPS aiohttp server on 127.0.0.1 with a certificate for both host names, signed by
  a throw-away CA that the test trusts through `REQUESTS_CA_BUNDLE`; it serves the OpenID
  metadata, the JWKS with the test's signing key, msal's tenant discovery and the token
  endpoint (recording each token request);
- a CONNECT proxy on 127.0.0.1 (`HTTPS_PROXY`) that tunnels those two host names to that
  server and refuses (and records) any other, so a test also proves that nothing tried to
  reach another host.

Both run in threads with their own event loop, because botbuilder fetches the metadata and
msal fetches tokens with blocking `requests` calls on the bot's event loop: a server on
that same loop could never answer them.

`token()` signs a Bot Framework token (RS256) with the published key, or with any other
key, issuer, audience, service URL or expiry a test wants to try.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import selectors
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwt.algorithms import RSAAlgorithm

BOT_FRAMEWORK_HOST = "login.botframework.com"
ENTRA_HOST = "login.microsoftonline.com"
HOSTS = (BOT_FRAMEWORK_HOST, ENTRA_HOST)
ISSUER = "https://api.botframework.com"  # the issuer of tokens Teams sends to bots
KEY_ID = "strategy-bot-test-key"
JWKS_URI = f"https://{BOT_FRAMEWORK_HOST}/v1/.well-known/keys"
TOKEN_URI = f"https://{ENTRA_HOST}/botframework.com/oauth2/v2.0/token"


def signing_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key for RS256 tokens."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for `HOSTS`; returns (ca, cert, key) PEMs."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strategy-bot test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTS[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class _Tunnel(socketserver.BaseRequestHandler):
    """One CONNECT: check the host, answer 200, then copy bytes both ways until one closes."""

    server: _Proxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        method, _, rest = head.decode("latin-1").partition(" ")
        target = rest.partition(" ")[0]
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host not in HOSTS or port != "443":
            self.server.refused.append(f"{method} {target}")
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.tunnelled.append(host)
        with socket.create_connection(("127.0.0.1", self.server.upstream_port)) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(self.request, upstream)

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while not self.server.closing.is_set():
                for key, _ in selector.select(timeout=0.2):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    key.data.sendall(data)


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port: int) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.upstream_port = upstream_port
        self.tunnelled: list[str] = []
        self.refused: list[str] = []
        self.closing = threading.Event()


@dataclass
class FakeBotIdentity:
    """The fake identity services; `start()` them, then set `environment()` on the process.

    Attributes:
        key: the signing key published in the JWKS (tokens signed with it are genuine).
        endorsements: the channels the published key is endorsed for.
        metadata_status: the HTTP status of the OpenID metadata (500: it is down).
        token_requests: the form of every token request msal made.
    """

    folder: Path
    key: rsa.RSAPrivateKey = field(default_factory=signing_key)
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    metadata_status: int = 200
    token_requests: list[dict[str, str]] = field(default_factory=list)
    metadata_requests: int = 0
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _proxy: _Proxy | None = None
    _proxy_thread: threading.Thread | None = None
    ca_file: Path | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Serve HTTPS and the proxy on loopback (each in its own thread)."""
        self.ca_file, cert, key = _tls_files(self.folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._serve(context), self._loop).result(10)
        self._proxy = _Proxy(port)
        self._proxy_thread = threading.Thread(target=self._proxy.serve_forever, daemon=True)
        self._proxy_thread.start()

    def stop(self) -> None:
        """Close the proxy's tunnels, then the HTTPS server, then their threads."""
        if self._proxy is not None and self._proxy_thread is not None:
            self._proxy.closing.set()
            self._proxy.shutdown()
            self._proxy.server_close()
            self._proxy_thread.join(10)
        if self._loop is not None and self._thread is not None:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def environment(self) -> dict[str, str]:
        """What the process needs to reach these services: the proxy and the CA."""
        assert self._proxy is not None and self.ca_file is not None, "start() first"
        proxy = f"http://127.0.0.1:{self._proxy.server_address[1]}"
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    @property
    def refused(self) -> list[str]:
        """CONNECTs to any other host (there should be none)."""
        return list(self._proxy.refused) if self._proxy else []

    # -- tokens ---------------------------------------------------------------------------

    def token(
        self,
        *,
        audience: str,
        service_url: str,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str = KEY_ID,
        issuer: str = ISSUER,
        lifetime: float = 3600,
        issued: float | None = None,
    ) -> str:
        """A bearer token as the Bot Framework signs it for a bot (RS256).

        Args:
            audience: the bot's app id (`aud`).
            service_url: the `serviceurl` claim (must match the activity's `serviceUrl`).
            key: the signing key; the published one by default.
            key_id: the `kid` header.
            issuer: the `iss` claim.
            lifetime: seconds from `issued` to `exp`.
            issued: epoch seconds of `iat`/`nbf`; now by default.
        """
        at = time.time() if issued is None else issued
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "iat": int(at),
            "nbf": int(at),
            "exp": int(at + lifetime),
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": key_id})

    # -- the HTTPS server -----------------------------------------------------------------

    async def _serve(self, context: ssl.SSLContext) -> int:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_get("/botframework.com/v2.0/.well-known/openid-configuration", self._tenant)
        app.router.add_post("/botframework.com/oauth2/v2.0/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_requests += 1
        if self.metadata_status != 200:
            return web.json_response({"error": "unavailable"}, status=self.metadata_status)
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": JWKS_URI,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=KEY_ID, use="sig", endorsements=self.endorsements)
        return web.json_response({"keys": [jwk]})

    async def _tenant(self, request: web.Request) -> web.Response:
        base = f"https://{ENTRA_HOST}/botframework.com"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": TOKEN_URI,
                "jwks_uri": f"{base}/discovery/v2.0/keys",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": f"fake-entra-token-{next(self._tokens)}",
            }
        )

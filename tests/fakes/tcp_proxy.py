"""A loopback TCP proxy that can be cut: a database outage without stopping the database.

The process under test connects to the proxy instead of the server (PostgreSQL at
127.0.0.1:5432). `cut()` closes every connection it carries and stops listening, so new
connections are refused (ECONNREFUSED), exactly what a client sees when the database host
goes away; `restore()` listens on the same port again. The server itself keeps running,
so other tests that use it directly are not disturbed.

Threads, not asyncio: the database drivers under test are synchronous and run in worker
threads, and the proxy must keep forwarding whatever the test's event loop is doing.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

_ACCEPT_POLL_SECONDS = 0.05
_CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `upstream` until cut.

    Args:
        upstream: the (host, port) of the real server.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.accepted = 0  # connections forwarded since start
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()

    @property
    def cut_now(self) -> bool:
        """Whether the proxy is cut (refusing connections)."""
        return not self._listening.is_set()

    def start(self) -> int:
        """Listen on a free loopback port; returns it."""
        self._listen()
        return self.port

    def cut(self) -> None:
        """Close every forwarded connection and refuse new ones, until `restore`."""
        with self._lock:
            self._listening.clear()
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            listener.close()
        for pair in pairs:
            # Shut down only: the pump thread wakes up (recv returns b"") and closes them.
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self.cut_now:
            self._listen()

    def stop(self) -> None:
        """Cut for good."""
        self.cut()

    # -- internals -------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(_ACCEPT_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
            self._listening.set()
        self._thread = threading.Thread(
            target=self._accept_loop, args=(listener,), name="tcp-proxy", daemon=True
        )
        self._thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listening.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed by `cut`
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                if not self._listening.is_set():
                    _close(client, server)
                    return
                self._pairs.add((client, server))
                self.accepted += 1
            threading.Thread(
                target=self._pump, args=(client, server), name="tcp-proxy-pump", daemon=True
            ).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peer = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(client, selectors.EVENT_READ)
                selector.register(server, selectors.EVENT_READ)
                while True:
                    for key, _ in selector.select():
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(_CHUNK)
                        if not data:
                            return
                        peer[sock].sendall(data)
            except (OSError, ValueError):
                return  # cut (or the other side went away)
            finally:
                with self._lock:
                    self._pairs.discard((client, server))
                _close(client, server)


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

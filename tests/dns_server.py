"""A tiny real DNS server on the loopback for the custom-domain checks: it answers TXT
queries from a table, with NXDOMAIN for names it does not know, SERVFAIL for names marked
failing, and nothing at all for names marked silent (the resolver times out)."""

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class LocalDns:
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.silent: set[str] = set()
        self.failing: set[str] = set()
        self.queries: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="local-dns", daemon=True)

    def __enter__(self) -> "LocalDns":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            self._answer(data, peer)

    def _answer(self, data: bytes, peer) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        self.queries.append(name)
        if name in self.silent:
            return
        response = dns.message.make_response(query)
        if name in self.failing:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.txt:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            values = [f'"{value}"' for value in self.txt[name]]
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *values))
        self._socket.sendto(response.to_wire(), peer)

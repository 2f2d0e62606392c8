"""Where a webhook may go: public internet addresses only (server-side request forgery guard).

An expert chooses the URL, and the worker sends a POST to it from inside our network. Left
unchecked, any expert could reach ``127.0.0.1``, ``10.x``, the cloud metadata service at
``169.254.169.254`` and so on. Two checks, unless ``KAIROS_WEBHOOK_ALLOW_PRIVATE=1``:

- at registration, ``host_refusal`` looks at the URL alone (IP literals and internal names). It
  never resolves DNS: the answer could change the minute after, so it would prove nothing;
- at delivery (the real protection), ``vetted_addresses`` resolves the name, refuses if *any*
  answer is not public, and ``PinnedHTTPConnection``/``PinnedHTTPSConnection`` connect to exactly
  those vetted addresses. No second lookup happens, so a DNS rebind between the check and the
  connect cannot slip through; the Host header, TLS SNI and certificate check still use the name.

Pure standard library (``ipaddress``, ``socket``, ``http.client``, ``ssl``).
"""
from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Sequence
from typing import NamedTuple, Union
from urllib.parse import unquote

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: Names that only ever mean "this machine" or "our own network" (RFC 6761, RFC 6762, cloud DNS).
INTERNAL_NAMES = ("localhost",)
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local")

#: IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it (NAT64, RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: The shorthand IPv4 forms ``inet_aton`` (and so ``getaddrinfo``) accepts: 2130706433, 0x7f.1, 127.1.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class DestinationRefused(Exception):
    """The webhook URL points at a private or internal address; the delivery is refused (and retried)."""


class Resolved(NamedTuple):
    """One vetted answer of ``getaddrinfo``: what to give ``socket.socket`` and ``connect``."""

    family: int
    sockaddr: tuple
    address: IPAddress


# --- classification (pure) ------------------------------------------------------------------

def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address actually leads to, if it is one of the wrapping forms.

    ``::ffff:127.0.0.1`` reaches 127.0.0.1 on a dual-stack socket; 6to4 and NAT64 gateways
    forward to their embedded address too. Judging them as IPv6 would let 127.0.0.1 through
    in disguise (or, for ``::ffff:8.8.8.8``, refuse a public address for being "reserved").
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address ("a loopback address", …), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_refusal(embedded)
    # Most specific first, so the message names the likely intent (metadata service = link-local).
    if address.is_unspecified:
        return "an unspecified address (it means this machine)"
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"  # deprecated fec0::/10, still not the internet, yet is_global says True
    if address.is_private:
        return "a private network address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:  # e.g. 100.64.0.0/10, the carrier-grade NAT space
        return "not a public internet address"
    return None


def is_public_address(address: IPAddress) -> bool:
    """True when a webhook may be delivered to ``address``."""
    return address_refusal(address) is None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address written in ``host`` (as ``urlparse(...).hostname`` gives it), or None for a name.

    Besides the usual forms this reads the shorthand IPv4 that ``getaddrinfo`` would accept
    (``2130706433``, ``0x7f.1``, ``127.1``): no DNS is involved, only parsing.
    """
    host = unquote(host).strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _internal_name(host: str) -> bool:
    """True for names that only make sense inside a network (``localhost``, ``*.internal``, …)."""
    name = host.lower().rstrip(".")  # "localhost." is the same name as "localhost"
    return name in INTERNAL_NAMES or name.endswith(INTERNAL_SUFFIXES)


def host_refusal(host: str | None) -> str | None:
    """Why a URL host is refused without looking it up (IP literal or internal name), or None.

    The answer is a sentence fragment meant for a person, e.g. ``"127.0.0.1 is a loopback address"``.
    """
    if not host:
        return "the address has no host name"
    literal = parse_ip_literal(host)
    if literal is not None:
        reason = address_refusal(literal)
        if reason is None:
            return None
        # Show the address as the person wrote it; spell out shorthand such as 2130706433 (127.0.0.1).
        written = unquote(host).strip("[]")
        shown = written if ":" in written or written == str(literal) else f"{written} ({literal})"
        return f"{shown} is {reason}"
    if _internal_name(host):
        return f"{host} is a name for this machine or an internal network"
    return None


# --- delivery: resolve once, vet, connect to what was vetted ------------------------------------

def resolve(host: str, port: int) -> list[Resolved]:
    """Every TCP address ``host`` resolves to now, in the resolver's order, without duplicates."""
    seen: set[tuple] = set()
    answers = []
    for family, _type, _proto, _canon, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if sockaddr in seen:
            continue
        seen.add(sockaddr)
        answers.append(Resolved(family, sockaddr, ipaddress.ip_address(sockaddr[0])))
    return answers


def vetted_addresses(host: str, port: int, *, allow_private: bool = False) -> list[Resolved]:
    """Resolve ``host`` and return its addresses; raise DestinationRefused if any is not public.

    *Any*, not *all*: a name answering both a public and a private address would otherwise let
    the connection fall back to the private one. ``allow_private`` skips the refusals only.
    """
    if not allow_private:
        reason = host_refusal(host)
        if reason:
            raise DestinationRefused(reason)
    answers = resolve(host, port)
    if not allow_private:
        for answer in answers:
            reason = address_refusal(answer.address)
            if reason:
                raise DestinationRefused(f"{host} resolves to {answer.address}, {reason}")
    return answers


def connect_first(addresses: Sequence[Resolved], timeout: float | None) -> socket.socket:
    """A TCP socket to the first of ``addresses`` that answers (as ``socket.create_connection``, minus DNS)."""
    last_error: OSError | None = None
    for answer in addresses:
        sock = socket.socket(answer.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(answer.sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as http.client does
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    raise last_error or OSError("no address to connect to")


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``host`` (the Host header) over a socket to addresses vetted beforehand."""

    def __init__(self, host: str, port: int, addresses: Sequence[Resolved], *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = list(addresses)

    def connect(self) -> None:
        """Dial the vetted addresses: no lookup here, so DNS cannot change the answer under us."""
        self.sock = connect_first(self.addresses, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``host`` over vetted addresses; SNI and the certificate check still use ``host``."""

    def __init__(self, host: str, port: int, addresses: Sequence[Resolved], *, timeout: float,
                 context: ssl.SSLContext | None = None) -> None:
        self.tls_context = context or ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls_context)
        self.addresses = list(addresses)

    def connect(self) -> None:
        """Dial the vetted addresses, then TLS with the URL's name (what the certificate must match)."""
        sock = connect_first(self.addresses, self.timeout)
        try:
            self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise

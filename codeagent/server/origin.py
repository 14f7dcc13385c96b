"""Which browser pages may drive the server: the ``Origin`` and ``Host`` checks, as a pure policy.

The threat. A web page the user happens to visit runs in a browser on the user's machine, so it
can reach ``127.0.0.1``. Browsers do not apply the same-origin policy to WebSockets: any page can
open ``ws://127.0.0.1:8765/v1/responses`` and drive the model. That is the real hole; the HTTP
routes are less exposed, because we send no CORS headers and a browser will not let a
cross-origin page read the answers (it can still send a POST and make the server work). A
*DNS-rebinding* page goes further: it points its own name (``evil.example``) at ``127.0.0.1``
after loading, so its requests are same-origin and their answers readable.

The defence, and where it comes from:

- ``Origin`` (sent by browsers on every WebSocket upgrade, every cross-origin ``fetch`` and
  every POST; by other clients only when asked): absent means a non-browser client (our client,
  the ``openai`` SDK, ``curl``) and is allowed. ``null`` (sandboxed frames, ``file:`` pages: any
  site can make one) is refused. A local origin, ``http(s)://`` ``localhost``, ``*.localhost``
  (RFC 6761 §6.3: browsers resolve it to loopback themselves), ``127.0.0.0/8``, ``[::1]`` or
  ``0.0.0.0``/``[::]`` (dialled, they reach this machine) on any port, is allowed, as Ollama's
  default ``OLLAMA_ORIGINS`` allows ``localhost``, ``127.0.0.1`` and ``0.0.0.0`` on any port
  (envconfig ``AllowedOrigins``). Anything else is refused unless listed in ``allowed_origins``
  (``--allowed-origins``): exact ``scheme://host[:port]`` entries, or ``*`` for every origin,
  like Jupyter Server's ``allow_origin`` (``check_origin`` in ``jupyter_server/base/handlers.py``).
  Jupyter also lets an origin equal to the ``Host`` through; we keep that only where the host is
  an IP literal (a client such as ``websocket-client`` names the address it dialled). A
  rebinding page's origin is a *name* equal to its ``Host``, so it stays refused.
- ``Host`` (DNS rebinding): while the server is bound to loopback, a request must name a
  loopback address, ``localhost`` or ``*.localhost`` (any port); the rebinding page's
  ``Host: evil.example:8765`` is refused. This is Jupyter's ``check_host`` with
  ``allow_remote_access`` off (``ServerApp._default_allow_remote``: off on a loopback bind) and
  Ollama's ``allowedHostsMiddleware`` (``server/routes.go``), which also checks only on a
  loopback bind. We do not accept Ollama's ``.local``/``.internal`` names or the machine's host
  name: others on the network can answer for those.
- Bound beyond loopback (a LAN address, ``0.0.0.0``, ``::``, or a name other than
  ``localhost``, which we do not resolve), the server is meant to be reached by names we cannot
  know (LAN DNS, a reverse proxy), so ``Host`` is not checked, as in Ollama and Jupyter. A
  rebinding page is still stopped by the ``Origin`` check on the upgrade and on POSTs; what it
  can still read is what a same-origin GET returns, ``/health`` and ``/v1/models`` (a model
  name), and ``--api-key`` closes the latter. ``/health`` is open to any ``Origin`` anyway.
- Whatever the bind, a request without ``Host`` in HTTP/1.1, with two, or with a malformed one
  is a 400 (RFC 9112 §3.2).

CORS preflight is out of scope: we send no CORS headers, so no cross-origin page reads an HTTP
answer. Call ``OriginPolicy.for_server(bind_host, allowed_origins)`` once, then
``policy.refusal(...)`` per request: ``None`` lets it through, an ``ErrorInfo`` is the answer to
send instead (``OriginGuard`` in ``app.py`` does). Sources read: ollama/ollama at fb30760,
jupyter-server/jupyter_server at 9a4d6ee.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codeagent.errors import ConfigError, ErrorInfo

ANY_ORIGIN = "*"
"""In ``allowed_origins``: every origin (``null`` included) is allowed."""

LOCAL_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# RFC 6454 §6.2 serialisation: scheme "://" host [":" port]; no userinfo, path, query, fragment.
_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<host>\[[0-9a-f:.]+\]|[^\s/?#@:\[\]]+)"
    r"(?::(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE | re.ASCII,
)
# RFC 9110 §7.2: Host = uri-host [ ":" port ], port = *DIGIT.
_HOST = re.compile(
    r"(?P<host>\[[0-9a-f:.]+\]|[^\s/?#@:\[\]]+)(?::(?P<port>[0-9]{0,5}))?",
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Authority:
    """A host (lower case; IPv6 without brackets) and a port (``None``: not given)."""

    host: str
    port: int | None

    @property
    def is_ip(self) -> bool:
        return _ip(self.host) is not None


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    authority: Authority

    def serialised(self) -> str:
        """The form a browser sends: lower case, IPv6 in brackets, default port left out."""
        host = self.authority.host
        shown = f"[{host}]" if ":" in host else host
        port = self.authority.port
        if port is not None:
            shown += f":{port}"
        return f"{self.scheme}://{shown}"


def parse_origin(text: str) -> Origin | None:
    """``text`` as an origin, or ``None`` when it is not one (``null`` included)."""
    match = _ORIGIN.fullmatch(text.strip())
    if match is None:
        return None
    scheme = match["scheme"].lower()
    authority = _authority(match["host"], match["port"])
    if authority is None:
        return None
    if authority.port == _DEFAULT_PORTS.get(scheme):
        authority = Authority(authority.host, None)
    return Origin(scheme, authority)


def parse_host(text: str) -> Authority | None:
    """A ``Host`` header value, or ``None`` when it is malformed."""
    match = _HOST.fullmatch(text.strip())
    if match is None:
        return None
    return _authority(match["host"], match["port"] or None)


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost``, or an address in ``127.0.0.0/8`` or ``::1``."""
    name = host.lower().removeprefix("[").removesuffix("]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


def is_local_host(host: str) -> bool:
    """A loopback host, or ``0.0.0.0``/``::``, which a browser dials as this machine: neither
    can be an attacker's name."""
    address = _ip(host.lower().removeprefix("[").removesuffix("]"))
    return is_loopback_host(host) or (address is not None and address.is_unspecified)


def normalise_origins(entries: Iterable[str]) -> tuple[str, ...]:
    """``--allowed-origins`` entries checked and written as browsers send them (lower case, no
    default port, a pasted trailing ``/`` dropped), without repeats; ``ConfigError`` names the
    first bad one."""
    normalised: list[str] = []
    for entry in entries:
        text = entry.strip()
        if text != ANY_ORIGIN:
            text = _normalise_one(text)
        if text not in normalised:
            normalised.append(text)
    return tuple(normalised)


def _normalise_one(text: str) -> str:
    if text.lower() == "null":
        raise ConfigError(
            "allowed origin 'null' is the origin of sandboxed and file: pages, which any site "
            "can produce; only '*' admits it"
        )
    if ANY_ORIGIN in text:
        raise ConfigError(f"allowed origin {text!r}: the only wildcard is '*' on its own")
    origin = parse_origin(_idna(text.removesuffix("/")))
    if origin is None:
        raise ConfigError(
            f"allowed origin {text!r} is not an origin: write scheme://host[:port], "
            "e.g. https://app.example or http://localhost:3000"
        )
    return origin.serialised()


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """What the server lets in. Build it with ``for_server``; the defaults are the loopback
    policy with no extra origins."""

    allowed_origins: frozenset[str] = frozenset()
    """Serialised origins let in besides the local ones; ``*`` lets every origin in."""
    check_host: bool = True
    """Refuse a ``Host`` that names no loopback address (on when bound to loopback)."""

    @classmethod
    def for_server(cls, bind_host: str, allowed_origins: Iterable[str] = ()) -> OriginPolicy:
        """The policy of a server bound to ``bind_host``; ``ConfigError`` for a bad origin."""
        return cls(frozenset(normalise_origins(allowed_origins)), is_loopback_host(bind_host))

    def refusal(
        self,
        hosts: Sequence[str],
        origins: Sequence[str],
        http_version: str = "1.1",
    ) -> ErrorInfo | None:
        """``None`` when a request with these ``Host`` and ``Origin`` header values (each as
        often as it came) may go on, else the error to answer with (400 or 403). Pass no
        ``origins`` for a route that any page may use (``/health``)."""
        return self._host_refusal(hosts, http_version) or self._origin_refusal(origins, hosts)

    def _host_refusal(self, hosts: Sequence[str], http_version: str) -> ErrorInfo | None:
        if not hosts:
            # Browsers always send Host; only HTTP/1.1 makes every client send it.
            if http_version != "1.1":
                return None
            return _invalid_host("The request has no Host header, which HTTP/1.1 requires.")
        if len(hosts) > 1:
            return _invalid_host("The request has more than one Host header.")
        authority = parse_host(hosts[0])
        if authority is None:
            return _invalid_host(f"The Host header {hosts[0]!r} is malformed.")
        if not self.check_host or is_local_host(authority.host):
            return None
        return ErrorInfo(
            403,
            "invalid_request_error",
            "host_not_allowed",
            f"Host header {hosts[0]!r} is not allowed: this server listens on loopback and "
            "answers only requests addressed to localhost, 127.0.0.1 or [::1] (this stops "
            "DNS-rebinding pages). To serve other names, bind a non-loopback address with "
            "--host and require a key with --api-key.",
        )

    def _origin_refusal(self, origins: Sequence[str], hosts: Sequence[str]) -> ErrorInfo | None:
        if not origins or ANY_ORIGIN in self.allowed_origins:
            return None
        if len(origins) > 1:
            return _origin_not_allowed(", ".join(origins), "it is sent more than once")
        text = origins[0]
        origin = parse_origin(text)
        if origin is None:
            why = "it is the origin of a sandboxed or file: page" if text.strip() == "null" else ""
            return _origin_not_allowed(text, why or "it is not a valid origin")
        if origin.serialised() in self.allowed_origins:
            return None
        if origin.scheme in LOCAL_SCHEMES and is_local_host(origin.authority.host):
            return None
        if origin.authority.is_ip and len(hosts) == 1 and origin.authority == parse_host(hosts[0]):
            return None  # the server's own address, as a client that dialled it names it
        return _origin_not_allowed(text, "it is not a local origin", origin.serialised())


def _origin_not_allowed(text: str, why: str, allow_as: str | None = None) -> ErrorInfo:
    how = (
        f"start the server with --allowed-origins {allow_as}"
        if allow_as
        else "only --allowed-origins '*' admits it"
    )
    return ErrorInfo(
        403,
        "invalid_request_error",
        "origin_not_allowed",
        f"Origin header {text!r} is not allowed ({why}): browser pages may use this server only "
        f"from a local origin (http://localhost, http://127.0.0.1, http://[::1]). To allow this "
        f"one, {how} (or CODEAGENT_ALLOWED_ORIGINS).",
    )


def _invalid_host(message: str) -> ErrorInfo:
    return ErrorInfo(400, "invalid_request_error", "invalid_host", message)


def _authority(host: str, port: str | None) -> Authority | None:
    if host.startswith("["):
        try:
            host = str(ipaddress.IPv6Address(host[1:-1]))  # the compressed form browsers write
        except ValueError:
            return None
    number = int(port) if port else None
    if number is not None and number > 65535:
        return None
    return Authority(host.lower(), number)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, an IPv4-mapped IPv6 one as its IPv4 address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _idna(text: str) -> str:
    """Browsers send international host names in their ASCII (punycode) form."""
    if text.isascii():
        return text
    scheme, sep, rest = text.partition("://")
    host, colon, port = rest.partition(":")
    try:
        return f"{scheme}{sep}{host.encode('idna').decode('ascii')}{colon}{port}"
    except UnicodeError as exc:
        raise ConfigError(f"allowed origin {text!r} has a host name IDNA cannot encode") from exc

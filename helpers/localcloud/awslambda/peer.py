"""Which process is at the other end of a loopback connection: the kernel knows (Linux).

The Runtime API of an execution environment (``runtime_api.py``) serves that environment's
process alone. For a connection accepted on 127.0.0.1 the peer is a socket of this machine, the
one whose local address is the connection's remote address; the kernel keeps its owner's uid
and its inode:

- sock_diag (``NETLINK_SOCK_DIAG``, what ``ss`` uses) looks the socket up by its address and
  port pair in one round trip, whatever the number of sockets on the machine;
- where netlink is not available, ``/proc/net/tcp`` (and ``tcp6``) list the same, read whole.

The process holding the socket has a ``socket:[INODE]`` link in ``/proc/PID/fd``: the
environment's own process is looked at first, then its descendants (found through the
``/proc/PID/stat`` of each process of this user), so a helper process a function starts may
use the API too. A socket of another user is refused before any of that.
"""

from __future__ import annotations

import functools
import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
ALL_STATES = 0xFFFFFFFF
TCP_ESTABLISHED = 1
_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBBI")  # family, protocol, extensions, pad, states
_UID_INODE = struct.Struct("=II")
# inet_diag_msg: family, state, timer, retransmits (4), the socket id (48), expires, read and
# write queues (12), then uid and inode
_UID_INODE_AT = _NLMSGHDR.size + 4 + 48 + 12


def _address(host: str, family: int) -> bytes:
    """An address as inet_diag_sockid holds it: 16 bytes, network order."""
    if family == socket.AF_INET:
        return socket.inet_pton(socket.AF_INET, host) + bytes(12)
    if ":" not in host:  # an IPv4 peer of an IPv6 socket: ::ffff:a.b.c.d
        host = "::ffff:" + host
    return socket.inet_pton(socket.AF_INET6, host)


def _netlink_owner(
    family: int, peer: tuple[str, int], local: tuple[str, int]
) -> tuple[int, int] | None:
    """(uid, inode) of the established TCP socket bound to ``peer`` and connected to
    ``local``, by sock_diag's exact lookup; None if there is no such socket."""
    socket_id = (
        struct.pack(">HH", peer[1], local[1])
        + _address(peer[0], family)
        + _address(local[0], family)
        + struct.pack("=III", 0, INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE)
    )
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, ALL_STATES) + socket_id
    message = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as netlink:
        netlink.settimeout(1.0)
        netlink.sendto(message + body, (0, 0))
        reply = netlink.recv(8192)
    _, kind, _, _, _ = _NLMSGHDR.unpack_from(reply)
    if kind == NLMSG_ERROR or len(reply) < _UID_INODE_AT + _UID_INODE.size:
        return None  # ENOENT: no such socket (any more)
    state = reply[_NLMSGHDR.size + 1]
    if state != TCP_ESTABLISHED:
        return None
    return _UID_INODE.unpack_from(reply, _UID_INODE_AT)


def _proc_net_hex(host: str, port: int, family: int) -> str:
    """An address as /proc/net/tcp{,6} prints it: the raw words in host byte order, hex."""
    raw = _address(host, family)
    if family == socket.AF_INET:
        raw = raw[:4]
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def _proc_net_owner(peer: tuple[str, int], local: tuple[str, int]) -> tuple[int, int] | None:
    """(uid, inode) of the socket as /proc/net/tcp and tcp6 list it (netlink unavailable)."""
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        wanted = (_proc_net_hex(*peer, family), _proc_net_hex(*local, family))
        try:
            with open(f"/proc/net/{name}") as table:
                next(table, None)
                for row in table:
                    fields = row.split()
                    if (fields[1], fields[2]) == wanted and int(fields[3], 16) == TCP_ESTABLISHED:
                        return int(fields[7]), int(fields[9])
        except OSError:
            continue
    return None


@functools.cache
def _netlink_works() -> bool:
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG):
            return True
    except (OSError, AttributeError):  # no AF_NETLINK (macOS), or sock_diag not allowed
        return False


def socket_owner(peer: tuple[str, int], local: tuple[str, int]) -> tuple[int, int] | None:
    """(uid, inode) of the socket at ``peer`` connected to our ``local`` address, or None."""
    if _netlink_works():
        try:
            return _netlink_owner(socket.AF_INET, peer, local) or _netlink_owner(
                socket.AF_INET6, peer, local
            )
        except OSError:
            pass
    return _proc_net_owner(peer, local)


def holds(pid: int, inode: int) -> bool:
    """Whether process ``pid`` has the socket ``inode`` among its open files."""
    link = f"socket:[{inode}]"
    try:
        with os.scandir(f"/proc/{pid}/fd") as entries:
            for entry in entries:
                try:
                    if os.readlink(entry.path) == link:
                        return True
                except OSError:
                    continue  # closed meanwhile
    except OSError:
        pass  # the process is gone
    return False


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (of this user: no other user's can be), nearest
    first."""
    children: dict[int, list[int]] = {}
    uid = os.getuid()
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != uid:
                    continue
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                    parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], list(children.get(pid, ()))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, ()))
    return found


def is_from(connection: socket.socket, pid: int) -> bool:
    """Whether the peer of an accepted loopback ``connection`` is a socket of process ``pid``
    or of one of its descendants, and of this user."""
    try:
        peer, local = connection.getpeername()[:2], connection.getsockname()[:2]
    except OSError:
        return False  # already closed by the peer
    owner = socket_owner(peer, local)
    if owner is None or owner[0] != os.getuid():
        return False
    inode = owner[1]
    return holds(pid, inode) or any(holds(child, inode) for child in descendants(pid))


@functools.cache
def works() -> str | None:
    """None if the peer check works on this machine, else why not (checked once, on a
    connection of this process to itself)."""
    if not os.path.isdir("/proc/self/fd"):
        return "there is no /proc to ask (it is Linux's)"
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=2):
                accepted, _ = server.accept()
                with accepted:
                    if not is_from(accepted, os.getpid()):
                        return "neither sock_diag nor /proc/net/tcp names the peer socket"
    except OSError as error:
        return f"a loopback connection to check with failed: {error}"
    return None

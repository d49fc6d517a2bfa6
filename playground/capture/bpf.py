"""The kernel filter of a process's packet socket: a classic BPF program (no Django).

Rules: the filter passes only IPv4 TCP and UDP packets of the playground's address
range, once each, cut after their headers and the payload preview (see
playground.capture.sandbox for the whole capture's rules).
"""

import ctypes
import ipaddress
import logging
import socket
import struct

from playground.capture import packets
from playground.capture.packets import TCP

log = logging.getLogger(__name__)

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
PACKET_HOST = 0  # addressed to this host: the incoming copy of a loopback packet
SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE


# The kernel's filter ------------------------------------------------------------

_INSTRUCTION = struct.Struct("@HBBI")  # struct sock_filter: code, jt, jf, k
LD_W, LD_H, LD_B = 0x20, 0x28, 0x30  # BPF_LD | size | BPF_ABS
AND_K, JEQ_K, RET_K = 0x54, 0x15, 0x06


def filter_program(network: ipaddress.IPv4Network, snap: int) -> list[tuple]:
    """The classic BPF program: (code, jt, jf, k) each, jumps already resolved."""
    net, mask = int(network.network_address), int(network.netmask)
    # Labels: ("accept"/"drop") as jump targets, resolved below.
    program = [
        (LD_W, None, None, SKF_AD_PKTTYPE),  # the packet's type...
        (JEQ_K, None, "drop", PACKET_HOST),  # ...the incoming copy only
        (LD_H, None, None, 12),  # the Ethernet type
        (JEQ_K, None, "drop", ETH_P_IP),
        (LD_B, None, None, packets.ETHERNET + 9),  # the IP protocol
        (JEQ_K, "address", None, TCP),
        (JEQ_K, None, "drop", packets.UDP),
        "address",
        (LD_W, None, None, packets.ETHERNET + 12),  # the source address
        (AND_K, None, None, mask),
        (JEQ_K, "accept", None, net),
        (LD_W, None, None, packets.ETHERNET + 16),  # the destination address
        (AND_K, None, None, mask),
        (JEQ_K, "accept", "drop", net),
        "accept",
        (RET_K, None, None, snap),  # the first `snap` bytes
        "drop",
        (RET_K, None, None, 0),
    ]
    labels, pc = {}, 0
    for item in program:
        if isinstance(item, str):
            labels[item] = pc
        else:
            pc += 1
    resolved, pc = [], 0
    for item in program:
        if isinstance(item, str):
            continue
        code, jt, jf, k = item
        jump = {None: 0} | {name: at - pc - 1 for name, at in labels.items()}
        resolved.append((code, jump[jt], jump[jf], k))
        pc += 1
    return resolved


def attach_filter(sock: socket.socket, program: list[tuple]) -> None:
    """SO_ATTACH_FILTER: a struct sock_fprog that points at the instructions."""
    code = b"".join(_INSTRUCTION.pack(*instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)

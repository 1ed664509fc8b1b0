"""The internet side's services for the LAN client, run inside the bed's internet namespace: a UDP
echo (every datagram is sent back to its sender) and a TCP service that accepts and closes, both
bound to each given address (SERVER's IPv4 and IPv6 addresses).

usage: python -m host_tools.netbed.servers UDP_PORT TCP_PORT ADDR ...
"""
import select
import socket
import sys


def main():
    udp_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
    udp, tcp = {}, {}
    for addr in sys.argv[3:]:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((addr, udp_port))
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, tcp_port))
        t.listen(128)
        udp[u.fileno()] = u
        tcp[t.fileno()] = t
    poll = select.poll()
    for fd in list(udp) + list(tcp):
        poll.register(fd, select.POLLIN)
    print("ready", flush=True)
    while True:
        for fd, _ in poll.poll():
            try:
                if fd in udp:
                    data, peer = udp[fd].recvfrom(2048)
                    udp[fd].sendto(data, peer)
                else:
                    c, _ = tcp[fd].accept()
                    c.close()
            except OSError:
                pass


if __name__ == "__main__":
    main()

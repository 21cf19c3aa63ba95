"""A chat client written the classic way: a socket, a 64-byte length header, UTF-8, the
username sent first, then messages, and "!DISCONNECT FROM SERVER" to leave.

This is the client of the well-known Python socket-chat tutorial, scripted so a test can run
it: it joins, says hello, waits for an answer from someone called "alice", asks who is online,
and leaves. Every body it receives is printed as "RECV <body>".

    python3 tests/classic_client.py PORT [NAME] [HOST]

Exits 0 when the whole script ran, 1 on a timeout or an early disconnect.
"""

import socket
import sys

HEADER = 64
FORMAT = "utf-8"
DISCONNECT_MESSAGE = "!DISCONNECT FROM SERVER"
TIMEOUT_SECONDS = 15

PORT = int(sys.argv[1])
NAME = sys.argv[2] if len(sys.argv) > 2 else "pyuser"
SERVER = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
ADDR = (SERVER, PORT)

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.settimeout(TIMEOUT_SECONDS)
client.connect(ADDR)


def send(msg):
    message = msg.encode(FORMAT)
    msg_length = len(message)
    send_length = str(msg_length).encode(FORMAT)
    send_length += b" " * (HEADER - len(send_length))
    client.send(send_length)
    client.send(message)


def recv_exactly(count):
    data = b""
    while len(data) < count:
        chunk = client.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive():
    """Returns the next body as text, or None when the server has closed the connection."""
    while True:
        header = recv_exactly(HEADER)
        if header is None:
            return None
        msg_length = header.decode(FORMAT).strip()
        if not msg_length:
            continue  # A keepalive: an empty header.
        body = recv_exactly(int(msg_length))
        if body is None:
            return None
        msg = body.decode(FORMAT)
        print("RECV " + msg, flush=True)
        return msg


def receive_until(predicate, what):
    while True:
        msg = receive()
        if msg is None:
            print("FAIL the server closed the connection while waiting for " + what, flush=True)
            sys.exit(1)
        if predicate(msg):
            return msg


def main():
    send(NAME)
    receive_until(lambda m: m.startswith("* welcome, " + NAME), "the welcome")
    receive_until(lambda m: "/help" in m, "the end of the welcome")
    send("hello from python")
    receive_until(lambda m: m.startswith("alice: "), "a message from alice")
    send("/who")
    receive_until(lambda m: m.startswith("* online"), "the user list")
    send(DISCONNECT_MESSAGE)
    while receive() is not None:
        pass  # The server closes the connection after the goodbye.
    print("DONE", flush=True)


try:
    main()
except socket.timeout:
    print("FAIL timed out", flush=True)
    sys.exit(1)
finally:
    client.close()

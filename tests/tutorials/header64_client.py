"""The client of seed tutorial 000 ("Python Web Socket Programming"): a 64-byte length header,
UTF-8, and no name at all: its first message is "Hello World!". Written as the tutorial writes
it (`send()` sends the header, then the message, then prints one `recv(2048)`), with `input()`
between messages as in the tutorial's script. The server answers with frame64 bodies, so what
it prints includes their headers, as the tutorial's client would.

    python3 tests/tutorials/header64_client.py PORT
"""

import socket
import sys

HEADER = 64
PORT = int(sys.argv[1])
FORMAT = "utf-8"
DISCONNECTED_MESSAGE = "!DISCONNECT FROM SERVER"
SERVER = "127.0.0.1"
ADDR = (SERVER, PORT)

# connecting to the server
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.settimeout(20)
client.connect(ADDR)


def send(msg):
    message = msg.encode(FORMAT)
    msg_length = len(message)
    send_length = str(msg_length).encode(FORMAT)
    send_length += b" " * (HEADER - len(send_length))
    client.send(send_length)
    client.send(message)
    print(client.recv(2048).decode(FORMAT), flush=True)


send("Hello World!")
input()
send("Hello Everyone!")
send("Hello World!")
input()
send("Hello Saundra!")


send(DISCONNECTED_MESSAGE)
print("DONE", flush=True)

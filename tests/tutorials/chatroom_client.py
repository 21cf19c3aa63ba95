"""The client of seed tutorial 003 ("SOCKETS - SERVER", the class that builds the chat room
server; the client comes in its next class): connect to the server, one thread prints every
`recv(2048)` as it comes, and the main loop sends each line typed as bare bytes with
`send(message.encode('utf-8'))`. Its person types their name first.

    python3 tests/tutorials/chatroom_client.py PORT
"""

import socket
import sys
from threading import Thread

ip_address = "127.0.0.1"
port = int(sys.argv[1])

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.connect((ip_address, port))


def receive():
    while True:
        try:
            message = server.recv(2048).decode("utf-8")
            if message:
                print(message, flush=True)
            else:
                print("DISCONNECTED", flush=True)
                break
        except:
            continue


Thread(target=receive).start()
while True:
    try:
        message = input()
    except EOFError:
        break
    server.send(message.encode("utf-8"))

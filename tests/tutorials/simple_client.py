"""The client of seed tutorial 004 ("Simple Real-Time Chat-App using Socket Programming"; the
page stops at its "Client-side" heading): HOST and PORT, a socket, a thread that prints every
`recv(1024)`, and a loop that sends each line typed with `client_socket.send(...)`. It has no
name: its first message is what its person types first.

    python3 tests/tutorials/simple_client.py PORT
"""

import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = int(sys.argv[1])

client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client_socket.connect((HOST, PORT))


def receive_messages():
    while True:
        try:
            message = client_socket.recv(1024)
            if not message:
                print("DISCONNECTED", flush=True)
                break
            print(message.decode("utf-8"), flush=True)
        except:
            break


thread = threading.Thread(target=receive_messages)
thread.start()

while True:
    try:
        message = input()
    except EOFError:
        break
    client_socket.send(message.encode("utf-8"))
thread.join()

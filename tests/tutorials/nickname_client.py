"""The client of seed tutorial 001 ("Build a chat App using socket Programming", class 199;
its client is the next class's): the nickname is asked before connecting and put in front of
every message (`nickname: text`), bare bytes with no header and no newline; one thread prints
every `recv(2048)`, another sends each line typed. It never sends its nickname on its own (the
tutorial's server asks with `NICKNAME`, which ours never sends), so it chats as a guest.

    python3 tests/tutorials/nickname_client.py PORT
"""

import socket
import sys
from threading import Thread

nickname = input("Choose your nickname: ")

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ip_address = "127.0.0.1"
port = int(sys.argv[1])
client.connect((ip_address, port))
print("Connected with the server...", flush=True)


def receive():
    while True:
        try:
            message = client.recv(2048).decode("utf-8")
            if message == "NICKNAME":
                client.send(nickname.encode("utf-8"))
            elif message == "":
                print("DISCONNECTED", flush=True)
                client.close()
                break
            else:
                print(message, flush=True)
        except:
            print("An error occured!", flush=True)
            client.close()
            break


def write():
    while True:
        try:
            line = input("")
        except EOFError:
            client.close()
            break
        message = "{}: {}".format(nickname, line)
        client.send(message.encode("utf-8"))


receive_thread = Thread(target=receive)
receive_thread.start()
write_thread = Thread(target=write, daemon=True)
write_thread.start()
receive_thread.join()

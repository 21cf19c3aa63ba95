"""The client of seed tutorial 002 ("socket_realtime_chat_app"): connect, ask for the username,
send it as bare bytes, then a thread splits every `recv(2048)` on "~" into username and message
and prints `[username] message`, while the main loop sends each message typed. Its listener
thread dies on a reply without a "~" (IndexError), as the tutorial's does.

    python3 tests/tutorials/tilde_client.py PORT
"""

import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = int(sys.argv[1])


def listen_for_messages_from_server(client):
    while 1:
        message = client.recv(2048).decode("utf-8")
        if message != "":
            username = message.split("~")[0]
            content = message.split("~")[1]
            print(f"[{username}] {content}", flush=True)
        else:
            print("Message recevied from client is empty", flush=True)
            break


def send_message_to_server(client):
    while 1:
        try:
            message = input("Message: ")
        except EOFError:
            break
        if message != "":
            client.sendall(message.encode())
        else:
            print("Empty message", flush=True)
            break


def communicate_to_server(client):
    username = input("Enter username: ")
    if username != "":
        client.sendall(username.encode())
    else:
        print("Username cannot be empty", flush=True)
        exit(0)
    threading.Thread(target=listen_for_messages_from_server, args=(client,)).start()
    send_message_to_server(client)


def main():
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect((HOST, PORT))
        print("Successfully connected to server", flush=True)
    except:
        print(f"Unable to connect to server {HOST} {PORT}", flush=True)
        exit(1)
    communicate_to_server(client)


if __name__ == "__main__":
    main()

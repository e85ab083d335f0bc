import asyncio

from quart import Quart, websocket
from quart.exceptions import ConnectionClosed

app = Quart(__name__)


@app.websocket("/echo")
async def echo():
    while True:
        message = await websocket.receive()  # str for text frames, bytes for binary ones
        await websocket.send(message)


@app.websocket("/sum")
async def running_total():
    total = 0
    while True:
        data = await websocket.receive_json()
        total += data["add"]
        await websocket.send_json({"total": total})


@app.before_websocket
async def require_token():
    if websocket.path.startswith("/private") and websocket.args.get("token") != "s3cret":
        return "Unauthorized", 401  # refuses the handshake: the client gets this response


@app.websocket("/private/feed")
async def private_feed():
    await websocket.accept()
    await websocket.send("welcome")


# Broadcasting: every connected client has a queue; a message sent by one goes to all.
listeners: set[asyncio.Queue] = set()


async def forward(queue):
    while True:
        await websocket.send(await queue.get())


@app.websocket("/chat")
async def chat():
    queue = asyncio.Queue()
    listeners.add(queue)
    sender = asyncio.create_task(forward(queue))  # the task sees this websocket too
    try:
        while True:
            message = await websocket.receive()
            for listener in listeners:
                listener.put_nowait(message)
    except ConnectionClosed as closed:  # the client left (optional: the handler just ends)
        app.logger.info("chat client left with code %s", closed.code)
        raise
    finally:
        sender.cancel()
        listeners.discard(queue)

import asyncio
import time

from quart import Quart, current_app, got_background_exception, request

app = Quart(__name__)
app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 30  # seconds shutdown waits for tasks
outbox: list[str] = []
rates = {"EUR": 1.0}


async def send_welcome_email(address):
    await asyncio.sleep(0.01)  # stands for a slow call to a mail service
    outbox.append(address)
    current_app.logger.info("welcomed %s", address)  # the app context is there


def write_audit_line(line):
    time.sleep(0.01)  # blocking is fine here: a sync task runs in a thread
    outbox.append(f"audit: {line}")


@app.post("/signup")
async def signup():
    address = (await request.get_json())["email"]  # read it now: no request in the task
    app.add_background_task(send_welcome_email, address)
    app.add_background_task(write_audit_line, f"signup {address}")
    return {"status": "signed up"}, 202


@app.while_serving
async def refresh_rates():
    async def every_hour():
        while True:
            rates["EUR"] = 1.0  # fetch fresh rates here
            await asyncio.sleep(3600)

    refresher = asyncio.create_task(every_hour())  # endless: not a background task
    yield  # the app serves while this generator waits here
    refresher.cancel()


@got_background_exception.connect_via(app)
async def report_failure(sender, exception):
    outbox.append(f"failed: {exception!r}")  # it was logged too

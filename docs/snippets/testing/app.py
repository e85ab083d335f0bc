import click

from quart import Quart, current_app, request, session, websocket


def create_app(config=None):
    app = Quart(__name__)
    app.config["SECRET_KEY"] = "change me"
    app.config.update(config or {})

    @app.while_serving
    async def database():
        app.extensions["db"] = {"greeting": "Hello"}  # open a connection pool here
        yield
        app.extensions.pop("db")  # and close it here

    @app.get("/")
    async def index():
        greeting = current_app.extensions["db"]["greeting"]
        return f"{greeting}, {session.get('user', 'stranger')}!"

    @app.post("/login")
    async def login():
        session["user"] = (await request.get_json())["user"]
        return {"logged in": session["user"]}

    @app.websocket("/ws")
    async def shout():
        while True:
            await websocket.send((await websocket.receive()).upper())

    @app.cli.command("greet")
    @click.argument("name")
    def greet(name):
        click.echo(f"Hello, {name}!")

    return app

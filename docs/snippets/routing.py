from werkzeug.routing import BaseConverter

from quart import Blueprint, Quart, request, url_for, websocket


class ListConverter(BaseConverter):
    """A comma-separated list in the URL: /compare/a,b,c gives ["a", "b", "c"]."""

    def to_python(self, value):
        return value.split(",")

    def to_url(self, value):
        return ",".join(BaseConverter.to_url(self, item) for item in value)


app = Quart(__name__)
app.url_map.converters["list"] = ListConverter


@app.route("/")
async def index():
    return "home"


@app.route("/users/<int:user_id>")  # /users/42 -> user_id=42; /users/ann -> 404
async def user(user_id):
    return {"user": user_id}


@app.route("/files/<path:name>")  # path accepts slashes: /files/a/b.txt
async def file(name):
    return {"file": name}


@app.route("/compare/<list:names>")
async def compare(names):
    return {"names": names}


@app.route("/docs/", defaults={"page": "index"})
@app.route("/docs/<page>")
async def docs(page):
    return {"page": page}


@app.route("/articles", methods=["GET", "POST"])
async def articles():
    if request.method == "POST":
        return {"created": (await request.get_json())["title"]}, 201
    return {"articles": []}


@app.delete("/articles/<int:article_id>")  # also get, post, put, patch
async def delete_article(article_id):
    return "", 204


api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/status")
async def status():
    return {"ok": True}


@api.websocket("/updates")
async def updates():
    await websocket.send("connected")


app.register_blueprint(api)


@app.get("/links")
async def links():
    return {
        "user": url_for("user", user_id=7),
        "search": url_for("index", q="quart"),  # unknown values become the query string
        "compare": url_for("compare", names=["a", "b"]),
        "status": url_for("api.status"),  # blueprint name, then the function's
        "external": url_for("user", user_id=7, _external=True),
        "updates": url_for("api.updates"),  # a websocket route gives a ws:// URL
    }

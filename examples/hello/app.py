"""A small tour of quart: routes, path parameters, JSON and a form.

Run it with ``make run`` (or ``python examples/hello/app.py``) and open
http://127.0.0.1:5000/ in a browser.
"""

from html import escape

from quart import Quart, Response, jsonify, request, url_for

app = Quart(__name__)


@app.route("/")
async def index() -> str:
    """An HTML page, written as a plain string: no template needed."""
    return f"""<!doctype html>
<html>
  <head><meta charset="utf-8"><title>Hello, quart</title></head>
  <body>
    <h1>Hello, quart!</h1>
    <ul>
      <li><a href="{url_for("hello", name="world")}">Greet someone by name</a></li>
      <li><a href="{url_for("api_info")}">JSON made with jsonify</a></li>
      <li><a href="{url_for("api_add", a=2, b=3)}">JSON made from a returned dict</a></li>
      <li><a href="{url_for("form")}">A form</a></li>
    </ul>
  </body>
</html>
"""


@app.route("/hello/<name>")
async def hello(name: str) -> str:
    """``<name>`` in the rule becomes the ``name`` argument."""
    return f"<p>Hello, {escape(name)}!</p>"


@app.route("/api/info")
async def api_info() -> Response:
    """``jsonify`` builds a JSON response from any JSON-serialisable value."""
    return jsonify(name="hello", framework="quart", routes=["/", "/hello/<name>", "/form"])


@app.route("/api/add/<int:a>/<int:b>")
async def api_add(a: int, b: int) -> dict[str, int]:
    """A returned dict is sent as JSON; ``<int:...>`` only matches whole numbers."""
    return {"a": a, "b": b, "sum": a + b}


@app.route("/form", methods=["GET", "POST"])
async def form() -> str:
    """GET shows the form; POST reads the submitted fields with ``await request.form``."""
    if request.method == "POST":
        fields = await request.form
        name = fields.get("name", "").strip() or "stranger"
        return f'<p>Thanks, {escape(name)}!</p><p><a href="{url_for("form")}">Again</a></p>'
    return """<!doctype html>
<form method="post">
  <label>Your name <input name="name"></label>
  <button type="submit">Send</button>
</form>
"""


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)

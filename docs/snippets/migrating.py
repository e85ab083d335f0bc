import time

from quart import (
    Quart,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template_string,
    request,
    url_for,
)

app = Quart(__name__)
app.secret_key = "change me"


@app.route("/items", methods=["GET", "POST"])
async def items():
    if request.method == "POST":
        form = await request.form  # was: request.form
        await flash(f"Added {form['name']}.")  # was: flash(...)
        return redirect(url_for("items"))  # unchanged: no I/O, no await
    page = await render_template_string(  # was: render_template_string(...)
        "{% for message in get_flashed_messages() %}<p>{{ message }}</p>{% endfor %}"
    )
    response = await make_response(page)  # was: make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@app.post("/api/items")
async def create_item():
    data = await request.get_json()  # was: request.get_json()
    return {"name": data["name"]}, 201


@app.get("/report")
def report():  # a sync view still works: it runs in a worker thread
    time.sleep(0.01)  # so blocking calls are tolerable here, never in async views
    return {"messages": get_flashed_messages()}

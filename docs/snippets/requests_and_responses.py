import os
import tempfile

from werkzeug.utils import secure_filename

from quart import Quart, Response, jsonify, make_response, request, send_file

app = Quart(__name__)
app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024  # bodies over 8 MiB get a 413
UPLOADS = tempfile.mkdtemp()


@app.get("/search")
async def search():
    words = request.args.getlist("word")  # ?word=a&word=b
    page = request.args.get("page", 1, type=int)  # not an int: the default
    return {"words": words, "page": page, "agent": request.headers.get("User-Agent")}


@app.post("/json")
async def receive_json():
    data = await request.get_json()  # None unless the body is declared as JSON
    if data is None:
        return {"error": "send JSON"}, 415
    return jsonify(received=data)


@app.post("/form")
async def receive_form():
    form = await request.form
    return {"name": form["name"], "tags": form.getlist("tag")}  # a missing "name" is a 400


@app.post("/upload")
async def upload():
    files = await request.files
    upload = files.get("document")
    if upload is None or not upload.filename:
        return {"error": "no file"}, 400
    path = os.path.join(UPLOADS, secure_filename(upload.filename))
    await upload.save(path)  # written in a thread, off the event loop
    return {"saved": os.path.basename(path), "type": upload.mimetype}, 201


@app.get("/download/<name>")
async def download(name):
    path = os.path.join(UPLOADS, secure_filename(name))
    if not os.path.isfile(path):
        return {"error": "no such file"}, 404
    return await send_file(path, as_attachment=True)  # ETag, ranges, 304s included


@app.put("/raw")
async def raw():
    size = 0
    async for chunk in request.body:  # streamed: never held whole in memory
        size += len(chunk)
    return {"bytes": size}


@app.post("/big-upload")
async def big_upload():
    request.max_content_length = 100 * 1024 * 1024  # this view takes more
    request.body_timeout = 600  # and waits longer for it
    data = await request.get_data()
    return {"bytes": len(data)}


@app.get("/kinds/<kind>")
async def kinds(kind):
    if kind == "text":
        return "plain text is sent as text/html"
    if kind == "status":
        return "created", 201
    if kind == "headers":
        return "with a header", {"X-Example": "yes"}
    if kind == "all":
        return "teapot", 418, {"Content-Type": "text/plain"}
    if kind == "list":
        return [1, 2, 3]  # JSON too
    if kind == "response":
        response = Response("built by hand", status=202, mimetype="text/plain")
        response.set_cookie("seen", "1", httponly=True)
        return response
    response = await make_response("made, then changed")
    response.headers["Cache-Control"] = "no-store"
    return response


@app.get("/stream")
async def stream():
    async def lines():
        for number in range(3):
            yield f"line {number}\n"

    return lines(), {"Content-Type": "text/plain"}

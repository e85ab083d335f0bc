from quart import Quart, abort, redirect, render_template_string, request, url_for

app = Quart(__name__)
notes: dict[int, str] = {}  # kept in memory: gone when the server stops

PAGE = """
<ul>{% for id, text in notes.items() %}
  <li><a href="{{ url_for('show_note', note_id=id) }}">{{ text }}</a></li>
{% endfor %}</ul>
<form method="post" action="{{ url_for('add_note') }}">
  <input name="text"> <button>Add</button>
</form>
"""


@app.get("/")
async def index():
    return await render_template_string(PAGE, notes=notes)


@app.post("/notes")
async def add_note():
    form = await request.form  # the body is read when awaited
    text = form.get("text", "").strip()
    if not text:
        abort(400, "A note needs some text.")
    note_id = len(notes) + 1
    notes[note_id] = text
    return redirect(url_for("show_note", note_id=note_id))


@app.get("/notes/<int:note_id>")
async def show_note(note_id):
    if note_id not in notes:
        abort(404)
    return {"id": note_id, "text": notes[note_id]}  # a dict is sent as JSON


@app.post("/api/notes")
async def create_note():
    data = await request.get_json()
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        abort(400, 'Send {"text": "..."} as JSON.')
    note_id = len(notes) + 1
    notes[note_id] = data["text"]
    return {"id": note_id, "text": notes[note_id]}, 201


@app.errorhandler(404)
async def not_found(error):
    return {"error": "not found", "path": request.path}, 404


if __name__ == "__main__":
    app.run()

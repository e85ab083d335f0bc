from quart import Quart, render_template, stream_template

app = Quart(__name__)  # templates are looked up in the templates/ folder beside this file


@app.template_filter("shout")
def shout(text):
    return f"{text.upper()}!"


@app.context_processor
async def site_name():
    return {"site": "Notes"}  # every template sees {{ site }}


@app.get("/")
async def index():
    notes = ["buy milk", "<b>call Ann</b>"]  # escaped in the page: &lt;b&gt;
    return await render_template("index.html", title="Home", notes=notes)


@app.get("/report")
async def report():
    async def rows():
        for number in range(1, 4):
            yield {"number": number}

    return await stream_template("report.html", rows=rows())  # sent while it renders

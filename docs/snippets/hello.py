from quart import Quart, request

app = Quart(__name__)


@app.get("/")
async def hello():
    return f"Hello, {request.args.get('name', 'World')}!"


@app.post("/echo")
async def echo():
    return {"you sent": await request.get_json()}

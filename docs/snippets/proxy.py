from hypercorn.middleware import ProxyFixMiddleware

from quart import Quart, request, url_for

app = Quart(__name__)
app.config["TRUSTED_HOSTS"] = ["example.com", "www.example.com"]  # other Host headers: 400


@app.get("/whoami")
async def whoami():
    return {
        "client": request.remote_addr,
        "scheme": request.scheme,
        "host": request.host,
        "url": url_for("whoami", _external=True),
    }


# One proxy in front (nginx, a load balancer): believe the last entry it added to
# X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host, and nothing before it.
app.asgi_app = ProxyFixMiddleware(app.asgi_app, mode="legacy", trusted_hops=1)

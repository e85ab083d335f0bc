"""The benchmark endpoints written for each framework under comparison: ``app`` (the six micro
endpoints and a websocket echo) and ``realistic_app`` (session, template, upload, error
handlers, static files, server-sent events) in each module."""

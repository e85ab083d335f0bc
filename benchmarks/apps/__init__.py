"""The same six endpoints, and a websocket echo, written for each framework under comparison."""

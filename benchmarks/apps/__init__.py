"""The same six endpoints written for each framework under comparison."""

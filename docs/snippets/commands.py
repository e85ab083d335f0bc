import click

from quart import Blueprint, Quart, current_app
from quart.cli import AppGroup

app = Quart(__name__)
app.config["USERS"] = ["ann"]


@app.get("/")
async def index():
    return "home"


@app.cli.command("init-db")
@click.option("--drop", is_flag=True, help="Drop the tables first.")
async def init_db(drop):
    """Create the database tables."""
    click.echo(f"Initialising {current_app.name}'s database (drop={drop}).")


users = AppGroup("users", help="Manage users.")


@users.command("add")
@click.argument("name")
def add_user(name):
    current_app.config["USERS"].append(name)  # commands run in the app context
    click.echo(f"Added {name}; {len(current_app.config['USERS'])} users.")


app.cli.add_command(users)

reports = Blueprint("reports", __name__)  # its commands: quart reports ...


@reports.cli.command("monthly")
@click.argument("month", type=int)
def monthly(month):
    click.echo(f"Report for month {month}.")


app.register_blueprint(reports)


@app.shell_context_processor
def shell_names():
    return {"users": app.config["USERS"]}  # names quart shell starts with

"""The CLI runner: invoke an app's click commands in tests (``app.test_cli_runner()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from click.testing import CliRunner, Result

from ..cli import ScriptInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    import click

    from ..app import Quart


class QuartCliRunner(CliRunner):
    """A ``click.testing.CliRunner`` bound to an app: ``invoke`` runs ``app.cli`` unless
    given another command, with a ``ScriptInfo`` that loads this app.

    ``app.debug`` is left as the test set it (``QUART_DEBUG`` is not read), so a test's
    outcome does not depend on the shell it runs in.
    """

    def __init__(self, app: Quart, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self,
        cli: click.Command | None = None,
        args: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Result:
        """Invoke ``cli`` (by default ``app.cli``) with ``args``; see
        ``click.testing.CliRunner.invoke`` for the keyword arguments."""
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app, set_debug_flag=False)
        return super().invoke(cli, args, **kwargs)

"""The ``crisp-ml`` command. Subcommands load on use, so ``--help`` never imports Copier."""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
SUBCOMMANDS = {
    "adopt": "crisp_ml.adopt:adopt",
    "new": "crisp_ml.new:new",
    "update": "crisp_ml.update:update",
    "check-update": "crisp_ml.check_update:check_update",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup)
@click.version_option(package_name="crisp-ml")
def main() -> None:
    """Create and update CRISP-ML repositories from the crisp-ml Copier template."""

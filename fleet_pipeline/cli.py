"""The `fleet-pipeline` command.

Sub-commands live beside the code they drive (erp/cli.py, simulator/cli.py, ...) and are imported
only when used, so `fleet-pipeline --help` stays fast and one broken optional piece does not take
the whole command down.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from fleet_pipeline import __version__

# name -> "module:attribute" of a click command or group.
SUBCOMMANDS: dict[str, str] = {
    "erp": "fleet_pipeline.erp.cli:erp",
    "simulator": "fleet_pipeline.simulator.cli:simulator",
    "db": "fleet_pipeline.ledger.cli:db",
    "webhooks": "fleet_pipeline.webhooks.cli:webhooks",
    "status": "fleet_pipeline.reconcile_cli:status",
    "demo": "fleet_pipeline.demo:demo",
    "send": "fleet_pipeline.uploads.cli:send",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in SUBCOMMANDS if self._available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # not built yet in this version
            raise
        return getattr(module, attr)

    @staticmethod
    def _available(name: str) -> bool:
        module_name = SUBCOMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="fleet-pipeline")
def main() -> None:
    """Send ERP deliveries to the Cartrack Fleet API and prove what happened to each job."""

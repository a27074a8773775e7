"""One module per `callflow` subcommand (see callflow.cli for the contract)."""

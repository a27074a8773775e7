"""`python -m callflow`: the same as the `callflow` command."""

from callflow.cli import console_main

console_main()

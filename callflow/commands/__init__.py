"""One module per `callflow` subcommand (see callflow.cli for the contract).

`COMMANDS` is the registry: each subcommand's name (its module's name) and one-line help, so
that ``callflow --help`` lists every command without importing any of them. A command's
module is imported only when that command is chosen; a test holds this table to the modules'
own ``NAME`` and ``HELP``.
"""

COMMANDS: dict[str, str] = {
    "apps": "manage SIP Control Apps and their TN leases (on the API or the sandbox)",
    "build": "run a Python builder script (defining `flow` or `build()`) and print its XML",
    "calls": "show the sandbox call log: what the caller heard and where each executed call went",
    "completion": "print a shell completion script for bash, zsh or fish",
    "convert": "convert a call XML file into a Python builder script that reproduces it, "
    "or TwiML into OpenTact call XML",
    "execute": "validate a call flow and execute it on a SIP Control App (the sandbox by default)",
    "explain": "map a saved API error body (JSON envelope or text) back to the flow's source lines",
    "graph": "draw a call flow (*.xml, *.xml.j2, *.py) as a diagram: mermaid, dot, svg or png",
    "init": "scaffold a call flow project: sample flow, template, builder script, test, "
    "editor settings",
    "invoke": "send an app's URL the request the platform would send, and validate the reply",
    "lsp": "run the language server (LSP over stdio) for editors: diagnostics, completion, hover",
    "render": "render a *.xml.j2 template with variables, validate it and print the XML",
    "sandbox": "run the bundled OpenTact API emulator on a loopback port, or show its details",
    "serve": "serve a folder of flows (*.xml, *.xml.j2, *.py) to the platform, validating "
    "every reply",
    "simulate": "simulate a call through a flow (*.xml, *.xml.j2, *.py) with scripted key presses",
    "templates": "list the bundled template library with each template's variables",
    "test": "run scenario files (*.calls.toml): scripted calls with expectations, and flow "
    "coverage",
    "validate": "validate call flow files (*.xml, *.xml.j2 templates, *.py builder scripts)",
}

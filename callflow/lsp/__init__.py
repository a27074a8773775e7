"""The language server behind ``callflow lsp`` (pygls): diagnostics, completion, hover, fixes.

Private: the command is the interface. `create_server` builds the server, `serve` runs it
on standard input and output.
"""

from __future__ import annotations

from callflow.lsp._server import DOCS_URL, code_url, create_server, serve

__all__ = ["DOCS_URL", "code_url", "create_server", "serve"]

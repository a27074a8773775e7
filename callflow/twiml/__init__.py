"""Migrating from Twilio: TwiML documents and templates → OpenTact call XML, with a report.

::

    from callflow.twiml import convert_twiml

    conversion = convert_twiml("flows/ivr.xml", base_url="https://app.example.com/ivr")
    for diagnostic in conversion.diagnostics:  # the migration report, at TwiML lines
        print(diagnostic)
    print(conversion.text)  # the OpenTact document, validated and linted

The converted document is checked (schema, then lint) before it is returned; lint findings
on it point back at the TwiML line they came from. A conversion whose report holds an error
(a relative URL with no base URL, a document that is not TwiML) has ``ok`` false.
"""

from __future__ import annotations

from callflow.twiml._api import TwimlConversion, convert_twiml, convert_twiml_template

__all__ = ["TwimlConversion", "convert_twiml", "convert_twiml_template"]

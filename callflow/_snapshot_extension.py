"""The syrupy extension behind ``callflow_snapshot`` (kept apart: syrupy imports pytest)."""

from __future__ import annotations

from typing import Any

from syrupy.extensions.amber import AmberSnapshotExtension

from callflow.document import Document
from callflow.simulate import Transcript
from callflow.snapshots import canonical_xml, transcript_text


class CallflowSnapshotExtension(AmberSnapshotExtension):
    """syrupy's amber snapshots, with Documents as canonical XML and Transcripts as text.

    Use it through the ``callflow_snapshot`` fixture, or
    ``snapshot.use_extension(CallflowSnapshotExtension)``.
    """

    def serialize(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Document):
            data = canonical_xml(data)
        elif isinstance(data, Transcript):
            data = transcript_text(data)
        return super().serialize(data, **kwargs)

"""Why a proxy could not be trained, as one line the search stores as the trial's reason."""

from __future__ import annotations


class TrainingFailed(RuntimeError):
    """Training stopped for a reason that retrying the same spec and budget will not fix.

    Raised for a diverging loss (NaN/inf), running out of memory, or an exception inside the
    model's forward pass. ``str(exc)`` is one line naming the cause and a way forward.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(reason.split()))

    @property
    def reason(self) -> str:
        return str(self)

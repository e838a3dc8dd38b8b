r"""Where an exported architecture came from, and how that goes into a docstring safely.

Study names and command lines are arbitrary text read from storage or the shell: a study called
``\"\"\"; import os; os.system("x") #`` must not become code. Such text only ever appears inside
the module docstring, JSON-escaped (``\"``, ``\\``, ``\n``, ``\uXXXX``), so it can neither close
the string nor start a line; numbers are converted with ``int``/``float`` and checked finite.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from nas.results.uncertainty import NO_NOISE_DECIMALS, Estimate


def quoted(text: str) -> str:
    """``text`` JSON-quoted: ASCII, one line, every quote and backslash escaped."""
    return json.dumps(str(text), ensure_ascii=True)


def _finite(name: str, value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class Origin:
    """The trial an export was taken from (every field optional for ``--spec`` exports).

    Attributes:
        study: study name, untrusted text.
        trial: trial number.
        score: ``(metric name, estimate)`` of the trial's first objective: the proxy's score
            under the study's ``[objectives] signal`` (``val_accuracy``, ``neg_tail_loss``...),
            written with no more digits than its noise supports.
        confirmed: the validation accuracy of the longer confirmation runs, if any (written
            only without ``accuracy``, to three decimals: it comes without its noise).
        macs: MACs of the exported spec for one ``input_size`` x ``input_size`` image.
        params: parameters of the exported spec.
        input_size: the exported spec's input size, which ``macs`` is counted at.
        proxy: the proxy scale the weights were trained at, when weights are exported.
        date: ISO-8601 UTC time of the export.
        command: the command line that made the file, untrusted text.
    """

    date: str
    command: str
    study: str | None = None
    trial: int | None = None
    score: tuple[str, Estimate] | None = None
    confirmed: float | None = None
    macs: int | None = None
    params: int | None = None
    weights: str | None = None
    input_size: int | None = None
    accuracy: str | None = None
    choice: str | None = None

    def lines(self) -> list[str]:
        """``key: value`` lines for the docstring, every untrusted value quoted."""
        out = []
        if self.study is not None:
            out.append(f"study: {quoted(self.study)}")
        if self.trial is not None:
            out.append(f"trial: {int(self.trial)}")
        if self.confirmed is not None and self.accuracy is None:  # else given with its noise
            accuracy = _finite("confirmed", self.confirmed)
            out.append(
                f"confirmed val_accuracy: {accuracy:.{NO_NOISE_DECIMALS}f} "
                "(the front retrained longer)"
            )
        if self.score is not None:
            out.append(_score_line(*self.score))
        size = "" if self.input_size is None else f"{int(self.input_size)}x{int(self.input_size)} "
        if self.macs is not None:
            out.append(f"MACs: {int(self.macs):,} (one {size}image, as exported)")
        if self.params is not None:
            out.append(f"params: {int(self.params):,} (as exported)")
        if self.weights is not None:
            out.append(f"weights: {quoted(self.weights)}")
        for key, text in (("accuracy", self.accuracy), ("choice", self.choice)):
            if text is not None:  # "+-": quoted() would write "±" as an escape
                out.append(f"{key}: {quoted(text.replace('±', '+-'))}")
        out.append(f"exported: {quoted(self.date)}")
        out.append(f"command: {quoted(self.command)}")
        return out


def _score_line(name: str, score: Estimate) -> str:
    """``val_accuracy: 0.795 +- 0.006 (the proxy's score)``, or the bare mean and that it
    carries no measured noise; numbers checked finite, the name quoted."""
    checked = Estimate(
        _finite(name, score.mean),
        None if score.se is None else _finite(name, score.se),
        int(score.n),
        bound=None if score.bound is None else _finite(name, score.bound),
    )
    noise = "" if checked.se is not None else "; no measured noise"
    value = checked.text().replace("±", "+-")
    return f"{quoted(name)[1:-1]}: {value} (the proxy's score{noise})"

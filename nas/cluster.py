"""Joining the Ray cluster ``$RAY_ADDRESS`` names, and Ray's token authentication.

``nas search`` joins a running cluster when ``RAY_ADDRESS`` is set, and it does so before it
opens the study: a cluster it cannot join then leaves no study and no queued trial behind.
``nas submit`` asks the same cluster for its job server when given a ``HOST:port`` address.

Ray's token authentication (Ray >= 2.52, docs.ray.io ``ray-security/token-auth``) is one
setting, ``RAY_AUTH_MODE`` (``token`` or ``disabled``), that must be the same on every node and
every process talking to the cluster; the token itself is ``$RAY_AUTH_TOKEN``, else the file
``$RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``. With ``RAY_AUTH_MODE`` unset,
``ray start --head`` turns token auth on whenever the machine has a token file (any earlier
local ``ray.init()`` writes one), but a process joining by an explicit address does not: it
sends no token, and Ray retries for about 20 s before a ``ConnectionError`` that does not say
why. So the cluster is asked once first (:func:`probe`, Ray's own GCS client), and a refusal is
one line naming the variable that fixes it.

``ray._raylet.InnerGcsClient`` is private Ray; it is used here only, and
``tests/nas/test_cluster.py`` runs it against a real head with token auth on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

ADDRESS_VARIABLE = "RAY_ADDRESS"
MODE_VARIABLE = "RAY_AUTH_MODE"
TOKEN_VARIABLE = "RAY_AUTH_TOKEN"
TOKEN_PATH_VARIABLE = "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")
PROBE_TIMEOUT_MS = 5_000
"""How long :func:`probe` waits for the cluster's GCS (Ray's client retries within it)."""
HEAD_TOKEN = "the head's token, which `ray get-auth-token` prints there"
SEE = "see docs/cluster.md"


def cluster_address() -> str | None:
    """``$RAY_ADDRESS`` (the cluster ``nas search`` joins), or ``None``: start a local Ray.

    ``local`` is Ray's word for "start a new local cluster", so it is ``None`` too.
    """
    value = os.environ.get(ADDRESS_VARIABLE, "").strip()
    return None if value in ("", "local") else value


def token_mode() -> bool:
    """Whether this process's Ray sends a token (``RAY_AUTH_MODE=token``)."""
    return os.environ.get(MODE_VARIABLE, "").strip().lower() == "token"


def ray_token() -> tuple[str | None, str]:
    """``(token, where it was looked for)``, in Ray's order: ``$RAY_AUTH_TOKEN``, the file
    ``$RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``; ``None`` when that place has none."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if token:
        return token, f"${TOKEN_VARIABLE}"
    given = os.environ.get(TOKEN_PATH_VARIABLE, "").strip()
    path = Path(given) if given else DEFAULT_TOKEN_FILE
    where = f"${TOKEN_PATH_VARIABLE} ({given})" if given else str(DEFAULT_TOKEN_FILE)
    try:
        return path.expanduser().read_text().strip() or None, where
    except OSError:
        return None, where


def check_token_settings() -> None:
    """``ValueError`` when ``RAY_AUTH_MODE=token`` but there is no token to send (Ray itself
    aborts the process in that case, from C++, without a Python error)."""
    if not token_mode():
        return
    token, where = ray_token()
    if token is None:
        raise ValueError(
            f"{MODE_VARIABLE}=token but no Ray token in {where}: export {TOKEN_VARIABLE}="
            f"<{HEAD_TOKEN}> ({SEE})"
        )


def auth_refused(address: str, *, what: str = "the Ray cluster", sent: bool | None = None) -> str:
    """The one line for a cluster that refused this process: the variable that fixes it.

    ``sent`` says whether a token was sent (default: whether ``RAY_AUTH_MODE=token``)."""
    if not (token_mode() if sent is None else sent):
        return (
            f"{what} at {address} has Ray token authentication on and this process sends no "
            f"token: export {MODE_VARIABLE}=token here, as on every node (and on another "
            f"machine than the head {TOKEN_VARIABLE}=<{HEAD_TOKEN}>), or start the cluster "
            f"with {MODE_VARIABLE}=disabled; {SEE}"
        )
    return (
        f"{what} at {address} refused this machine's Ray token (from {ray_token()[1]}): "
        f"export {TOKEN_VARIABLE}=<{HEAD_TOKEN}>; {SEE}"
    )


def probe(address: str) -> None:
    """Ask the cluster's GCS at ``address`` (``HOST:port``) once; ``ValueError`` (one line) if
    it refuses this process's token setting or does not answer. Other address forms are left
    to the caller's own connection, which reports them."""
    if "://" in address or ":" not in address:
        return  # ``auto``, ``ray://``, ``http://``: resolved by Ray itself, not a GCS address
    check_token_settings()
    try:
        from ray._raylet import InnerGcsClient  # type: ignore[attr-defined]
        from ray.exceptions import AuthenticationError
    except ImportError:  # pragma: no cover - a Ray without token auth or this client
        return
    try:
        with _stderr_muted():
            InnerGcsClient.standalone(address, None, PROBE_TIMEOUT_MS)
    except AuthenticationError:
        raise ValueError(auth_refused(address)) from None
    except (TypeError, AttributeError):  # pragma: no cover - Ray changed its private client
        return
    except Exception as exc:  # Ray's RpcError: no GCS there (ray.init would retry ~20 s more)
        raise ValueError(_unreachable(address, exc)) from None


@contextlib.contextmanager
def joined_cluster(*, verbose: bool = False) -> Iterator[bool]:
    """Joined to the cluster ``$RAY_ADDRESS`` names (``ray.init``) for the block, and left
    (``ray.shutdown``, which leaves the cluster running) after it. Yields ``False`` when no
    cluster is named or this process is already connected: nothing is joined or left then.
    A cluster that cannot be joined is a ``ValueError`` of one line, raised before the block,
    so before the caller has written anything."""
    address = cluster_address()
    if address is None:
        yield False
        return
    import ray

    if ray.is_initialized():
        yield False
        return
    probe(address)
    try:
        ray.init(
            address=address,
            log_to_driver=verbose,
            logging_level=logging.INFO if verbose else logging.ERROR,
        )
    except Exception as exc:
        raise ValueError(_join_failed(address, exc)) from exc
    try:
        yield True
    finally:
        ray.shutdown()


def _join_failed(address: str, exc: BaseException) -> str:
    from ray.exceptions import AuthenticationError

    for error in exception_chain(exc):  # Ray wraps it: its text is in a RuntimeError's traceback
        if isinstance(error, AuthenticationError) or "InvalidAuthToken" in str(error):
            return auth_refused(address)
    return _unreachable(address, exc)


def _unreachable(address: str, exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = f"{type(exc).__name__}: {lines[0][:200] if lines else 'no reason given'}"
    return (
        f"could not reach the Ray cluster at {address} ({reason}): start it with `ray start "
        f"--head`, check it with `ray status --address {address}`, or unset {ADDRESS_VARIABLE}"
        " to start a Ray on this machine"
    )


@contextlib.contextmanager
def _stderr_muted() -> Iterator[None]:
    """File descriptor 2 sent to ``/dev/null`` for the block: Ray's C++ client logs each
    refused request there itself, a second line beside the one this module prints."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or during, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__

"""What ``nas submit`` sends: ``python -m nas search CONFIG`` as a Ray job, checked here first.

The config file is read and validated by the loader ``nas search`` uses (``SearchConfig``), with
the same flag overrides, before anything reaches Ray. The job then runs in a folder of Ray's
own (the ``working_dir`` of its ``runtime_env``: a temporary folder holding only the config,
uploaded by Ray when the job is submitted), so nothing in it may be relative to the folder the
user submitted from:

* the storage is resolved here (``--storage``, the config's ``[search] storage``,
  ``$NAS_STORAGE``, else ``nas-results/nas.db`` under this folder, made absolute) and given to
  the job as ``$NAS_STORAGE`` in its ``runtime_env`` and ``--storage "$NAS_STORAGE"`` on its
  command line. A PostgreSQL password is never sent: Ray keeps a job's ``runtime_env`` and
  shows it (``ray job list``, the dashboard), so ``$NAS_STORAGE`` holds the URL with the
  password written ``${NAS_STORAGE_PASSWORD}`` (:func:`storage.redact`), and the job reads that
  variable from the cluster's environment, where ``ray start`` ran. A config file that holds a
  password itself is refused, because Ray uploads the file too;
* ``--artifacts`` and the config's ``[search] artifacts`` are made absolute here;
* a relative ``[data] data_dir`` is refused (it would be read relative to Ray's copy).

A SQLite file exists on one machine: submitting with one to a job server on another machine is
refused, with a hint to use PostgreSQL (docs/cluster.md).
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nas.config import SearchConfig

STOP_WAIT_S = 30
"""Seconds Ray waits after SIGTERM before SIGKILL (``RAY_JOB_STOP_WAIT_TIME_S``, Ray's default
is 3): ``nas search`` stops on SIGTERM like Ctrl-C, queueing its running trials again."""


@dataclass(frozen=True)
class Submission:
    """A validated search, ready to be sent to a job server."""

    config: SearchConfig
    config_name: str
    config_text: str
    storage_url: str
    flags: tuple[str, ...]
    """``nas search`` flags after the config file, ``--storage`` excepted."""

    @classmethod
    def prepare(
        cls, path: str, overrides: dict[str, Any], *, no_confirm: bool, verbose: bool
    ) -> Submission:
        """Read and check ``path`` with ``overrides`` (``nas search``'s ``[search]`` flags)."""
        from nas.textfile import load_toml, read_text
        from storage import resolve_url
        from storage.artifacts import artifacts_dir_for

        config = SearchConfig.from_toml(path).with_overrides(**overrides)
        raw = load_toml("config", path)
        _refuse_relative_data_dir(raw)
        _refuse_written_password(path, raw)
        url = resolve_url(config.search.storage)
        artifacts = artifacts_dir_for(url, config.search.artifacts)  # no place: refused now
        flags = ["--study", config.search.study]
        if config.search.artifacts is not None:
            flags += ["--artifacts", str(artifacts)]
        for name in ("trials", "concurrency", "seed", "sampler", "pruner"):
            if overrides.get(name) is not None:
                flags += [f"--{name}", str(overrides[name])]
        flags += ["--no-confirm"] * no_confirm + ["--verbose"] * verbose
        return cls(config, Path(path).name, read_text("config", path), url, tuple(flags))

    @property
    def entrypoint(self) -> str:
        """The job's shell command; ``$NAS_STORAGE`` is set by its ``runtime_env``."""
        search = shlex.join(["python", "-m", "nas", "search", self.config_name, *self.flags])
        return f'{search} --storage "$NAS_STORAGE"'

    def check_storage_reaches(self, job_server_url: str) -> None:
        """``ValueError`` when the storage is a SQLite file and the job server another machine."""
        from storage.urls import sqlite_path

        database = sqlite_path(self.storage_url)
        host = urlsplit(job_server_url).hostname or ""
        if database is not None and not on_this_machine(host):
            raise ValueError(
                f"storage is the SQLite file {database}, which only this machine has, but the "
                f"job server {job_server_url} is on {host}; give the search a PostgreSQL "
                "storage every node reaches, --storage postgresql://USER:PW@HOST/DB "
                "(docs/cluster.md)"
            )

    def request(self, folder: Path) -> dict[str, Any]:
        """``submit_job`` keywords; the config is written into ``folder``, the working_dir Ray
        uploads during ``submit_job`` (``folder`` may be removed once it returns)."""
        from storage import redact

        (folder / self.config_name).write_text(self.config_text, encoding="utf-8")
        return {
            "entrypoint": self.entrypoint,
            "runtime_env": {
                "working_dir": str(folder),
                "env_vars": {
                    "NAS_STORAGE": redact(self.storage_url),
                    "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S),
                },
            },
            "metadata": {
                "nas_study": self.config.search.study,
                "nas_config": self.config_name,
                "nas_storage": redact(self.storage_url),
            },
        }

    @property
    def password_note(self) -> str | None:
        """Where the job finds the storage password (it is not sent), when the URL has one."""
        from storage.urls import password_variable

        name = password_variable(self.storage_url)
        if name is None:
            return None
        return (
            f"the job reads the storage password from ${name} on the cluster (it is not sent "
            f"with the job): export {name} where `ray start --head` runs"
        )


def on_this_machine(host: str) -> bool:
    """Whether ``host`` names this machine: a loopback address, or one a socket here can bind."""
    if host in ("", "localhost"):
        return True
    try:
        addresses = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError):
        return False
    for family, kind, _, _, sockaddr in addresses:
        ip = str(sockaddr[0])
        if ipaddress.ip_address(ip.split("%")[0]).is_loopback:
            return True
        with socket.socket(family, kind) as probe:
            try:
                probe.bind((ip, 0))
            except OSError:
                continue
            return True
    return False


def _refuse_relative_data_dir(raw: dict[str, Any]) -> None:
    data = raw.get("data")
    data_dir = data.get("data_dir") if isinstance(data, dict) else None
    if isinstance(data_dir, str) and data_dir and not Path(data_dir).expanduser().is_absolute():
        raise ValueError(
            f"data.data_dir = {data_dir!r} is relative, but a job reads its config from Ray's "
            "copy of it in another folder; give an absolute path (as the cluster sees it)"
        )


def _refuse_written_password(path: str, raw: dict[str, Any]) -> None:
    from storage.urls import PASSWORD_ENV, holds_password, redact

    search = raw.get("search")
    storage = search.get("storage") if isinstance(search, dict) else None
    if isinstance(storage, str) and holds_password(storage):
        raise ValueError(
            f"config {path}: [search] storage holds a password, and the job would upload the "
            f"file to the cluster; write it as {redact(storage)!r} and export {PASSWORD_ENV} "
            "where `ray start --head` runs"
        )

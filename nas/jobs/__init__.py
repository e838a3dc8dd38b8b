"""Searches as Ray jobs: ``nas submit``, ``nas jobs``, ``nas logs``, ``nas stop``.

Through Ray's public Jobs API (``ray.job_submission.JobSubmissionClient``, served by the
dashboard of a head started with ``ray start --head``); see docs/cluster.md.

* :mod:`nas.jobs.server`: one job server, its address, its one-line errors;
* :mod:`nas.jobs.submission`: the checked config and what the job is sent as;
* :mod:`nas.jobs.follow`: following a job's output to its end.

Nothing is imported here, so ``nas jobs`` does not pay for the config loader's imports.
"""

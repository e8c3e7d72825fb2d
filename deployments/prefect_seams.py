"""The Prefect private seams `kefu serve` relies on (docs/architecture.md §Prefect internals used),
checked against the running Prefect at start.

The warm start (deployments/warm_start.py), the bounded poll and its wake on events
(deployments/runner.py) replace private methods of Prefect's runner and call private functions of its engine. They were read and tested
on the versions in `CHECKED_ON`. On another version, or when a seam is missing, `kefu serve` says so and
serves with Prefect's own runner (a new interpreter per run, unbounded poll) — slower, never silently
different."""

from __future__ import annotations

import importlib
import inspect

import prefect

CHECKED_ON = ("3.9.1",)

# (module, attribute path) that must exist
SEAMS = (
    ("prefect.flow_engine", "_run_serialized_call_with_control_bootstrap"),
    ("prefect.flow_engine", "_CONTROL_CHANNEL_ENV_KEYS"),
    ("prefect.flow_engine", "_runtime_subprocess_env"),
    ("prefect.flow_engine", "handle_engine_signals"),
    ("prefect.runner._process_manager", "ProcessHandle"),
    ("prefect.runner._starter_direct", "DirectSubprocessStarter"),
    ("prefect.runner._scheduled_run_poller", "ScheduledRunPoller._get_scheduled_flow_runs"),
    # the wake on events (deployments/runner.py RunWaker)
    ("prefect.runner._scheduled_run_poller", "ScheduledRunPoller.run"),
    ("prefect.runner._scheduled_run_poller", "ScheduledRunPoller._get_and_submit_flow_runs"),
    ("prefect.runner._scheduled_run_poller", "ScheduledRunPoller._submit_run"),
    ("prefect.runner._limit_manager", "LimitManager"),
    ("prefect.types._datetime", "now"),
)

POLLER_ATTRIBUTES = {"_submitting_flow_run_ids", "_limit_manager", "_deployment_registry", "_client",
                     "_prefetch_seconds", "stopping"}


def seam_problems(version: str | None = None) -> list[str]:
    """What does not match: an unchecked Prefect version, a seam that is gone. Empty = all good."""

    problems = []
    running = version or prefect.__version__
    if running not in CHECKED_ON:
        problems.append(f"Prefect {running} is not a version the warm start was checked on ({', '.join(CHECKED_ON)})")
    for module, path in SEAMS:
        try:
            obj = importlib.import_module(module)
            for part in path.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            problems.append(f"{module}.{path} is missing")
    starter = inspect.signature(importlib.import_module("prefect.runner._starter_direct").DirectSubprocessStarter)
    if not {"flow", "deployment_name", "heartbeat_seconds", "control_channel"} <= set(starter.parameters):
        problems.append("DirectSubprocessStarter's signature changed")
    poller = importlib.import_module("prefect.runner._scheduled_run_poller").ScheduledRunPoller
    if "resolve_starter" not in inspect.signature(poller).parameters:  # kept as `_resolve_starter`
        problems.append("ScheduledRunPoller no longer takes resolve_starter")
    # the poller's instance attributes deployments/runner.py reads (set in its __init__)
    missing = POLLER_ATTRIBUTES - set(poller.__init__.__code__.co_names)
    if missing:
        problems.append(f"ScheduledRunPoller no longer sets {', '.join(sorted(missing))}")
    limits = importlib.import_module("prefect.runner._limit_manager").LimitManager
    if "_limiter" not in limits.__init__.__code__.co_names:
        problems.append("LimitManager no longer keeps its _limiter")
    return problems

"""Start flow runs from a warm process instead of a fresh interpreter.

Prefect 3.9's runner starts every flow run — a new case and every resumed one after an answer —
with `multiprocessing`'s *spawn*: a new Python that imports Prefect and the flow's modules again
(≈ 1.2–1.5 s of CPU on this kind of machine, per run). A complaint is about eleven such starts.

Here the runner uses *forkserver* instead: one small server process imports Prefect and the flow
modules once, and each run is a fork of it (≈ 6 ms). Everything else is Prefect's own code path:
the same pickled call (`prefect.flow_engine._run_serialized_call_with_control_bootstrap`), the same
environment hand-over, the same control channel for cancellation, the same process handle. The
forkserver is single-threaded when it forks, so forking it is safe, and it exits with the runner.

`KEFU_RUNNER_START=spawn` turns this off (Prefect's default behaviour). The hook into the runner is
Prefect's private starter seam (`ScheduledRunPoller._resolve_starter`, `DirectSubprocessStarter`);
Prefect is pinned (deployments/prefect_seams.py checks the version at start)
and tests/e2e exercise this path, so a change there fails loudly.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import multiprocessing.context
import os
import sys
from dataclasses import dataclass
from multiprocessing import forkserver
from typing import Any

import anyio
import anyio.abc
from prefect.context import serialize_context
from prefect.flow_engine import (
    _CONTROL_CHANNEL_ENV_KEYS,
    _run_serialized_call_with_control_bootstrap,
    _runtime_subprocess_env,
    handle_engine_signals,
    run_flow,
)
from prefect.logging import get_logger
from prefect.runner._process_manager import ProcessHandle
from prefect.runner._starter_direct import DirectSubprocessStarter
from prefect.settings import get_current_settings
from prefect.utilities.callables import cloudpickle_wrapped_call
from prefect.utilities.processutils import sanitize_subprocess_env

from deployments.runner import KefuRunner

# What the forkserver imports once besides the served flows' own modules (`preload_for`); every flow
# run forks from it with these already loaded.
PRELOAD = [
    "prefect",
    "prefect.flow_engine",
    "prefect.task_engine",
    # imported lazily on the way to the first suspension (measured: 88 modules, ≈ 0.2 s a run)
    "prefect.utilities.visualization",
    "anyio._backends._asyncio",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",  # the dialect imports its driver on first connect (≈ 8 % of a run's CPU on PostgreSQL)
    # multiprocessing runs the runner's __main__ (`python -m deployments.cli serve`) again in every
    # child as `__mp_main__`; its one costly import is typer (preloading deployments.cli itself would
    # make runpy warn in every run)
    "typer",
    "yagmail",
    "smtplib",
    "email.mime.multipart",
    "email.mime.text",
    "holidays.countries.china",
    "encodings.idna",
    "rich._emoji_codes",
]


def preload_for(flows: list[Any]) -> list[str]:
    """PRELOAD, this module (a run unpickles `_run_flow_with_env` from it), the modules that define
    the served flows, and last the caches every run reads (deployments/warm_caches)."""
    return [*PRELOAD, __name__, *sorted({flow.fn.__module__ for flow in flows}), "deployments.warm_caches"]


def warm_context(preload: list[str] | None = None) -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD if preload is None else preload))
    return ctx


@dataclass(frozen=True)
class FlowRef:
    """A served flow by its import path. cloudpickle sends a `Flow` object by value (the module attribute
    is the Flow, not its function), and a function sent by value keeps only the globals its body names:
    a parameter annotated `datetime | None` under `from __future__ import annotations` then cannot be
    resolved, and Prefect's parameter validation failed every forked run of `sla-watchdog`. By reference,
    the child takes the flow from the module the warm process imported: the same object, nothing to
    rebuild (and less to pickle)."""

    module: str
    name: str

    @classmethod
    def of(cls, flow: Any) -> "FlowRef | Any":
        module, name = getattr(flow.fn, "__module__", None), getattr(flow.fn, "__name__", None)
        mod = sys.modules.get(module or "")
        return cls(module, name) if mod is not None and getattr(mod, name, None) is flow else flow

    def load(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


def _run_flow_with_env(*args: Any, env: dict[str, str] | None = None,
                       remove_env: set[str] | None = None, **kwargs: Any) -> None:
    """In the child: the flow run's environment, then Prefect's engine.

    Prefect's spawn path builds `Settings()` from the environment here once more; a forked run does
    not: its engine enters the runner's settings from the serialized context before it does anything
    (`hydrated_context`), and until then the warm process's settings — read from the same environment
    the runner started it with — apply. Building them cost ≈ 13 % of a forked run's CPU (py-spy)."""


    for key in remove_env or ():
        os.environ.pop(key, None)
    os.environ.update(env or {})
    if isinstance(kwargs.get("flow"), FlowRef):
        kwargs["flow"] = kwargs["flow"].load()
    flow_run = kwargs.get("flow_run")
    with handle_engine_signals(getattr(flow_run, "id", None)):
        maybe_coro = run_flow(*args, **kwargs)
        if asyncio.iscoroutine(maybe_coro):
            asyncio.run(maybe_coro)


def run_context(heartbeats: bool) -> dict[str, Any]:
    """The serialized Prefect context a forked run hydrates: the engine runs the flow in its settings."""

    context = serialize_context()
    if not heartbeats:
        # Prefect's heartbeat thread sleeps in whole seconds and the engine joins it on exit: with
        # heartbeats on, every run (each suspension) ends up to 1 s later. Nothing here consumes them.
        settings = context.setdefault("settings_context", {}).setdefault("settings", {})
        settings["flows"] = {**settings.get("flows", {}), "heartbeat_frequency": None}
    return context


def start_warm_flow_process(ctx: multiprocessing.context.BaseContext, flow: Any, flow_run: Any,
                            env: dict[str, str | None] | None = None,
                            heartbeats: bool = True) -> multiprocessing.process.BaseProcess:
    """`prefect.flow_engine.run_flow_in_subprocess`, with the process taken from `ctx`."""
    merged_env: dict[str, str | None] = (
        get_current_settings().to_environment_variables(exclude_unset=True)
        | os.environ
        | {"PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false"}
        | (env or {})
    )
    sanitized = sanitize_subprocess_env(merged_env)
    context = run_context(heartbeats)
    startup_env = {k: v for k, v in sanitized.items() if k in _CONTROL_CHANNEL_ENV_KEYS}
    wrapped_call = cloudpickle_wrapped_call(
        _run_flow_with_env,
        env=_runtime_subprocess_env(sanitized),
        remove_env={k for k, v in merged_env.items() if v is None},
        flow=FlowRef.of(flow),
        flow_run=flow_run,
        parameters=None,
        wait_for=None,
        context=context,
    )
    process = ctx.Process(target=_run_serialized_call_with_control_bootstrap,
                          args=(wrapped_call.args[0], startup_env))
    process.start()
    return process


class WarmStarter(DirectSubprocessStarter):
    """Prefect's DirectSubprocessStarter, forking from the warm server instead of spawning."""

    def __init__(self, direct: DirectSubprocessStarter, ctx: multiprocessing.context.BaseContext,
                 heartbeats: bool = True) -> None:
        super().__init__(flow=direct._flow, deployment_name=direct._deployment_name,
                         heartbeat_seconds=direct._heartbeat_seconds, control_channel=direct._control_channel)
        self._ctx = ctx
        self._heartbeats = heartbeats

    async def start(self, flow_run: Any,
                    task_status: anyio.abc.TaskStatus[ProcessHandle] = anyio.TASK_STATUS_IGNORED) -> None:
        env: dict[str, str | None] = {"PREFECT__DEPLOYMENT_NAME": self._deployment_name}
        registered = False
        if self._heartbeat_seconds is not None:
            env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(int(self._heartbeat_seconds))
        if self._control_channel is not None:
            try:
                port, token = self._control_channel.register(flow_run.id)
                env["PREFECT__CONTROL_PORT"] = str(port)
                env["PREFECT__CONTROL_TOKEN"] = token
                registered = True
            except RuntimeError:  # channel disabled: Prefect falls back to kill-only cancellation
                pass
        handed_off = False
        try:
            process = start_warm_flow_process(self._ctx, self._flow, flow_run, env, self._heartbeats)
            get_logger("runner.warm_start").info("flow run %r forked from the warm process (pid %s)",
                                                 flow_run.name, process.pid)
            task_status.started(ProcessHandle(process))
            handed_off = True
            await anyio.to_thread.run_sync(process.join)
        except BaseException:
            if registered and not handed_off:
                self._control_channel.unregister(flow_run.id)
            raise


class WarmRunner(KefuRunner):
    """Kefu's runner (bounded polls) whose in-memory flows start as forks of a warm server process."""

    def __init__(self, *args: Any, warm_preload: list[str] | None = None, flow_heartbeats: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._warm_ctx = warm_context(warm_preload)
        self._flow_heartbeats = flow_heartbeats

    async def __aenter__(self) -> "WarmRunner":
        await super().__aenter__()
        # Start the forkserver now (imports happen once, before the first run is due).

        await anyio.to_thread.run_sync(forkserver.ensure_running)
        resolve = self._scheduled_run_poller._resolve_starter

        def warm_resolve(flow_run: Any) -> Any:
            starter = resolve(flow_run)
            if type(starter) is DirectSubprocessStarter:
                return WarmStarter(starter, self._warm_ctx, self._flow_heartbeats)
            return starter

        self._scheduled_run_poller._resolve_starter = warm_resolve
        return self

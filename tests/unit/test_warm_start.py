"""The warm start's pieces that run without a Prefect server: the forkserver really starts processes
with the flows already imported, and a forked run's settings switch Prefect's heartbeats off."""

import os
import subprocess
import sys

from prefect.context import SettingsContext
from prefect.settings import get_current_settings

from deployments.warm_start import preload_for, run_context, warm_context
from models.settings import REPO_ROOT


def _imported(names, queue):
    queue.put({name: name in sys.modules for name in names})


def test_a_forked_process_has_the_flows_imported_already():
    ctx = warm_context(["flows.samples.request"])
    queue = ctx.Queue()
    process = ctx.Process(target=_imported, args=(["flows.samples.request", "prefect"], queue))
    process.start()
    try:
        assert queue.get(timeout=60) == {"flows.samples.request": True, "prefect": True}
    finally:
        process.join(30)
    assert process.exitcode == 0


def settings_in_child(context):
    """What the engine does with the context in the forked run (prefect.context.hydrated_context)."""
    return SettingsContext(**context["settings_context"]).settings


def test_heartbeats_are_off_in_the_run_context_unless_asked_for():
    default = get_current_settings().flows.heartbeat_frequency
    assert default is not None  # Prefect's default: on
    assert settings_in_child(run_context(heartbeats=False)).flows.heartbeat_frequency is None
    assert settings_in_child(run_context(heartbeats=True)).flows.heartbeat_frequency == default


def test_the_preload_holds_the_driver_typer_this_module_and_the_flows():
    from flows.samples.request import sample_request

    names = preload_for([sample_request])
    assert {"psycopg", "typer", "deployments.warm_start", "flows.samples.request"} <= set(names)
    assert names[-1] == "deployments.warm_caches"


CHECK_CACHES = """
from deployments.warm_start import preload_for, warm_context
from flows.samples.request import sample_request


def cached(queue):
    from tasks.platform.render import environment
    from tasks.platform.runtime import reference_data

    queue.put((len(environment().cache or {}), reference_data.cache_info().currsize))


if __name__ == "__main__":
    ctx = warm_context(preload_for([sample_request]))
    queue = ctx.Queue()
    process = ctx.Process(target=cached, args=(queue,))
    process.start()
    print(*queue.get(timeout=60))
    process.join(30)
"""


def test_a_forked_run_inherits_the_compiled_templates_and_the_org_directory(tmp_path):
    # a fresh interpreter: multiprocessing keeps one forkserver per process, started by the first test
    script = tmp_path / "check_caches.py"
    script.write_text(CHECK_CACHES)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert out.returncode == 0, out.stderr
    templates, reference = map(int, out.stdout.split())
    assert templates >= 40 and reference == 1

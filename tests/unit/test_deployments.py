"""The deployments: every procedure served locally is also in prefect.yaml and awaited by `kefu up`;
the backup (A4) runs daily at 02:00 Asia/Shanghai in both."""

import yaml

from deployments.names import DEPLOYMENTS
from deployments.serve import local_deployments
from models.settings import REPO_ROOT, Settings


def test_local_production_and_up_agree_and_the_backup_is_scheduled(tmp_path):
    local = {d.name: d for d in local_deployments(Settings(home=tmp_path))}
    prod = {d["name"]: d for d in yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]}
    assert set(local) == set(prod) == {name.split("/")[1] for name in DEPLOYMENTS}
    cron = local["archive-backup"].schedules[0].schedule
    assert (cron.cron, cron.timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert prod["archive-backup"]["schedules"] == [{"cron": "0 2 * * *", "timezone": "Asia/Shanghai"}]
    assert prod["archive-correction"]["entrypoint"] == "flows/archive/correction.py:archive_correction"

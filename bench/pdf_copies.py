"""CPU per PDF copy: the five 《客户抱怨处理表》 copies of a case (C17) and the three 《取样出门审批单》 copies
(P4), in one process, the way a worker issues them — before (fpdf2 parsing the CJK font for every
document; the sample slips drawn with Pillow) and after (tasks/platform/pdf.py: the font parsed once per process,
its subset cut once per glyph set).

    .venv/bin/python bench/pdf_copies.py [--cases 3] [--before-ref 1e0ee5d]

"Before" runs tasks/grievance/pdf.py and tasks/samples.py as they were at `--before-ref` (git show),
"after" the working tree's. Process CPU time (time.process_time), so other load on the machine
matters less than for wall time."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUMMARY = {"编号": "KS-2026-{n:04d}", "异常编号": "YC-2026-031", "客户": "无锡华美服饰有限公司", "订单编号": "XS-20261102-07",
           "料号 / 品名": "CY-40S 精梳棉纱 40S", "交运数量 / 日期": "2000 kg / 2026-11-02", "不良数量": "300 kg",
           "异常情况": "条干不匀，布面云斑（第 {n} 批）", "客户要求": "退货 300 kg", "退换数量": "300 kg", "类别": "品质异常",
           "附不良样品": "是", "业务员意见": "属实，建议退货", "业务员": "lin.tao@huajin.example", "结案期限": "2026-12-10 10:00",
           "质量管理部": "粗纱条干 CV 超标", "制造部门对策": "更换皮辊", "经理室批示": "同意对策，尽快答复客户"}
DECISION = {"handling": "return", "unit_price": "32.00", "amount": "9600.00", "cause_label": "本公司品质问题",
            "responsible_units": "生产部", "responsible_persons": "韩雪", "improvement_measure": "更换粗纱机皮辊并加强条干检测",
            "loss_total": "10400.00", "loss_basis_version": "2026-11-example",
            "fines": [{"party": "生产部", "amount": "500.00", "penalty_type": "品质问题罚扣"}],
            "penalty_basis_version": "2026-11-example"}
STEPS = [("总经理室编号登记《客户抱怨处理表》（当日）", "xie.ning@huajin.example", "registered", "2026-11-25 10:00"),
         ("质量管理部追查原因、判定责任单位", "feng.tao@huajin.example", "submitted", "2026-11-25 11:00"),
         ("制造部门分析原因、拟定对策", "han.xue@huajin.example", "submitted", "2026-11-25 15:00")] * 5
SLIP = ("华锦纺织 取样出门审批单\n第{cn}联 {name}\n单号：YP-2026-{n:04d}\n客户：甲公司\n品名：精梳棉纱 40S\n规格：40S/1\n"
        "数量：2 个，合计 1.600 kg")


def module_at(ref: str, path: str, name: str) -> types.ModuleType:
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{path}"], check=True, capture_output=True,
                         text=True).stdout
    mod = types.ModuleType(name)
    exec(compile(src, f"{ref}:{path}", "exec"), mod.__dict__)  # noqa: S102 - the repository's own code
    return mod


def cpu(fn: Callable[[], object]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def run(label: str, grievance_copy: Callable[..., object], slip_pdf: Callable[..., object], cases: int) -> None:
    from models.grievance import COPIES

    g, s = [], []
    for n in range(1, cases + 1):
        summary = {k: v.format(n=n) for k, v in SUMMARY.items()}
        g += [cpu(lambda c=c, sm=summary: grievance_copy(sm["编号"], c.mark, c.unit, sm, DECISION, STEPS))
              for c in COPIES]
        s += [cpu(lambda i=i, nm=nm, n=n: slip_pdf(f"YP-2026-{n:04d}", i + 1, SLIP.format(cn="一二三"[i], name=nm, n=n)))
              for i, nm in enumerate(("留存", "生产部", "出门证"))]
    print(f"{label}: grievance copy CPU s — first {g[0]:.2f}, median {statistics.median(g):.2f}, "
          f"total of {len(g)} {sum(g):.2f}; sample slip copy — first {s[0]:.2f}, median {statistics.median(s):.2f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=3)
    p.add_argument("--before-ref", default="1e0ee5d")
    p.add_argument("--only", choices=("before", "after"))
    a = p.parse_args()
    if a.only is None:  # each in its own process: the caches start empty
        for which in ("before", "after"):
            subprocess.run([sys.executable, __file__, "--cases", str(a.cases), "--before-ref", a.before_ref,
                            "--only", which], check=True)
        return
    if a.only == "before":
        old_g = module_at(a.before_ref, "tasks/grievance/pdf.py", "old_grievance_pdf")
        old_s = module_at(a.before_ref, "tasks/samples.py", "old_samples")
        run(f"before ({a.before_ref})", old_g.copy_pdf, lambda _no, _copy, text: old_s.text_pdf(text), a.cases)
    else:
        from tasks.grievance.pdf import copy_pdf
        from tasks.samples.steps import slip_pdf

        run("after (working tree)", copy_pdf, slip_pdf, a.cases)


if __name__ == "__main__":
    main()

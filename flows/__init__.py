"""Flows: one package or module per procedure, each reading like its regulation.

This is the one module that lists every procedure (besides deployments/names.py): importing `flows`
— which any flow module, the web app and the CLI do — registers each procedure with the platform
(tasks/platform/procedures.py): its intake, its start adapter, its answers, its watchdog checks, its
statistics hooks, its store queries and config tables."""

from tasks.archive import procedure as archive
from tasks.complaint import procedure as complaint
from tasks.grievance import procedure as grievance
from tasks.new_customer import procedure as new_customer
from tasks.platform.procedures import register
from tasks.returns import procedure as returns
from tasks.samples import procedure as samples

PROCEDURES = (complaint.PROCEDURE, grievance.PROCEDURE, returns.PROCEDURE, samples.PROCEDURE,
              archive.PROCEDURE, new_customer.PROCEDURE)
for _procedure in PROCEDURES:
    register(_procedure)

"""Function logs in the log group the function's ``LoggingConfig`` names, as on AWS.

A function's ``LoggingConfig.LogGroup`` tells Lambda where its logs go; without
one they go to ``/aws/lambda/<function name>``. LocalStack 4.14.0 stores the
setting but always writes to the default group
(``lambda_/invocation/execution_environment.py``,
``ExecutionEnvironment.get_log_group_name``), so ``cargo xtask logs``, which
reads the group the function's configuration names, found nothing. The fix
reads the setting there.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)
WRITTEN_FOR = "4.14.0"


@hooks.on_infra_start()
def photopipe_lambda_log_groups() -> None:
    from localstack.services.lambda_.invocation import execution_environment
    from localstack.version import __version__

    if __version__ != WRITTEN_FOR:
        LOG.warning("photopipe: Lambda log group patch is for LocalStack %s, not %s; not applied",
                    WRITTEN_FOR, __version__)
        return
    environment = execution_environment.ExecutionEnvironment
    default = environment.get_log_group_name

    def get_log_group_name(self) -> str:
        configured = (self.function_version.config.logging_config or {}).get("LogGroup")
        return configured or default(self)

    environment.get_log_group_name = get_log_group_name
    LOG.info("photopipe: function logs go to their LoggingConfig's log group")

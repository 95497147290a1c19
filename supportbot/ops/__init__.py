"""The owner's maintenance commands: check, backup, export, autostart; and the bot's daily backup.

Each `cmd_*` takes the words after its subcommand, talks to the owner in Russian on
stdout/stderr and returns the process exit code: 0 fine, 1 something is wrong,
2 bad arguments or settings. Nothing here prints the bot token. All SQL lives in
storage; this package names files, runs checks and formats what it gets back.
`maybe_backup` is the one function the running bot calls. One module per command.
"""
# Re-exported: callers (app, __main__, tests) use supportbot.ops.<name>.
from .common import (  # noqa: F401
    BACKUP_FOLDER, EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXPORT_FOLDER, EXPORT_HEADER, TASK_NAME, UsageError, describe_error)
from .check import (  # noqa: F401
    RESTORE_HINT, _check_postgres, _marks, cmd_check, damaged_database_line, newer_database_line)
from .backup import (  # noqa: F401
    backup_folder, cmd_backup, list_backups, make_backup, maybe_backup, pg_dump_lines, prune_backups)
from .export import cmd_export, write_export  # noqa: F401
from .autostart import cmd_autostart, linux_autostart_help, task_xml  # noqa: F401

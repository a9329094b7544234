"""CLI subcommands, discovered by `eventsnn.cli`.

Each module defines `COMMAND` (the name), `HELP` (one line), `add_arguments(parser)` and
`run(args) -> int`. Modules stay thin: they parse, load the config and call the library.
"""

from generator.lint.trace import event

event("build: python started")
from generator import cli  # noqa: E402 - the trace's first event comes before this import

cli.ONE_COMMAND = True   # one command, then exit: nothing else will use this process's lint helper
cli.exit_with(cli.main())

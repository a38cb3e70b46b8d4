from generator.lint.trace import event

event("build: python started")
from generator.cli import exit_with, main  # noqa: E402 - the trace's first event comes before this import

exit_with(main())

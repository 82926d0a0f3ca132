"""Channel-independent conversation handlers; importing the package registers every one."""

from handlers import (  # noqa: F401  (imported for their @on_intent / @on_state registrations)
    bind,
    casework,
    checkin,
    help,
    journal,
    leave,
    makeup,
    report,
    status,
    survey,
    teacher,
    todo,
    verify,
)

#!/usr/bin/env python3
"""The working-day oracle for tests/calendar.rs, from the `chinese-calendar` package.

Prints one line per day from 2023-01-01 to 2026-12-31: `YYYY-MM-DD 1` for a working day,
`YYYY-MM-DD 0` for a day off. Exits with status 3 (and says so on stderr) when the package is
not installed, and 4 when it is too old to know a year of the range, so the Rust test can tell
"no oracle here" from a broken one.

    pip install chinese-calendar
"""

import datetime
import sys

FIRST = datetime.date(2023, 1, 1)
LAST = datetime.date(2026, 12, 31)
MISSING = 3
TOO_OLD = 4

try:
    import chinese_calendar
except ImportError as e:
    print(f"the chinese-calendar package cannot be imported: {e}", file=sys.stderr)
    sys.exit(MISSING)


def main() -> None:
    day = FIRST
    lines = []
    while day <= LAST:
        try:
            working = chinese_calendar.is_workday(day)
        except NotImplementedError:
            print(
                f"chinese-calendar {getattr(chinese_calendar, '__version__', '?')} has no data for {day.year}"
                " (pip install -U chinese-calendar)",
                file=sys.stderr,
            )
            sys.exit(TOO_OLD)
        lines.append(f"{day.isoformat()} {1 if working else 0}")
        day += datetime.timedelta(days=1)
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

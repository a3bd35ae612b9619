"""``python -m qa.fit``: rerun every fit, in the order they depend on each other.

The follow-up fit ranks with the scoring models, so it runs second.
"""

import sys

from qa.fit import followups, scoring


def main() -> int:
    return scoring.main([]) or followups.main([])


if __name__ == "__main__":
    sys.exit(main())

"""``python -m qa.fit``: rerun every fit, in the order they depend on each other.

The follow-up fit ranks with the scoring models, so it runs second; the FAQ
matcher reads the passage models' signals, so it runs last.
"""

import sys

from qa.fit import faq, followups, scoring


def main() -> int:
    return scoring.main([]) or followups.main([]) or faq.main([])


if __name__ == "__main__":
    sys.exit(main())

"""``python -m qa.fit``: rerun every fit, in the order they depend on each other.

The alias model reads no other fitted file and no other fit reads it, so it
runs first.  The follow-up fit ranks with the scoring models, so it runs
after them; the FAQ matcher reads the passage models' signals and decisions,
so it runs last.
"""

import sys

from qa.fit import aliases, faq, followups, scoring


def main() -> int:
    return aliases.main([]) or scoring.main([]) or followups.main([]) or faq.main([])


if __name__ == "__main__":
    sys.exit(main())

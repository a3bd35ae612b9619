"""Serve the chat page: `python app.py [--port 7860] [--auth user:password] ...`.

Thin on purpose: everything is in qa/app/ (the page is qa/app/page.py), and
docs/app.md describes it.  Heavy imports (Gradio, the model) happen inside
serve(), after argument parsing.
"""

import argparse
import sys

from qa.cli import add_serve_arguments


def main() -> int:
    parser = argparse.ArgumentParser(description="Serve the qa chat page.")
    add_serve_arguments(parser)
    args = parser.parse_args()
    from qa.app.page import serve

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())

"""Serve the chat: `python app.py [--host 127.0.0.1] [--port 7860]`."""

import argparse
import sys

from qa.cli import add_serve_arguments


def main() -> int:
    parser = argparse.ArgumentParser(description="Serve the qa chat page.")
    add_serve_arguments(parser)
    args = parser.parse_args()
    from qa.app import serve

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())

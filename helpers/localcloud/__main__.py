"""``python -m helpers.localcloud --port PORT``: serve the local cloud in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys

from . import ensure_running, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.localcloud",
        description="Serve the workbook's local cloud on 127.0.0.1 until SIGINT/SIGTERM.",
    )
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (4566)")
    parser.add_argument(
        "--job-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long a Lambda job may go without a reported result before its action fails "
        "(AWS: 20 minutes; default here 60 s so a forgotten PutJobSuccessResult shows up "
        "while you are still watching)",
    )
    parser.add_argument(
        "--ensure",
        action="store_true",
        help="start this checkout's local cloud in the background if it isn't running, "
        "print its endpoint and exit",
    )
    parser.add_argument("--stop", action="store_true", help="stop the background local cloud")
    args = parser.parse_args(argv)
    if args.ensure:
        print(ensure_running())
        return 0
    if args.stop:
        print("stopped" if stop() else "no local cloud was running")
        return 0

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    from .server import serve

    def ready(endpoint: str) -> None:
        print(f"Local cloud ready on {endpoint} (Ctrl+C to stop)", flush=True)

    try:
        serve(args.port, args.job_timeout, ready)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

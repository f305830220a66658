"""``python -m helpers.localcloud --port PORT``: serve the local cloud in the foreground.

The process that serves is started with ``--state-dir -`` (the directory on stdin) and the
environment ``server_environment`` leaves, as ``start()`` starts it, so that its functions find
neither in their parent's ``/proc/PID/environ`` or command line. Started any other way, it
first replaces itself (same process id, same options) with one started so.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys

from . import (
    ensure_running,
    forget_endpoint,
    is_healthy,
    owner_credentials,
    record_endpoint,
    server_environment,
    state_dir,
    stop,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.localcloud",
        description="Serve the workbook's local cloud on 127.0.0.1 until SIGINT/SIGTERM.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port on 127.0.0.1 (4566); with --env, the port of the local cloud to reach",
    )
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
        "--python-client",
        choices=("auto", "awslambdaric", "builtin"),
        default=None,
        help="what runs Python functions: awslambdaric (AWS's runtime interface client, Linux "
        "only) or builtin (the workbook's own, for macOS); auto (default) picks awslambdaric "
        "where it is installed. Also LOCALCLOUD_PYTHON_CLIENT.",
    )
    parser.add_argument(
        "--ensure",
        action="store_true",
        help="start this checkout's local cloud in the background if it isn't running, "
        "print its endpoint and exit",
    )
    parser.add_argument("--stop", action="store_true", help="stop the background local cloud")
    parser.add_argument(
        "--env",
        action="store_true",
        help="start this checkout's local cloud if needed and print the shell exports that "
        'reach it as its owner (eval "$(python -m helpers.localcloud --env)")',
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="where the local cloud keeps its state and its owner's credentials "
        "($LOCALCLOUD_STATE_DIR, default .localcloud/); - reads it from the first line of stdin",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="shut down a function's execution environment after it has been idle this long, "
        "as Lambda does; the next invocation is a cold start (LOCALCLOUD_IDLE_S, default 600)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how often an S3 source action with PollForSourceChanges checks its object for a "
        "new version (AWS: about once a minute; LOCALCLOUD_POLL_S, default 5)",
    )
    parser.add_argument(
        "--no-persist",
        action="store_true",
        help="keep nothing across restarts (for measuring what keeping state costs); by "
        "default everything is kept in the state directory",
    )
    parser.add_argument(
        "--no-iam",
        action="store_true",
        help="don't check IAM policies or trust policies (moto's permissive behaviour); "
        "requests must still be signed with the local cloud's credentials",
    )
    args = parser.parse_args(argv)
    directory = _read_state_dir() if args.state_dir == "-" else args.state_dir
    if directory and (args.ensure or args.env or args.stop):
        os.environ["LOCALCLOUD_STATE_DIR"] = directory  # what ensure_running and stop read
    if args.ensure:
        print(ensure_running())
        return 0
    if args.env:
        endpoint = f"http://127.0.0.1:{args.port}" if args.port else None
        if endpoint is None or not is_healthy(endpoint):
            if args.port:
                os.environ["LOCALCLOUD_PORT"] = str(args.port)
            endpoint = ensure_running()
        for name, value in owner_credentials().env(endpoint).items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if args.stop:
        kept = f"its state is kept in {state_dir()} (make clean wipes it)"
        print(
            f"Stopped the local cloud; {kept}."
            if stop()
            else f"No local cloud was running; {kept}."
        )
        return 0

    directory = os.path.abspath(directory or state_dir())
    if args.state_dir != "-":
        _serve_in_a_clean_process(args, directory)  # does not return

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    from .server import serve

    def ready(endpoint: str) -> None:
        # however it was started, --env, --stop and the notebooks find it here
        record_endpoint(endpoint, os.getpid(), directory)
        print(f"Local cloud ready on {endpoint} (Ctrl+C to stop)", flush=True)

    from .persistence import StateDirectoryInUse

    try:
        serve(
            args.port or 4566,
            args.job_timeout,
            ready,
            args.python_client,
            state_dir=directory,
            enforce_iam=not args.no_iam,
            idle_timeout_s=args.idle_timeout,
            persist=not args.no_persist,
            poll_interval_s=args.poll_interval,
        )
    except KeyboardInterrupt:
        pass
    except StateDirectoryInUse as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        forget_endpoint(os.getpid(), directory)
    return 0


def _read_state_dir() -> str:
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise SystemExit("--state-dir -: the first line of stdin must be the state directory")
    return line


def _serve_in_a_clean_process(args: argparse.Namespace, directory: str) -> None:
    """Become ``python -m helpers.localcloud ... --state-dir -`` with the directory on stdin
    and a scrubbed environment (exec: the process id, its parent and its output stay)."""
    command = [sys.executable, "-m", "helpers.localcloud", "--port", str(args.port or 4566)]
    command += ["--job-timeout", repr(args.job_timeout), "--state-dir", "-"]
    if args.poll_interval is not None:
        command += ["--poll-interval", repr(args.poll_interval)]
    if args.python_client is not None:
        command += ["--python-client", args.python_client]
    if args.idle_timeout is not None:
        command += ["--idle-timeout", repr(args.idle_timeout)]
    if args.no_persist:
        command.append("--no-persist")
    if args.no_iam:
        command.append("--no-iam")
    read, write = os.pipe()
    os.write(write, directory.encode() + b"\n")
    os.close(write)
    os.dup2(read, 0)
    os.close(read)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, server_environment())


if __name__ == "__main__":
    sys.exit(main())

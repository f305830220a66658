"""The workbook's own Lambda runtime interface client for Python, for where awslambdaric is absent.

awslambdaric, AWS's client, builds a native part that installs on Linux only; on macOS the local
cloud runs Python functions through this file instead. It behaves as awslambdaric does in all a
learner can see: how the handler is loaded and the ``Runtime.*`` errors when it can't be, the
context object, the error payload (``errorMessage``, ``errorType``, ``requestId``,
``stackTrace``), the ``[LEVEL]\\ttimestamp\\trequest id\\tmessage`` lines of ``logging``,
print output, init errors and the exit that follows them. Like awslambdaric it writes each
logging record and each error as one frame to ``_LAMBDA_TELEMETRY_LOG_FD`` when it is set (the
local cloud sets it, as Lambda does: a record is one log event, its lines joined by newlines),
else to stdout, an error's lines joined by carriage returns.

It speaks the Lambda Runtime API (``AWS_LAMBDA_RUNTIME_API``) with ``http.client`` and imports
nothing but the standard library, so it runs as a plain script beside the user's code::

    python -P python_client.py module.handler

Two additions awslambdaric doesn't have: each result carries the process's peak memory
(``getrusage``'s ``ru_maxrss``) in a header, which the local cloud uses for the REPORT line's
*Max Memory Used* where there is no ``/proc`` to read it from (macOS); and where the local
cloud locks the Runtime API with a secret (``runtime_api.py``: macOS, or
``LOCALCLOUD_RUNTIME_API_CHECK=token``), the client reads it from stdin before anything else
and sends it with every request.
"""

from __future__ import annotations

import base64
import decimal
import http.client
import importlib
import json
import logging
import math
import os
import resource
import sys
import time
import traceback

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
PEAK_MEMORY_HEADER = "Lambda-Runtime-Peak-Memory-Kb"  # the local cloud's own, see above
LOG_LINE_TERMINATOR = "\r"  # awslambdaric joins the lines of one error this way
INDENT = "\u00a0"  # ...and indents traceback lines with no-break spaces
TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function "
    "code. However, in rare cases, a Lambda runtime update can cause unexpected function "
    "behavior. For functions using managed runtimes, runtime updates can be triggered by a "
    "function change, or can be applied automatically. To determine if the runtime has been "
    "updated, check the runtime version in the INIT_START log entry. If this error correlates "
    "with a change in the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
TEXT_FRAME = 0xA55A0003  # framed telemetry log sink: a plain text record
ERROR_FRAME = 0xA55A0017  # ...an error record

OLD_ASCII_RUNTIMES = {"AWS_Lambda_python3.9", "AWS_Lambda_python3.10", "AWS_Lambda_python3.11"}

_request_id = ""


class Fault(Exception):
    """A runtime error with one of Lambda's ``Runtime.*`` types."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace


def peak_memory_kb() -> int:
    """This process's peak resident memory in KiB: ru_maxrss is bytes on macOS, KiB on Linux."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


# -- where output goes ----------------------------------------------------------------------
class StdoutSink:
    """Lines to stdout, which the local cloud turns into log events line by line."""

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def log_error(self, lines: list[str]) -> None:
        sys.stdout.write(LOG_LINE_TERMINATOR.join(lines) + "\n")


class FramedSink:
    """One frame per record on a file descriptor (type, length, microseconds, message; big
    endian), the platform's framing, so a multi-line record stays one log event."""

    def __init__(self, fd: int):
        self.file = os.fdopen(fd, "wb", 0)

    def log(self, message: str, frame: int = TEXT_FRAME) -> None:
        data = message.encode("utf-8")
        stamp = time.time_ns() // 1000
        self.file.write(
            frame.to_bytes(4, "big") + len(data).to_bytes(4, "big") + stamp.to_bytes(8, "big")
        )
        self.file.write(data)

    def log_error(self, lines: list[str]) -> None:
        self.log("\n".join(lines), ERROR_FRAME)


class Unbuffered:
    """stdout/stderr flushed on every write, so output is in the log before the REPORT line."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.stream.flush()
        return written

    def writelines(self, lines) -> None:
        self.stream.writelines(lines)
        self.stream.flush()


class SinkHandler(logging.Handler):
    def __init__(self, sink):
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.log(self.format(record))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class JsonFormatter(logging.Formatter):
    """``LogFormat=JSON``: one JSON object per record, as awslambdaric writes it."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info
        result = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10),
            "message": record.msg
            if isinstance(record.msg, dict) and not record.args
            else record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc else None,
        }
        return json.dumps({k: v for k, v in result.items() if v is not None}, default=str) + "\n"


def json_logs() -> bool:
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def setup_logging(sink) -> None:
    logging.Formatter.converter = time.gmtime
    handler = SinkHandler(sink)
    if json_logs():
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RequestIdFilter())
    level = {"TRACE": "DEBUG"}.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", ""), "")
    level = level or os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    root = logging.getLogger()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    root.addHandler(handler)


def log_error(error: dict, sink) -> None:
    """The error as awslambdaric logs it: ``[ERROR] Type: message`` and the traceback."""
    if json_logs():
        record = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        sink.log_error([json.dumps({**record, "level": "ERROR", **error})])
        return
    description = "[ERROR]"
    if error["errorType"]:
        description += " " + error["errorType"] + (":" if error["errorMessage"] else "")
    if error["errorMessage"]:
        description += " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        for line in element.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append(INDENT * (len(line) - len(stripped)) + stripped)
    sink.log_error(lines)


# -- the handler ----------------------------------------------------------------------------
def load_handler(handler: str):
    """The handler function, or a Fault with the ``Runtime.*`` type awslambdaric uses."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as error:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {error}") from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise Fault(
                "Runtime.BuiltInModuleConflict",
                f"Cannot use built-in module {module_name} as a handler module",
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            trace,
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None


def user_frames(tb) -> list[str]:
    """The traceback without this client's own frames, formatted as awslambdaric does."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    while frames and frames[0][0] == __file__:
        frames = frames[1:]
    return traceback.format_list(frames)  # from tuples: no column markers, as awslambdaric


def make_error(message: str, error_type: str, trace: list | None, request_id: str = "") -> dict:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": trace or [],
    }


class Context:
    """The context object handed to the handler, with awslambdaric's attributes."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str | None):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = function_arn
        self.client_context = None
        self.identity = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message) -> None:
        sys.stdout.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context=None,"
            "identity=None,tenant_id=None])"
        )


def to_json(value) -> str:
    def default(obj):
        if isinstance(obj, decimal.Decimal):
            return math.nan if obj.is_nan() else float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    # awslambdaric writes non-ASCII characters as they are from python3.12 on, escaped before
    ensure_ascii = os.environ.get("AWS_EXECUTION_ENV", "") in OLD_ASCII_RUNTIMES
    return json.dumps(value, default=default, ensure_ascii=ensure_ascii)


# -- the Runtime API ------------------------------------------------------------------------
def read_secret() -> str:
    """The Runtime API's secret: everything on stdin, to its end (the local cloud writes it to a
    pipe and closes it; with no secret, stdin is empty)."""
    chunks = []
    while True:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode().strip()


class RuntimeApi:
    def __init__(self, address: str, secret: str = ""):
        self.connection = http.client.HTTPConnection(address)
        self.authorization = {}
        if secret:
            token = base64.b64encode(f"lambda:{secret}".encode()).decode()
            self.authorization = {"Authorization": f"Basic {token}"}

    def call(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = {**(headers or {}), **self.authorization}
        self.connection.request(method, PREFIX + path, body, headers)
        response = self.connection.getresponse()
        return response, response.read()

    def next(self):
        response, body = self.call("GET", "/invocation/next")
        if response.status != 200:
            raise SystemExit(0)  # the environment is shutting down
        return response.headers, body

    def post(self, path: str, body: bytes, headers: dict | None = None) -> None:
        headers = {
            "Content-Type": "application/json",
            PEAK_MEMORY_HEADER: str(peak_memory_kb()),
            **(headers or {}),
        }
        self.call("POST", path, body, headers)


def run(handler_name: str, api: RuntimeApi, sink) -> None:
    global _request_id
    try:
        setup_logging(sink)
        handler = load_handler(handler_name)
    except Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace)
    except Exception:
        kind, value, tb = sys.exc_info()
        error = make_error(str(value), kind.__name__, user_frames(tb))
    else:
        error = None
    if error is not None:
        logging.warning(UNHANDLED_WARNING)
        log_error(error, sink)
        api.post("/init/error", json.dumps(error).encode(), {ERROR_TYPE_HEADER: error["errorType"]})
        sys.exit(1)

    while True:
        headers, body = api.next()
        _request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = Context(
            _request_id,
            int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
        )
        try:
            try:
                event = json.loads(body)
            except ValueError as failure:
                raise Fault(
                    "Runtime.UnmarshalError", f"Unable to unmarshal input: {failure}"
                ) from None
            response = handler(event, context)
            if isinstance(response, bytes):
                result = response
            else:
                try:
                    result = to_json(response).encode("utf-8")
                except (TypeError, ValueError) as failure:
                    raise Fault(
                        "Runtime.MarshalError", f"Unable to marshal response: {failure}"
                    ) from None
        except Fault as fault:
            error = make_error(fault.message, fault.error_type, fault.trace, _request_id)
        except Exception:
            kind, value, tb = sys.exc_info()
            error = make_error(str(value), kind.__name__, user_frames(tb), _request_id)
        else:
            api.post(f"/invocation/{_request_id}/response", result)
            continue
        log_error(error, sink)
        api.post(
            f"/invocation/{_request_id}/error",
            json.dumps(error).encode(),
            {ERROR_TYPE_HEADER: error["errorType"]},
        )


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -P python_client.py module.handler")
    secret = read_secret()
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root and task_root not in sys.path:
        sys.path.insert(0, task_root)
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    sink = FramedSink(int(fd)) if fd else StdoutSink()
    run(argv[1], RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"], secret), sink)


if __name__ == "__main__":
    main(sys.argv)

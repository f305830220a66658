"""A function's LoggingConfig, kept as Lambda keeps it (moto 5 drops it).

``LoggingConfig`` (CreateFunction, UpdateFunctionConfiguration) chooses the format of the
function's logs — ``Text`` (the default) or ``JSON`` — and, in JSON only, the levels Lambda
lets through: ``ApplicationLogLevel`` (TRACE…FATAL) for what the function logs and
``SystemLogLevel`` (DEBUG, INFO, WARN) for the platform's records. Both default to INFO with
JSON. ``LogGroup`` is ``/aws/lambda/<name>`` unless another is named. GetFunctionConfiguration
returns it for every function (Lambda developer guide, "Configuring advanced logging controls";
API reference, ``LoggingConfig``).

``install()`` patches moto's ``LambdaFunction`` (after ``states.install()``) so that the
configuration is stored, updated and returned; ``check(params)`` is the refusal AWS answers for
log levels with the Text format; ``of(fn)`` is what the runtime builds environments from.
"""

from __future__ import annotations

from moto.awslambda.models import LambdaFunction

from .exceptions import InvalidParameterValueException

LEVELS_NEED_JSON = (
    'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your '
    'request or change the LogFormat to "Json" and try again.'
)
LEVELS = ("ApplicationLogLevel", "SystemLogLevel")


def check(params: dict, current: dict | None = None) -> None:
    """AWS refuses log levels for a function whose log format is (or stays) Text;
    ``current`` is the function's configuration before an update."""
    given = params.get("LoggingConfig")
    if not isinstance(given, dict):
        return
    log_format = given.get("LogFormat") or (current or {}).get("LogFormat") or "Text"
    if log_format == "Text" and any(given.get(level) for level in LEVELS):
        raise InvalidParameterValueException(LEVELS_NEED_JSON)


def merged(current: dict | None, given: dict, function_name: str) -> dict:
    """The configuration after ``given``: JSON brings INFO levels where none are named, Text
    has none; the log group stays unless another is named."""
    config = {**(current or {}), **{k: v for k, v in given.items() if v is not None}}
    config.setdefault("LogFormat", "Text")
    config.setdefault("LogGroup", f"/aws/lambda/{function_name}")
    if config["LogFormat"] == "JSON":
        for level in LEVELS:
            config.setdefault(level, "INFO")
    else:
        for level in LEVELS:
            config.pop(level, None)
    return config


def of(fn) -> dict:
    """The function's LoggingConfig as GetFunctionConfiguration shows it."""
    return getattr(fn, "_localcloud_logging_config", None) or merged(None, {}, fn.function_name)


def install() -> None:
    """Patch moto's LambdaFunction (once per process) to keep LoggingConfig."""
    if getattr(LambdaFunction, "_localcloud_logging_config_installed", False):
        return
    moto = {
        name: getattr(LambdaFunction, name)
        for name in ("__init__", "get_configuration", "update_configuration")
    }

    def created(self, account_id, spec, *args, **kwargs) -> None:
        moto["__init__"](self, account_id, spec, *args, **kwargs)
        given = spec.get("LoggingConfig") if isinstance(spec, dict) else None
        self._localcloud_logging_config = merged(None, given or {}, self.function_name)

    def get_configuration(self, *args, **kwargs) -> dict:
        config = moto["get_configuration"](self, *args, **kwargs)
        config["LoggingConfig"] = dict(of(self))
        return config

    def update_configuration(self, config_updates: dict) -> dict:
        given = config_updates.get("LoggingConfig")
        if isinstance(given, dict):
            self._localcloud_logging_config = merged(of(self), given, self.function_name)
        return moto["update_configuration"](self, config_updates)

    LambdaFunction.__init__ = created
    LambdaFunction.get_configuration = get_configuration
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction._localcloud_logging_config_installed = True

"""Logging set up once per process: key=value lines to a terminal, JSON lines otherwise, on
stderr. Threadline's own lines go through structlog's print logger (a request's line costs a
third of what the standard library's machinery costs); each logger is named by its module, so
that `THREADLINE_LOG_LEVELS` can set a level per module. Other libraries' records (PyMongo's,
OpenTelemetry's…) go through the standard library and come out as the same lines."""

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

# Threadline's own packages log at THREADLINE_LOG_LEVEL; other libraries at WARNING unless named.
OTHERS_LEVEL = logging.WARNING


class NamedPrintLogger(structlog.PrintLogger):
    """structlog's print logger, with the module's name (`structlog.get_logger(__name__)`)."""

    def __init__(self, name: str, file: TextIO) -> None:
        super().__init__(file)
        self.name = name


class ModuleLevels:
    """Drops a line below its module's level: the level of the longest name given that is the
    module or a package above it (`engine` covers `engine.worker`), else the default."""

    def __init__(self, default: int, per_module: Mapping[str, int]) -> None:
        self.default = default
        self.per_module = dict(per_module)
        self._thresholds: dict[str, int] = {}

    def threshold(self, module: str) -> int:
        if module not in self._thresholds:
            covering = [
                name for name in self.per_module if module == name or module.startswith(name + ".")
            ]
            best = max(covering, key=len, default=None)
            self._thresholds[module] = self.per_module[best] if best else self.default
        return self._thresholds[module]

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        if structlog.processors.NAME_TO_LEVEL.get(method, logging.INFO) < self.threshold(
            logger.name
        ):
            raise structlog.DropEvent
        return event


def add_trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A line logged within a traced request or run names its trace: from a run's log lines
    to its trace in the tracing backend (nothing when tracing is off)."""
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event.setdefault("trace_id", format(span.trace_id, "032x"))
        event.setdefault("span_id", format(span.span_id, "016x"))
    return event


def configure_logging(level: str = "INFO", per_module: Mapping[str, str] | None = None) -> None:
    """`per_module` maps a logger name (`engine`, `app.request_log`, `pymongo`) to its level."""
    default = logging.getLevelNamesMapping()[level.upper()]
    levels = {
        name: logging.getLevelNamesMapping()[module_level.upper()]
        for name, module_level in (per_module or {}).items()
    }
    renderer: Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]

    # Other libraries: the standard library's loggers, at WARNING unless named.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(OTHERS_LEVEL)
    for name, module_level in levels.items():
        logging.getLogger(name).setLevel(module_level)

    # Threadline's own: below the lowest level asked for, a call is a no-op.
    module_filter: list[Processor] = [ModuleLevels(default, levels)] if levels else []

    def named(*args: Any) -> NamedPrintLogger:
        return NamedPrintLogger(str(args[0]) if args else "threadline", sys.stderr)

    structlog.configure(
        processors=[*module_filter, *shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(min([default, *levels.values()])),
        logger_factory=named,
        cache_logger_on_first_use=True,
    )

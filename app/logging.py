"""Logging set up once per process: structlog on the standard library's loggers, so that a
level can be set per module (`THREADLINE_LOG_LEVELS`), and so that other libraries' records
(PyMongo's, OpenTelemetry's…) come out as the same lines. Key=value lines to a terminal, JSON
lines otherwise, on stderr."""

import logging
import sys
from collections.abc import Mapping

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

# Threadline's own packages log at THREADLINE_LOG_LEVEL; other libraries at WARNING unless named.
OWN_PACKAGES = ("app", "engine", "models", "resolvers", "rest", "schema", "services")
OTHERS_LEVEL = "WARNING"


def configure_logging(level: str = "INFO", per_module: Mapping[str, str] | None = None) -> None:
    """`per_module` maps a logger name (`engine`, `app.request_log`, `pymongo`) to its level;
    a name covers the modules under it, as the standard library's loggers do."""
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,  # records of other libraries' loggers
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
    for package in OWN_PACKAGES:
        logging.getLogger(package).setLevel(level.upper())
    for name, module_level in (per_module or {}).items():
        logging.getLogger(name).setLevel(module_level.upper())
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # first: a record below its level costs nothing more
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def add_trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A line logged within a traced request or run names its trace: from a run's log lines
    to its trace in the tracing backend (nothing when tracing is off)."""
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event.setdefault("trace_id", format(span.trace_id, "032x"))
        event.setdefault("span_id", format(span.span_id, "016x"))
    return event

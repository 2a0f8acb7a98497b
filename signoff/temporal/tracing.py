"""OpenTelemetry tracing of the Temporal calls, through temporalio's contrib ``TracingInterceptor``.

Off by default. With ``SIGNOFF_TRACING=console`` or ``otlp`` every client ``connect_client`` makes
carries the interceptor: the bot's starts, updates and queries become client spans, and a worker on
such a client (interceptors of its client reach it) traces the workflows and activities those calls
lead to, as children of the caller's span (the context travels in Temporal headers). ``otlp`` exports
over HTTP to the standard ``OTEL_EXPORTER_OTLP_*`` variables, which the exporter reads itself.
"""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

from signoff.config.settings import Settings, Tracing

TRACER_NAME = "signoff"


def span_exporter(tracing: Tracing) -> SpanExporter | None:
    """Where ``tracing`` sends spans; None when it is off."""
    if tracing is Tracing.CONSOLE:
        return ConsoleSpanExporter()
    if tracing is Tracing.OTLP:
        return OTLPSpanExporter()
    return None


def tracing_interceptors(
    settings: Settings, service: str, exporter: SpanExporter | None = None
) -> list[TracingInterceptor]:
    """The interceptors a client of ``service`` (``signoff-worker``, ``signoff-bot``) carries: none when
    tracing is off; else one exporting to ``exporter`` (default: the settings' console or OTLP)."""
    if settings.tracing is Tracing.OFF:
        return []
    exporter = exporter or span_exporter(settings.tracing)
    assert exporter is not None
    # The provider flushes its batch at interpreter exit (its own atexit hook).
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.tracing_service_name or service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return [TracingInterceptor(provider.get_tracer(TRACER_NAME))]

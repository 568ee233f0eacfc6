"""OpenTelemetry tracing through FastStream's middleware: off unless an OTLP endpoint is set
(`OTEL_EXPORTER_OTLP_ENDPOINT`, the standard variable the exporter reads)."""

import os
from typing import Any

from faststream.redis.opentelemetry import RedisTelemetryMiddleware
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"


def tracing_middlewares(service: str) -> list[Any]:
    """The broker middlewares for tracing: none unless an endpoint is configured."""
    if not os.environ.get(ENDPOINT_VARIABLE):
        return []
    provider = TracerProvider(resource=Resource.create({"service.name": f"livecart-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return [RedisTelemetryMiddleware(tracer_provider=provider)]

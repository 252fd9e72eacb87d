"""``/healthz`` (the process answers), ``/readyz`` (database + gateway) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel
from quart import Blueprint, Response, current_app, jsonify
from quart_schema import document_response

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

bp = Blueprint("health", __name__)


class RuntimeCollector(Collector):
    """Gauges read from the runtime at scrape time."""

    def __init__(self, runtime: WebRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """Plugins by state, guilds, shard latency, job runs and failures."""
        rt = self.runtime
        states = GaugeMetricFamily("omo_plugins", "Plugins by state", labels=["state"])
        counts: dict[str, int] = {}
        for record in rt.host.records.values():
            counts[str(record.state)] = counts.get(str(record.state), 0) + 1
        for state, count in sorted(counts.items()):
            states.add_metric([state], count)
        yield states
        guilds = GaugeMetricFamily("omo_guilds", "Guilds the bot is in")
        guilds.add_metric([], len(rt.bot.guilds) if rt.bot is not None else 0)
        yield guilds
        latency = GaugeMetricFamily("omo_gateway_latency_seconds", "Heartbeat latency per shard", labels=["shard"])
        if rt.bot is not None and rt.bot.shards:
            for shard_id, shard in rt.bot.shards.items():
                value = shard.latency
                if value == value and value != float("inf"):
                    latency.add_metric([str(shard_id)], value)
        yield latency
        runs = GaugeMetricFamily("omo_job_runs", "Completed runs per plugin job", labels=["plugin", "job"])
        fails = GaugeMetricFamily("omo_job_failures", "Failed runs per plugin job", labels=["plugin", "job"])
        for (plugin, job), count in rt.scheduler.runs.items():
            runs.add_metric([plugin, job], count)
        for (plugin, job), count in rt.scheduler.failures.items():
            fails.add_metric([plugin, job], count)
        yield runs
        yield fails
        held = GaugeMetricFamily(
            "omo_job_lease_held", "Exclusive jobs this process runs (holds the lease of)", labels=["plugin", "job"]
        )
        for plugin, job in rt.scheduler.leases_held():
            held.add_metric([plugin, job], 1)
        yield held


def make_registry(runtime: WebRuntime) -> tuple[CollectorRegistry, Counter]:
    """A registry per app (tests run several) with the runtime gauges and an HTTP request counter."""
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))
    requests = Counter("omo_http_requests", "HTTP requests served", ["status"], registry=registry)
    return registry, requests


class HealthOut(BaseModel):
    """The process answers."""

    ok: bool


class DatabaseHealth(BaseModel):
    """A ``SELECT 1``: its time in milliseconds, or the error's type."""

    ok: bool
    ms: float | None = None
    error: str | None = None


class ShardHealth(BaseModel):
    """One gateway shard: connected or not, heartbeat latency in milliseconds (None before the first ACK)."""

    id: int
    connected: bool
    latency_ms: float | None


class GatewayHealth(BaseModel):
    """The bot is logged in and ready; its shards."""

    ok: bool
    shards: list[ShardHealth]


class ReadinessOut(BaseModel):
    """``ok`` when both the database and the gateway are."""

    ok: bool
    database: DatabaseHealth
    gateway: GatewayHealth


@bp.get("/healthz")
@document_response(HealthOut)
async def healthz() -> Any:
    """The process is up."""
    return jsonify({"ok": True})


@bp.get("/readyz")
@document_response(ReadinessOut, 200)
@document_response(ReadinessOut, 503)
async def readyz() -> Any:
    """Database and gateway are usable; 503 otherwise."""
    runtime: WebRuntime = current_app.config["OMO_RUNTIME"]
    report = await runtime.readiness()
    return jsonify(report), (200 if report["ok"] else 503)


@bp.get("/metrics")
async def metrics() -> Response:
    """Prometheus text format."""
    registry: CollectorRegistry = current_app.config["OMO_METRICS"][0]
    return Response(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")

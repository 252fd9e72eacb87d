"""The Quart app factory: base layout, health endpoints, plugin blueprint mounting and the guard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from quart import Quart, Response, render_template, request
from quart_schema import QuartSchema

from core.web_mount import WebMount
from webadmin import access, health
from webadmin.secret import load_secret_key

if TYPE_CHECKING:
    from core.runtime import Runtime

log = structlog.get_logger("omo.web")


async def _deny_without_login(_guild_id: int) -> Any:
    body = await render_template("error.html", title="Log in", message="Log in to manage this server.")
    return body, 401


def create_app(runtime: Runtime) -> Quart:
    """Build the web admin for ``runtime``; plugin blueprints are mounted by the plugin host."""
    app = Quart(__name__)
    app.config["OMO_RUNTIME"] = runtime
    app.config["SECRET_KEY"] = load_secret_key(runtime.env.secret_key, runtime.env.data_dir)
    app.config["OMO_ADMIN_CHECK"] = _deny_without_login
    app.config["OMO_METRICS"] = health.make_registry(runtime)
    QuartSchema(app, openapi_path="/openapi.json", redoc_ui_path=None, scalar_ui_path=None, swagger_ui_path=None,
                info={"title": "omo-bot admin API", "version": "1"})
    app.register_blueprint(health.bp)
    runtime.web_mount = WebMount(app, access.guild_guard)

    @app.after_request
    async def _count(response: Response) -> Response:
        app.config["OMO_METRICS"][1].labels(status=str(response.status_code)).inc()
        return response

    @app.get("/")
    async def index() -> Any:
        return await render_template("index.html", runtime=runtime)

    @app.errorhandler(404)
    async def not_found(_error: Exception) -> Any:
        if request.path.startswith("/api/"):
            return {"error": "not found"}, 404
        return await render_template("error.html", title="Not found", message="There is nothing here."), 404

    return app

"""Where webadmin leans on Quart, Flask, quart-schema and quart-auth beyond their documented use, in one place.

Each piece keeps a measured cost off the request path (``python -m bench web``) or adapts a library to how
the dashboard is deployed:

- :class:`OmoRequest`: ``request.blueprints`` worked out once per matched rule; ``request.is_secure`` also
  true behind a trusted https proxy;
- :class:`OmoQuart`: ``ensure_async`` answers remembered per function, Flask's no-op context processor run
  inline instead of in a thread (this needs Flask's private ``_default_template_ctx_processor``);
- :func:`convert_responses_directly`: quart-schema's response conversion skipped where it changes nothing;
- :class:`OmoAuth`: quart-auth's cookie ``Secure`` flag decided per request, verified cookies remembered,
  and its synchronous template context processor dropped;
- :class:`RequestRateLimiter`: quart-rate-limiter's private per-request hooks replaced by one pass (check,
  spend and ``RateLimit-*`` headers), with the API limit on plugin API routes.

tests/webadmin/test_compat.py checks every library detail these rely on (names, signatures, attributes and
behaviour), so an upgrade that changes one fails that test instead of the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

from flask.templating import _default_template_ctx_processor as flask_default_context
from pydantic import BaseModel
from quart import Quart, Request, Response, current_app, g, has_request_context, request
from quart_auth import QuartAuth
from quart_rate_limiter import RateLimit, RateLimiter, RateLimitExceeded

from webadmin.security import is_secure_request

#: A verified session cookie is remembered this long (checking its signature is a request's costliest step).
VERIFIED_COOKIE_SECONDS = 60.0


class OmoRequest(Request):
    """Quart's request, with the matched route's blueprint names worked out once, and https detection that
    believes a trusted proxy (:func:`webadmin.security.is_secure_request`).

    Quart asks ``request.blueprints`` for every hook list, context processor and error handler lookup, and
    recomputes it from the endpoint each time.
    """

    @property
    def blueprints(self) -> list[str]:
        """The blueprint of the matched route, then its parents (empty before matching or outside any)."""
        rule = self.url_rule
        cached = self.__dict__.get("_omo_blueprints")
        if cached is not None and cached[0] is rule:
            return cached[1]  # type: ignore[no-any-return]
        names = super().blueprints
        self.__dict__["_omo_blueprints"] = (rule, names)
        return names

    @property
    def is_secure(self) -> bool:
        """Whether the browser reached us over https (directly, by the public URL, or via a trusted proxy)."""
        return is_secure_request()


class OmoQuart(Quart):
    """Quart, minus a thread hop per template render and a coroutine check per hook per request.

    Every blueprint carries Flask's synchronous default context processor (a no-op under Quart); Quart would
    run it in a thread pool on each render of a blueprint's template. It is called inline instead. Quart asks
    ``ensure_async`` about every hook, context processor and view on every request: the answer is remembered.
    """

    request_class = OmoRequest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async_versions: dict[Any, Any] = {}

    def ensure_async(self, func: Any) -> Any:
        """Coroutine functions as they are; Flask's default context processor inline; others in a thread."""
        try:
            return self._async_versions[func]
        except KeyError:
            pass
        if func is flask_default_context:

            async def inline(*args: Any, **kwargs: Any) -> Any:
                return func(*args, **kwargs)

            version: Any = inline
        else:
            version = super().ensure_async(func)
        if len(self._async_versions) > 4096:  # plugin reloads bring new views and hooks: forget the old ones
            self._async_versions.clear()
        self._async_versions[func] = version
        return version


def convert_responses_directly(app: Quart) -> None:
    """Take quart-schema's response conversion off the hot path, with the same results (call after
    ``QuartSchema(app)``, which wraps ``app.make_response`` with its conversion).

    quart-schema converts every view's return value before ``make_response``, walking a list of type checks
    (and building a fresh pydantic ``TypeAdapter`` for a plain dict, about 45 µs). Here a page's string or
    response goes straight to Quart, and a pydantic model answered with at most a status code is dumped
    directly; anything else (dataclasses, dicts, header models, camelCase conversion) still goes through it.
    """
    convert_then_make = app.make_response
    make = Quart.make_response.__get__(app)

    async def make_response(result: Any) -> Any:
        value, extra = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        if all(item is None or isinstance(item, int) for item in extra):
            if isinstance(value, (str, bytes, Response)):
                return await make(result)
            if isinstance(value, BaseModel) and not app.config["QUART_SCHEMA_CONVERT_CASING"]:
                dumped = value.model_dump(**(app.config["QUART_SCHEMA_PYDANTIC_DUMP_OPTIONS"] or {}))
                return await make((dumped, *extra) if extra else dumped)
        return await convert_then_make(result)

    app.make_response = make_response  # type: ignore[method-assign]


class OmoAuth(QuartAuth):
    """quart-auth with the cookie's ``Secure`` flag decided per request (https, or a trusted proxy saying so),
    verified cookies remembered for a minute, and no synchronous template context processor (Quart would run
    it in a thread on every render; webadmin's own async processor provides ``current_user``)."""

    _verified: dict[str, tuple[float, str | None]]

    @property  # type: ignore[override]
    def cookie_secure(self) -> bool:
        """``Secure`` on the session cookie when this request came over https (read when quart-auth writes it)."""
        return has_request_context() and request.is_secure

    @cookie_secure.setter
    def cookie_secure(self, _value: bool | None) -> None:
        """quart-auth's set-up assigns a fixed flag; the request decides instead."""

    def init_app(self, app: Quart) -> None:
        """quart-auth's set-up, without its synchronous template context processor."""
        super().init_app(app)
        processors = app.template_context_processors[None]
        processors[:] = [p for p in processors if getattr(p, "__self__", None) is not self]

    def load_token(self, token: str, app: Quart | None = None) -> str | None:
        """The session id signed into ``token`` (None if the signature is bad or expired), cached briefly."""
        cache = self.__dict__.setdefault("_verified", {})
        now = time.monotonic()
        hit = cache.get(token)
        if hit is not None and now - hit[0] < VERIFIED_COOKIE_SECONDS:
            return hit[1]
        value = super().load_token(token, app)
        if len(cache) > 10000:
            cache.clear()
        cache[token] = (now, value)
        return value


class RequestRateLimiter(RateLimiter):
    """quart-rate-limiter, with its GCRA check and update done in one pass per request.

    The stock extension walks a route's limits three times per request (check, update, then the
    ``RateLimit-*`` headers), building the key (asking the key function) and reading the store each time,
    and does so even for routes without a limit. Here the limits of a route are looked up once per view
    function, pages without a limit cost nothing, and the answer headers come from the values just written.
    A refused request (429) carries the headers too.
    """

    #: Limits of a route that declares none, by endpoint and rule (the API's limit on plugin API routes).
    route_limits: Callable[[str, str], list[RateLimit]] | None = None

    def _limits(self, app: Quart, endpoint: str | None) -> list[RateLimit]:
        """The limits on the route of ``endpoint`` (remembered per endpoint and view function)."""
        view_func = app.view_functions.get(endpoint or "")
        slot = (endpoint, view_func)
        known: dict[tuple[Any, Any], list[RateLimit]] = self.__dict__.setdefault("_omo_limits", {})
        limits = known.get(slot)
        if limits is None:
            blueprint = app.blueprints.get(endpoint.rpartition(".")[0]) if endpoint else None
            limits = self._get_limits_for_view_function(view_func, blueprint) if view_func is not None else []
            rule = request.url_rule
            if not limits and self.route_limits is not None and endpoint and rule is not None:
                limits = self.route_limits(endpoint, rule.rule)
            if len(known) > 1000:  # plugin reloads bring new view functions
                known.clear()
            known[slot] = limits
        return limits

    async def _before_request(self) -> None:
        """Refuse the request (:class:`RateLimitExceeded`) if a limit is exhausted, else spend one unit of each."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        endpoint = request.endpoint
        limits = self._limits(app, endpoint)
        if not limits or not app.config["QUART_RATE_LIMITER_ENABLED"]:
            return
        endpoint = endpoint or ""
        now = datetime.now(UTC)
        spent: list[tuple[RateLimit, str, datetime]] = []
        for limit in limits:
            if (limit.skip_function or self.skip_function) is not None and await self._should_skip(limit):
                continue
            key = await self._create_key(endpoint, limit)
            stored = await self.store.get(key, now)
            # GCRA: the "theoretical arrival time" may run ahead of now by at most period - one interval
            tat = max(stored if stored.tzinfo else stored.astimezone(UTC), now)
            ahead = (tat - now).total_seconds()
            interval = limit.inverse
            allowed = limit.period.total_seconds() - interval
            if ahead > allowed:
                g.omo_rate_spent = (now, [(limit, key, tat)])  # for the RateLimit-* headers of the 429
                raise RateLimitExceeded(ceil(ahead - allowed))
            spent.append((limit, key, tat + timedelta(seconds=interval)))
        for _, key, new_tat in spent:
            await self.store.set(key, new_tat)
        g.omo_rate_spent = (now, spent)

    async def _after_request(self, response: Response) -> Response:
        """``RateLimit-Limit/Remaining/Reset`` of the shortest-period limit the request spent from."""
        now, spent = g.get("omo_rate_spent") or (None, None)
        if not spent:
            return response
        limit, _, tat = min(spent, key=lambda item: item[0].period)
        ahead = (tat - now).total_seconds()
        response.headers.extend(
            [
                ("RateLimit-Limit", str(limit.count)),
                ("RateLimit-Remaining", str(int((limit.period.total_seconds() - ahead) / limit.inverse))),
                ("RateLimit-Reset", str(ceil(ahead))),
            ]
        )
        return response

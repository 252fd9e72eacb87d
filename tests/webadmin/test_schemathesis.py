"""Property-based API testing with schemathesis against the live server: no input produces a 5xx."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from .conftest import People, operator_token

PLUGINS = {"echo": {"module": "tests.sample_plugins.echo"}, "apiplug": {"module": "tests.webadmin.apiplug"}}
EXAMPLES = 20


def fuzz(spec: dict[str, Any], base_url: str, token: str, guild_id: int) -> tuple[list[str], int]:
    """Run every operation with positive and negative cases; return descriptions of 5xx answers and the
    number of requests made (an operation whose cases cannot be generated is passed over)."""
    import requests
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    calls = 0
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            variants: list[dict[str, Any]] = [{}]
            if "{guild_id}" in operation.path:
                variants.append({"guild_id": guild_id})
            for path_parameters in variants:
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def check(case: Any) -> None:
                    nonlocal calls
                    response = case.call(base_url=base_url, session=session, timeout=10)
                    calls += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                        )

                try:
                    check()
                except Unsatisfiable:
                    continue
    return failures, calls


async def test_no_generated_request_makes_the_api_fail_with_a_5xx(
    runtime_factory: Any, people: People, web_login: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OMO_API_RATE_LIMIT", "100000/60")
    runtime = await runtime_factory(PLUGINS, owners=[people.operator])
    token = await operator_token(runtime, people, web_login, name="schemathesis")
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        spec = (await http.get("/openapi.json")).json()

    failures, calls = await asyncio.to_thread(fuzz, spec, runtime.web_url, token, people.guild_a.id)

    assert failures == []
    assert calls > 0, "schemathesis generated no request at all"
    assert runtime.host.records["echo"].state == "enabled"

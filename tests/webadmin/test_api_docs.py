"""The API reference page: field types as the schema says (untyped is "any"), and the health endpoints'
responses documented."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {"module": "plugins.config"}}


def _field_types(page: str, schema: str) -> dict[str, str]:
    section = page.split(f'id="schema-{schema}"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr><td><code>(\w+)</code></td>\s*<td>([^<]*)</td>", section)
    return {name: kind.strip() for name, kind in rows}


async def test_untyped_fields_read_any_and_lists_say_of_what(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        page = (await http.get("/api/docs")).text

    fields = _field_types(page, "FieldOut")
    assert fields["value"] == fields["default"] == "any"
    assert fields["key"] == "string" and fields["spec"] == "object"
    assert _field_types(page, "GatewayHealth")["shards"] == "list of ShardHealth"
    assert _field_types(page, "DatabaseHealth")["ms"] == "number or null"


async def test_health_endpoints_document_their_responses(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        spec = (await http.get("/openapi.json")).json()
        ready = await http.get("/readyz")

    health = spec["paths"]["/healthz"]["get"]["responses"]
    readiness = spec["paths"]["/readyz"]["get"]["responses"]
    assert set(health) == {"200"} and set(readiness) == {"200", "503"}
    schema = readiness["503"]["content"]["application/json"]["schema"]
    assert schema["title"] == "ReadinessOut"
    assert set(ready.json()) == set(schema["properties"])  # the document matches what /readyz answers
    shards = spec["components"]["schemas"]["ShardHealth"]["properties"]
    assert set(ready.json()["gateway"]["shards"][0]) == set(shards)

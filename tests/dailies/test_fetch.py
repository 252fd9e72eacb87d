"""Fetching: the SSRF guard, redirects, conditional GET, deadline, size caps, Retry-After — against a local server."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from plugins.dailies.fetch import Fetcher, FetchError, FetchLimits, retry_after_seconds
from plugins.dailies.netguard import AddressPolicy, BlockedAddress, GuardedResolver, check_url
from tests.dailies.feedserver import FeedServer, gzip_bomb, rss

LOCAL = AddressPolicy(["127.0.0.1/32"])


@pytest_asyncio.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    f = Fetcher(LOCAL, FetchLimits(deadline=2.0, max_bytes=64 * 1024, max_decompressed=256 * 1024))
    try:
        yield f
    finally:
        await f.close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "0.0.0.0",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
    ],
)
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().allowed(ipaddress.ip_address(address))


def test_the_allow_list_opens_only_its_networks() -> None:
    assert LOCAL.allowed(ipaddress.ip_address("127.0.0.1"))
    assert not LOCAL.allowed(ipaddress.ip_address("127.0.0.2"))
    assert not LOCAL.allowed(ipaddress.ip_address("::1"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.org/", "only http and https"),
        ("ftp://example.org/feed", "only http and https"),
        ("http://", "no host"),
        ("http://user:pw@example.org/", "user name or password"),
        ("http://[::1]/feed", "private or reserved"),
        ("http://0x7f000001/feed", None),
        ("http://example.org:99999/", "not a valid URL"),
    ],
)
def test_check_url_refuses_schemes_credentials_and_literals(url: str, reason: str | None) -> None:
    if reason is None:
        check_url(url, AddressPolicy())  # a host name: left to the resolver, which refuses it (test below)
        return
    with pytest.raises(BlockedAddress, match=reason):
        check_url(url, AddressPolicy())


async def test_the_resolver_refuses_a_host_name_with_a_private_address() -> None:
    resolver = GuardedResolver(AddressPolicy())
    try:
        with pytest.raises(BlockedAddress, match="localhost resolves to"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_without_the_allow_list_the_local_server_is_blocked_by_name_and_by_address(feeds: FeedServer) -> None:
    url = feeds.set("/rss", rss([{"title": "a", "guid": "1"}]))
    strict = Fetcher(AddressPolicy())
    try:
        with pytest.raises(FetchError) as by_address:
            await strict.get(url)
        with pytest.raises(FetchError) as by_name:
            await strict.get(url.replace("127.0.0.1", "localhost"))
    finally:
        await strict.close()
    assert by_address.value.kind == "blocked" and by_name.value.kind == "blocked"
    assert feeds.hits.get("/rss") is None


async def test_a_feed_is_fetched_and_a_304_comes_back_with_the_etag(feeds: FeedServer, fetcher: Fetcher) -> None:
    url = feeds.set("/rss", rss([{"title": "a", "guid": "1"}]), etag='"v1"', headers={"Last-Modified": "x"})

    first = await fetcher.get(url)
    second = await fetcher.get(url, etag=first.etag, last_modified=first.last_modified)

    assert first.status == 200 and b"<title>a</title>" in first.body and first.etag == '"v1"'
    assert second.not_modified and second.body == b""
    assert feeds.requests[-1]["If-None-Match"] == '"v1"' and feeds.requests[-1]["If-Modified-Since"] == "x"


async def test_redirects_are_followed_and_each_hop_is_checked(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set("/final", rss([]))
    feeds.set("/hop", status=302, headers={"Location": "/final"})
    feeds.set("/to-metadata", status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    feeds.set("/to-loopback", status=307, headers={"Location": f"http://127.0.0.2:{feeds.port}/final"})
    feeds.set("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    feeds.set("/loop", status=302, headers={"Location": "/loop"})

    ok = await fetcher.get(feeds.url("/hop"))
    errors = {}
    for path in ("/to-metadata", "/to-loopback", "/to-file", "/loop"):
        with pytest.raises(FetchError) as caught:
            await fetcher.get(feeds.url(path))
        errors[path] = caught.value

    assert ok.url == feeds.url("/final") and ok.status == 200
    assert errors["/to-metadata"].kind == "blocked" and "169.254.169.254" in str(errors["/to-metadata"])
    assert errors["/to-loopback"].kind == "blocked"  # 127.0.0.2 is not on the allow-list
    assert errors["/to-file"].kind == "blocked"
    assert errors["/loop"].kind == "unreachable" and "more than 5 redirects" in str(errors["/loop"])
    assert feeds.hits["/loop"] == 6


async def test_http_errors_carry_status_and_retry_after(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set("/busy", b"slow down", status=429, headers={"Retry-After": "120"})
    feeds.set("/gone", b"", status=410)

    with pytest.raises(FetchError) as busy:
        await fetcher.get(feeds.url("/busy"))
    with pytest.raises(FetchError) as gone:
        await fetcher.get(feeds.url("/gone"))

    assert (busy.value.kind, busy.value.status, busy.value.retry_after) == ("http", 429, 120.0)
    assert gone.value.status == 410 and "HTTP 410" in str(gone.value) and gone.value.retry_after is None


def test_retry_after_reads_seconds_and_dates_and_is_bounded() -> None:
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("9999999") == 24 * 3600.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 60) == 60.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


async def test_slow_answers_hit_the_total_deadline(feeds: FeedServer) -> None:
    feeds.set("/slow-start", rss([]), delay=5)
    feeds.set("/trickle", rss([{"title": "x" * 200, "guid": str(i)} for i in range(5)]), trickle=0.05)
    quick = Fetcher(LOCAL, FetchLimits(deadline=0.5))
    try:
        for path in ("/slow-start", "/trickle"):
            with pytest.raises(FetchError) as caught:
                await quick.get(feeds.url(path))
            assert caught.value.kind == "timeout" and "0.5 s" in str(caught.value)
    finally:
        await quick.close()


async def test_oversized_answers_are_refused_with_and_without_content_length(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    big = b"<rss>" + b"x" * (100 * 1024) + b"</rss>"
    feeds.set("/big", big)
    feeds.set("/big-chunked", big, trickle=0.001, chunk=8192)

    for path in ("/big", "/big-chunked"):
        with pytest.raises(FetchError) as caught:
            await fetcher.get(feeds.url(path))
        assert caught.value.kind == "too_large"


async def test_a_gzip_bomb_stops_at_the_decompressed_cap(feeds: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzip_bomb(50 * 1024 * 1024)
    assert len(bomb) < 64 * 1024
    feeds.set("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    feeds.set("/gz", gzip.compress(rss([{"title": "ok", "guid": "1"}])), headers={"Content-Encoding": "gzip"})

    with pytest.raises(FetchError) as caught:
        await fetcher.get(feeds.url("/bomb"))
    fine = await fetcher.get(feeds.url("/gz"))

    assert caught.value.kind == "too_large" and "decompressed" in str(caught.value)
    assert b"<title>ok</title>" in fine.body


async def test_unreachable_hosts_say_so(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.get("http://127.0.0.1:9/feed")
    assert caught.value.kind == "unreachable"


async def test_the_per_host_limit_bounds_concurrent_requests(feeds: FeedServer) -> None:
    feeds.set("/wait", rss([]), delay=0.2)
    limited = Fetcher(LOCAL, FetchLimits(per_host=2))
    try:
        results = await asyncio.gather(*(limited.get(feeds.url("/wait")) for _ in range(6)))
    finally:
        await limited.close()

    assert all(r.status == 200 for r in results) and feeds.hits["/wait"] == 6
    assert feeds.peak == 2

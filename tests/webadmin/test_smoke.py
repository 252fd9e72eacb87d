async def test_login_and_overview(runtime, people, web_login):
    client = await web_login(runtime, people.admin_a)
    r = await client.get("/guilds")
    assert r.status_code == 200, r.text
    print(r.text[:3000])
    r = await client.get(f"/guilds/{people.guild_a.id}/")
    assert r.status_code == 200, r.text
    print(r.text)

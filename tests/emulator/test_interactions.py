"""Application commands and interactions through a real discord.py CommandTree."""

from __future__ import annotations

import asyncio
import contextlib

import discord
import pytest
from discord import app_commands

from core.testing.emulator import Emulator, EmulatorError, Guild
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory


class Form(discord.ui.Modal, title="Tell us"):
    answer: discord.ui.TextInput[Form] = discord.ui.TextInput(label="Answer", custom_id="answer")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"you said {self.answer.value}")


class Buttons(discord.ui.View):
    @discord.ui.button(label="Go", custom_id="go")
    async def go(self, interaction: discord.Interaction, button: discord.ui.Button[Buttons]) -> None:
        await interaction.response.edit_message(content="clicked", view=None)

    @discord.ui.button(label="Form", custom_id="form")
    async def form(self, interaction: discord.Interaction, button: discord.ui.Button[Buttons]) -> None:
        await interaction.response.send_modal(Form())

    @discord.ui.select(custom_id="pick", options=[discord.SelectOption(label="a"), discord.SelectOption(label="b")])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Buttons]) -> None:
        await interaction.response.send_message(f"picked {select.values[0]}", ephemeral=True)


def build_tree(client: discord.Client) -> app_commands.CommandTree[discord.Client]:
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(description="Say hi")
    async def hello(interaction: discord.Interaction, who: discord.Member, times: int = 1) -> None:
        await interaction.response.send_message(f"hi {who.display_name} x{times}", ephemeral=True)

    points = app_commands.Group(name="points", description="Points")
    admin = app_commands.Group(name="admin", description="Admin", parent=points)

    @points.command(description="Give points")
    async def give(interaction: discord.Interaction, member: discord.Member, amount: int, role: discord.Role) -> None:
        embed = discord.Embed(title="Given", description=f"{amount} to {member.mention} ({role.name})")
        await interaction.response.send_message(embed=embed)

    @admin.command(description="Reset")
    async def reset(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        await interaction.response.send_message(f"reset in {channel.name}")

    tree.add_command(points)

    @tree.command(description="Pick a fruit")
    async def fruit(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    @fruit.autocomplete("name")
    async def fruit_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["apple", "apricot", "banana"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    @tree.command(description="Buttons")
    async def buttons(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("choose", view=Buttons())

    @tree.command(description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content="done slowly")
        await interaction.followup.send("and one more", ephemeral=True)

    @tree.command(description="Twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        with contextlib.suppress(discord.InteractionResponded):
            await interaction.response.send_message("second")
        # Bypass discord.py's own guard to hit the API's 40060.
        adapter = discord.webhook.async_.async_context.get()
        params = discord.http.handle_message_parameters(content="again")
        try:
            await adapter.create_interaction_response(
                interaction.id,
                interaction.token,
                session=client.http._HTTPClient__session,  # type: ignore
                params=params,
            )
        except discord.HTTPException as exc:
            await interaction.followup.send(f"api said {exc.status} {exc.code}")

    @tree.command(description="Option kinds")
    async def kinds(
        interaction: discord.Interaction,
        target: discord.Member | discord.Role,
        ratio: float,
        flag: bool,
        file: discord.Attachment,
    ) -> None:
        await interaction.response.send_message(f"{type(target).__name__}:{target.name} {ratio} {flag} {file.filename}")

    @tree.context_menu(name="Inspect")
    async def inspect(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"inspected {member.name}")

    return tree


@pytest.fixture
async def bot(
    discord_client_factory: DiscordClientFactory,
) -> tuple[discord.Client, app_commands.CommandTree]:
    client = await discord_client_factory(discord.Client)
    tree = build_tree(client)
    await tree.sync()
    return client, tree


async def test_tree_sync_stores_commands(emulator: Emulator, guild: Guild, bot: tuple) -> None:
    names = {c["name"] for c in emulator.registered_commands()}
    assert names == {"hello", "points", "fruit", "buttons", "slow", "twice", "kinds", "Inspect"}
    points = next(c for c in emulator.registered_commands() if c["name"] == "points")
    assert points["application_id"] == str(emulator.application_id)
    assert {o["name"] for o in points["options"]} == {"give", "admin"}
    assert emulator.bot_actions("commands")[0]["kind"] == "commands.overwrite"
    fetched = await bot[1].fetch_commands()
    assert {c.name for c in fetched} == names
    # A second sync keeps ids stable.
    before = {c["name"]: c["id"] for c in emulator.registered_commands()}
    await bot[1].sync()
    assert {c["name"]: c["id"] for c in emulator.registered_commands()} == before


async def test_slash_command_with_options_and_resolved_member(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice", nick="Ali")
    result = await emulator.invoke(alice, emulator.general(guild), "hello", who=alice, times=3)
    assert result.type == 4
    assert result.content == "hi Ali x3"
    assert result.ephemeral


async def test_subcommand_and_group(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    role = emulator.create_role(guild, "Gold")
    result = await emulator.invoke(alice, emulator.general(guild), "points give", member=alice, amount=5, role=role)
    assert result.embeds[0]["title"] == "Given"
    assert result.embeds[0]["description"] == f"5 to <@{alice.user_id}> (Gold)"
    assert not result.ephemeral
    sent = emulator.sent_messages(emulator.general(guild).id)
    assert sent[-1]["interaction_metadata"]["user"]["id"] == str(alice.user_id)
    result = await emulator.invoke(
        alice, emulator.general(guild), "points admin reset", channel=emulator.general(guild)
    )
    assert result.content == "reset in general"


async def test_invoke_rejects_unknown_command_and_options(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    with pytest.raises(EmulatorError, match="not registered"):
        await emulator.invoke(alice, emulator.general(guild), "nope")
    with pytest.raises(EmulatorError, match="missing required"):
        await emulator.invoke(alice, emulator.general(guild), "hello")
    with pytest.raises(EmulatorError, match="subcommand"):
        await emulator.invoke(alice, emulator.general(guild), "points")


async def test_autocomplete_returns_choices(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    choices = await emulator.autocomplete(alice, emulator.general(guild), "fruit", "name", "ap")
    assert [c["value"] for c in choices] == ["apple", "apricot"]


async def test_button_select_and_modal(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)
    shown = await emulator.invoke(alice, general, "buttons")
    assert shown.content == "choose"
    message = shown.message
    assert message is not None
    picked = await emulator.click(alice, message, "pick", values=["b"])
    assert picked.content == "picked b" and picked.ephemeral
    opened = await emulator.click(alice, message, "form")
    assert opened.type == 9 and opened.modal is not None and opened.modal["title"] == "Tell us"
    submitted = await emulator.submit_modal(alice, general, opened, {"answer": "forty-two"})
    assert submitted.content == "you said forty-two"
    clicked = await emulator.click(alice, message, "go")
    assert clicked.type == 7
    assert clicked.content == "clicked" and clicked.components == []
    assert emulator.messages(general)[0]["content"] == "clicked"


async def test_deferred_response_edit_and_followup(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    result = await emulator.invoke(alice, emulator.general(guild), "slow")
    assert result.type == 5 and result.deferred
    assert (await result.wait_for_edit())["content"] == "done slowly"  # type: ignore[index]
    followups = await result.wait_for_followups(1)
    assert followups[0]["content"] == "and one more"
    assert followups[0]["flags"] & 64


async def test_second_acknowledgement_is_40060(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    result = await emulator.invoke(alice, emulator.general(guild), "twice")
    assert result.content == "first"
    followups = await result.wait_for_followups(1)
    assert followups[0]["content"] == "api said 400 40060"


async def test_user_context_menu(emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple) -> None:
    alice = member_factory("alice")
    bob = member_factory("bob")
    result = await emulator.invoke_context_menu(alice, emulator.general(guild), "Inspect", bob)
    assert result.content == "inspected bob"


async def test_unanswered_interaction_times_out(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    tree = app_commands.CommandTree(client)

    @tree.command(description="Silent", guild=discord.Object(guild.id))
    async def silent(interaction: discord.Interaction) -> None:
        return None

    await tree.sync(guild=discord.Object(guild.id))
    assert emulator.registered_commands(guild)[0]["guild_id"] == str(guild.id)
    alice = member_factory("alice")
    with pytest.raises(TimeoutError):
        await emulator.invoke(alice, emulator.general(guild), "silent", timeout=0.3)


async def test_mentionable_number_boolean_and_attachment_options(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, bot: tuple
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)
    gold = emulator.create_role(guild, "Gold")
    file = {"filename": "notes.txt", "size": 12, "content_type": "text/plain"}
    result = await emulator.invoke(alice, general, "kinds", target=alice, ratio=0.5, flag=True, file=file)
    assert result.content == "Member:alice 0.5 True notes.txt"
    result = await emulator.invoke(alice, general, "kinds", target=gold, ratio=2, flag=False, file=file)
    assert result.content == "Role:Gold 2.0 False notes.txt"

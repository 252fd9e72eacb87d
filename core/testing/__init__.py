"""Testing support for omo-bot: the Discord emulator and the pytest plugin."""

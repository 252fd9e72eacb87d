"""``omo demo``: local feeds that gain items, subscriptions to them in the demo guild, a scheduled post."""

"""The ``replens`` command. The one place allowed to import both the agent and the hub (lazily)."""

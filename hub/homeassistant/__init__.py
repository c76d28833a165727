"""Home Assistant at the hub: discovery lifecycle, retained views, commands by name."""

from replens.hub.homeassistant.bridge import HomeAssistantBridge
from replens.hub.homeassistant.views import JournalViews

__all__ = ["HomeAssistantBridge", "JournalViews"]

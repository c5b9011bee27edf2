"""botsettings-client: a local copy of bots' effective settings, kept current live.

    from botsettings_client import SettingsClient

    settings = SettingsClient("http://127.0.0.1:8642", token=..., bots=["mira"])
    settings.bot("mira").get("temperature")      # no network: the local copy
    settings.bot("mira").value("temperature")    # Value(value=0.7, source='bot', revision=12)
"""

from botsettings_client._file import SnapshotMismatch
from botsettings_client._follow import (
    AsyncSettingsClient,
    BotView,
    ServiceRefused,
    ServiceUnavailable,
    UnknownBot,
    UnknownSetting,
)
from botsettings_client._state import Change, Value
from botsettings_client._sync import SettingsClient
from botsettings_client.keys import BotSettings, SettingKey

__all__ = ["AsyncSettingsClient", "BotSettings", "BotView", "Change", "ServiceRefused", "ServiceUnavailable",
           "SettingKey", "SettingsClient", "SnapshotMismatch", "UnknownBot", "UnknownSetting", "Value"]

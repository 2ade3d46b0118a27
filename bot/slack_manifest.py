"""The Slack app manifest shipped with the package (`slack_manifest.yaml`), filled in for a
deployment: its address in HTTP mode, or Socket Mode, and the slash command's name."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

PLACEHOLDER = "https://YOUR-HOST"


def shipped() -> dict[str, Any]:
    """The manifest as shipped (HTTP mode, a placeholder address)."""
    text = resources.files("bot").joinpath("slack_manifest.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def filled(*, url: str | None = None, socket_mode: bool = False, command: str | None = None) -> dict[str, Any]:
    """The manifest for a deployment: `url` (its public base address) for HTTP mode, or
    Socket Mode without any request URL; `command` for a slash command not `/news`."""
    manifest = copy.deepcopy(shipped())
    settings, features = manifest["settings"], manifest["features"]
    (slash,) = features["slash_commands"]
    if command:
        slash["command"] = command
    if socket_mode:
        settings["socket_mode_enabled"] = True
        for holder in (slash, settings["event_subscriptions"], settings["interactivity"]):
            holder.pop("url", None)
            holder.pop("request_url", None)
        return manifest
    base = (url or PLACEHOLDER).rstrip("/")
    slash["url"] = slash["url"].replace(PLACEHOLDER, base)
    for holder in (settings["event_subscriptions"], settings["interactivity"]):
        holder["request_url"] = holder["request_url"].replace(PLACEHOLDER, base)
    return manifest


def as_yaml(manifest: dict[str, Any]) -> str:
    """The manifest as YAML to paste into Slack (keys in their order, Chinese kept readable)."""
    return yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False)

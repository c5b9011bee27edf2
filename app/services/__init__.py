"""The service layer: every use case of botsettings, one class each. The API
(app/api), the operators' page (app/web), the CLI (app/cli) and the scheduler
(app/scheduler) call these and nothing below them.

- :class:`~app.services.settings.SettingsService` — writes of settings, stored values,
  effective settings (the read model), integrity;
- :class:`~app.services.history.HistoryService` — history, changes, past states, diff,
  rollback, revert, snapshots;
- :class:`~app.services.bots.BotsService` — bot profiles, creating and deleting bots,
  the editor, batch writes;
- :class:`~app.services.adoption.AdoptionService` — migrate, bootstrap, export, import,
  rename-key;
- :class:`~app.services.jobs.JobsService` — jobs, runs, the schedule, scheduled changes;
- :class:`~app.services.chat.ChatService` — preparing chat requests for the gateway;
- :class:`~app.services.replies.RepliesService` — the reply log: lineage of every
  forwarded request, per-bot figures, replay, retention;
- :class:`~app.services.conversations.ConversationsService` — conversations pinned to a
  settings revision;
- :class:`~app.services.sessions.SessionsService` — the page's sign-in sessions;
- :class:`~app.services.registry.RegistryService` — the key registry: every key's
  definition, and the platform's schema shape;
- :class:`~app.services.platform.PlatformService` — the platform's own tables: import,
  attach in place, detach;
- :class:`~app.services.proposals.ProposalsService` — change requests (four eyes);
- :class:`~app.services.guards.GuardsService` — guarded changes that revert themselves.

:class:`Services` holds one of each, wired to one database and one read model.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.read_model import Resolver
from app.services.adoption import AdoptionService
from app.services.bots import BotsService
from app.services.chat import ChatService
from app.services.conversations import ConversationsService
from app.services.guards import GuardsService
from app.services.history import HistoryService
from app.services.jobs import JobsService
from app.services.platform import PlatformService
from app.services.proposals import ProposalsService
from app.services.registry import RegistryService
from app.services.replies import RepliesService
from app.services.sessions import SessionsService
from app.services.settings import SettingsService
from app.services.snapshots import DEFAULT_SNAPSHOT_EVERY, Snapshots
from app.store.database import Database

__all__ = ["AdoptionService", "BotsService", "ChatService", "ConversationsService", "GuardsService", "HistoryService",
           "JobsService", "PlatformService", "ProposalsService", "RegistryService", "RepliesService", "Services",
           "SessionsService", "SettingsService", "settings_with_history"]


@dataclass(frozen=True)
class Services:
    settings: SettingsService
    history: HistoryService
    bots: BotsService
    adoption: AdoptionService
    jobs: JobsService
    chat: ChatService
    sessions: SessionsService  # the operators' page's sign-in sessions
    platform: PlatformService  # the platform's own tables: import, attach, detach
    registry: RegistryService  # the key registry's definitions
    replies: RepliesService  # the gateway's reply log
    conversations: ConversationsService  # conversations pinned to a revision
    proposals: ProposalsService  # change requests (four eyes)
    guards: GuardsService  # guarded changes that revert themselves


def settings_with_history(db: Database, read_model: Resolver | None = None, *,
                          snapshot_every: int = DEFAULT_SNAPSHOT_EVERY) -> tuple[SettingsService, HistoryService]:
    """The two services that need no configuration beyond the database, wired together:
    for one-shot tools, benchmarks and tests (a serving process builds all of them in
    app/runtime.py)."""
    snapshots = Snapshots(db, snapshot_every)
    settings = SettingsService(db, read_model, snapshots=snapshots)
    return settings, HistoryService(db, settings, snapshots)

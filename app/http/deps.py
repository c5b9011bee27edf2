"""The services a handler can ask for by parameter name (provided by the app, app/api/app.py,
from the process's runtime)."""

from __future__ import annotations

from litestar.di import NamedDependency

from app.services import (
    AdoptionService,
    BotsService,
    ChatService,
    ConversationsService,
    GuardsService,
    HistoryService,
    JobsService,
    ProposalsService,
    RegistryService,
    RepliesService,
    SettingsService,
)

Service = NamedDependency[SettingsService]  # parameter name: service
History = NamedDependency[HistoryService]  # history
Bots = NamedDependency[BotsService]  # bots
Adoption = NamedDependency[AdoptionService]  # adoption
Jobs = NamedDependency[JobsService]  # jobs
Chat = NamedDependency[ChatService]  # chat
Keys = NamedDependency[RegistryService]  # registry
Proposals = NamedDependency[ProposalsService]  # proposals (change requests)
Replies = NamedDependency[RepliesService]  # replies
Conversations = NamedDependency[ConversationsService]  # conversations
Guards = NamedDependency[GuardsService]  # guards (guarded changes)

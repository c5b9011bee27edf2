"""Model-aware validation: does each bot's effective configuration fit its model?

Rules, for a bot whose model (``default_model``) is in the catalogue
(app/domain/model_catalogue.py):

- ``max_output_tokens`` ≤ the model's ``max_output_tokens``;
- history budget + ``max_output_tokens`` ≤ the model's ``context_window``;
- ``temperature`` and ``top_p`` inside the model's ranges.

A ``default_model`` that names no catalogue entry is itself a violation. A bot with
no model (null) is checked against the fallback window (the window-default key) and
the registry's bounds only.

:func:`check_changes` judges writes: for each change it compares every affected
bot's violations before and after the change, and refuses the change when it adds
one or makes one worse (a larger excess). A bot already out of bounds therefore
does not block unrelated writes, nor a write that improves it. Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.events import Op, Operation
from app.domain.model_catalogue import MODELS_KEY, SAMPLING_DEFAULTS, ModelSpec, SamplingRange, parse_catalogue
from app.domain.registry import REGISTRY
from app.domain.resolution import Layer, Resolved
from app.domain.scopes import GLOBAL, Scope, ScopeType

# The settings the rules read, by role (one place to rename a key).
HISTORY = "history_tokens"
OUTPUT = "max_output_tokens"
MODEL = "default_model"
WINDOW_DEFAULT = "model_context_window_default"
SAMPLING = tuple(SAMPLING_DEFAULTS)  # temperature, top_p
BOT_KEYS = (HISTORY, OUTPUT, MODEL, WINDOW_DEFAULT, *SAMPLING)
# A change that writes none of these cannot break a bot's fit: it is not checked.
TRIGGERS = frozenset((*BOT_KEYS, MODELS_KEY))
_EMPTY: Mapping[str, Any] = {}


class Setting(msgspec.Struct, frozen=True):
    key: str
    value: Any
    source: str  # the layer it comes from: bot, global, yaml, env, default


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    model: str | None
    rule: str  # unknown_model, max_output_tokens, context_window, temperature, top_p
    limit: Any
    settings: list[Setting]
    message: str
    excess: float = 0.0  # how far beyond the limit (compared before and after a change)

    @property
    def identity(self) -> tuple[str, str, str | None]:
        return (self.bot, self.rule, self.model if self.rule == "unknown_model" else None)


class BotCheck(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    model: str | None
    ok: bool
    violations: list[Violation]


class ModelLimitsExceeded(ValidationFailed):
    """A write that would leave bots with configurations their models cannot honour."""

    title = "Model limits exceeded"

    def __init__(self, violations: list[Violation], changed: Iterable[str] = ()) -> None:
        touched = set(changed)
        errors = [FieldError(key=next((s.key for s in v.settings if s.key in touched), v.settings[0].key),
                             code="model_limit", scope=str(_bot(v.bot)), message=v.message)
                  for v in violations]
        bots = ", ".join(dict.fromkeys(f"'{v.bot}'" for v in violations))
        head = violations[0].message if len(violations) == 1 else f"{len(violations)} model limits exceeded ({bots})"
        super().__init__(errors, f"refused: {head}; nothing was written")
        self.violations = violations
        self.extra = {"violations": [msgspec.to_builtins(v) for v in violations]}


class Layers(msgspec.Struct, frozen=True, kw_only=True):
    """What the checks read: the stored scopes, bots.yaml and the environment."""

    stored: Callable[[Scope], Mapping[str, Any]]
    known_bots: Callable[[], Iterable[str]]
    yaml_for: Callable[[str], Mapping[str, Any]]
    in_yaml: Callable[[str], bool]
    env: Mapping[str, Any]


def _resolve(key: str, slug: str | None, bot: Mapping[str, Any], glob: Mapping[str, Any],
             yaml: Mapping[str, Any], env: Mapping[str, Any]) -> Resolved:
    defn = REGISTRY[key]
    layered = slug is not None and ScopeType.BOT in defn.scopes  # a global-only key has no bot layers
    if layered and key in bot:
        return Resolved(bot[key], Layer.BOT)
    if key in glob:
        return Resolved(glob[key], Layer.GLOBAL)
    if layered and key in yaml:
        return Resolved(yaml[key], Layer.YAML)
    if key in env:
        return Resolved(env[key], Layer.ENV)
    return Resolved(defn.default_for(slug), Layer.DEFAULT)


def catalogue_of(layers: Layers) -> dict[str, ModelSpec] | None:
    """The catalogue in force (None: the installed registry has no catalogue key)."""
    if MODELS_KEY not in REGISTRY:
        return None
    return _parsed(_resolve(MODELS_KEY, None, _EMPTY, layers.stored(GLOBAL), _EMPTY, layers.env).value)


_LAST_PARSED: list[tuple[Any, dict[str, ModelSpec]]] = []


def _parsed(value: Any) -> dict[str, ModelSpec]:
    """The catalogue parsed once per value (a stored value is never mutated in place)."""
    if _LAST_PARSED and _LAST_PARSED[0][0] is value:
        return _LAST_PARSED[0][1]
    specs = parse_catalogue(value)
    _LAST_PARSED[:] = [(value, specs)]
    return specs


def _bot(slug: str) -> Scope:
    return Scope(ScopeType.BOT, slug)  # slugs here are known bots' or a validated change's


def effective(slug: str, layers: Layers) -> dict[str, Resolved]:
    """The limit-relevant settings of one bot, each with its source."""
    bot, glob, yaml = layers.stored(_bot(slug)), layers.stored(GLOBAL), layers.yaml_for(slug)
    # Keys are data: a key the installed registry no longer has turns its rules off.
    return {key: _resolve(key, slug, bot, glob, yaml, layers.env) for key in BOT_KEYS if key in REGISTRY}


def _exists(slug: str, layers: Layers) -> bool:
    return layers.in_yaml(slug) or bool(layers.stored(_bot(slug)))


def _show(key: str, r: Resolved) -> str:
    return f"{key} {r.value} ({r.source.value})"


def violations_of(slug: str, values: Mapping[str, Resolved], catalogue: Mapping[str, ModelSpec]) -> list[Violation]:
    """Every rule this bot's configuration breaks (empty: it fits its model)."""
    found: list[Violation] = []
    if MODEL not in values:
        return found
    model = values[MODEL].value

    def add(rule: str, limit: Any, keys: tuple[str, ...], message: str, excess: float = 0.0) -> None:
        found.append(Violation(bot=slug, model=model, rule=rule, limit=limit, excess=excess, message=message,
                               settings=[Setting(k, values[k].value, values[k].source.value) for k in keys]))

    subject = f"bot '{slug}' (model {model})" if model is not None else f"bot '{slug}' (no model)"
    spec = catalogue.get(model) if model is not None else None
    if model is not None and spec is None:
        add("unknown_model", sorted(catalogue), (MODEL,),
            f"bot '{slug}': {_show(MODEL, values[MODEL])} is not in the model catalogue "
            f"('{MODELS_KEY}': {', '.join(sorted(catalogue)) or 'empty'})")
        return found  # its limits are unknown: nothing else to compare with
    if not all(_number(values[k].value) for k in (OUTPUT, HISTORY, WINDOW_DEFAULT) if k in values):
        return found  # not a value the registry lets through; nothing to compare (never a crash here)
    output = values[OUTPUT].value if OUTPUT in values else 0
    history = values[HISTORY].value if HISTORY in values else 0
    if spec is not None:
        window, window_text = spec.context_window, f"the model's context window {spec.context_window}"
        ranges = spec.ranges
        if output > spec.max_output_tokens:
            add("max_output_tokens", spec.max_output_tokens, (OUTPUT,),
                f"{subject}: {_show(OUTPUT, values[OUTPUT])} is above the model's output limit "
                f"{spec.max_output_tokens}", output - spec.max_output_tokens)
    elif WINDOW_DEFAULT not in values:
        return found
    else:
        window = values[WINDOW_DEFAULT].value
        window_text = f"the fallback window {_show(WINDOW_DEFAULT, values[WINDOW_DEFAULT])}"
        ranges = {k: SamplingRange(*SAMPLING_DEFAULTS[k]) for k in SAMPLING}
    if history + output > window:
        keys = tuple(k for k in (HISTORY, OUTPUT) if k in values) + (() if spec is not None else (WINDOW_DEFAULT,))
        add("context_window", window, keys,
            f"{subject}: {' + '.join(_show(k, values[k]) for k in (HISTORY, OUTPUT) if k in values)} = "
            f"{history + output} tokens is beyond {window_text}", history + output - window)
    for key in (k for k in SAMPLING if k in values):
        value, allowed = values[key].value, ranges[key]
        if _number(value) and not allowed.holds(value):
            add(key, {"min": allowed.min, "max": allowed.max}, (key,),
                f"{subject}: {_show(key, values[key])} is outside the model's range {allowed.min:g}…{allowed.max:g}",
                max(allowed.min - value, value - allowed.max))
    return found


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_all(layers: Layers) -> list[BotCheck]:
    """Every known bot against its model (``botsettings check``, GET /v1/check)."""
    catalogue = catalogue_of(layers)
    checks = []
    for slug in layers.known_bots():
        values = effective(slug, layers)
        found = violations_of(slug, values, catalogue) if catalogue is not None else []
        model = values[MODEL].value if MODEL in values else None
        checks.append(BotCheck(bot=slug, model=model, ok=not found, violations=found))
    return checks


class _Overlay:
    """The stored scopes with some changes applied on top (copy on write)."""

    def __init__(self, base: Layers) -> None:
        self.base = base
        self.scopes: dict[Scope, dict[str, Any]] = {}

    def stored(self, scope: Scope) -> Mapping[str, Any]:
        return self.scopes[scope] if scope in self.scopes else self.base.stored(scope)

    def apply(self, ops: list[Operation]) -> None:
        for op in ops:
            values = self.scopes.get(op.scope)
            if values is None:
                values = self.scopes[op.scope] = dict(self.base.stored(op.scope))
            if op.op is Op.SET:
                values[op.key] = op.value
            else:
                values.pop(op.key, None)

    def layers(self) -> Layers:
        def known() -> list[str]:
            bots = set(self.base.known_bots())
            for scope, values in self.scopes.items():
                if scope.type is ScopeType.BOT and (values or self.base.in_yaml(scope.id)):
                    bots.add(scope.id)
                elif scope.type is ScopeType.BOT:
                    bots.discard(scope.id)
            return sorted(bots)
        return Layers(stored=self.stored, known_bots=known, yaml_for=self.base.yaml_for, in_yaml=self.base.in_yaml,
                      env=self.base.env)

    def copy(self) -> _Overlay:
        twin = _Overlay(self.base)
        twin.scopes = dict(self.scopes)  # scopes are copied again before a write (apply)
        for scope in twin.scopes:
            twin.scopes[scope] = dict(twin.scopes[scope])
        return twin


def _affected(ops: list[Operation]) -> list[str] | None:
    """The bots a change names in limit-relevant writes ([]: every bot, for a global
    one; None: it writes no limit-relevant key, and cannot break a bot's fit)."""
    relevant = [op for op in ops if op.key in TRIGGERS]
    if not relevant:
        return None
    if any(op.scope.type is ScopeType.GLOBAL for op in relevant):
        return []
    return list(dict.fromkeys(op.scope.id for op in relevant))


def _violations(slugs: list[str], layers: Layers) -> dict[tuple[str, str, str | None], Violation]:
    catalogue = catalogue_of(layers)
    if catalogue is None:
        return {}
    return {v.identity: v for slug in slugs if _exists(slug, layers)
            for v in violations_of(slug, effective(slug, layers), catalogue)}


def check_changes(changes: list[list[Operation]], layers: Layers) -> list[ModelLimitsExceeded | None]:
    """For each change, in order, as if the ones before it that passed had been
    written: None, or the refusal naming every bot it would break or make worse."""
    overlay = _Overlay(layers)
    outcomes: list[ModelLimitsExceeded | None] = []
    for ops in changes:
        slugs = _affected(ops)
        if slugs is None:
            outcomes.append(None)
            continue
        after = overlay.copy()
        after.apply(ops)
        if not slugs:
            slugs = list(dict.fromkeys([*overlay.layers().known_bots(), *after.layers().known_bots()]))
        after_v = _violations(slugs, after.layers())
        # Only a bot out of bounds after the change needs its state before (new or worse?).
        before_v = _violations(list(dict.fromkeys(v.bot for v in after_v.values())), overlay.layers())
        worse = [v for key, v in after_v.items() if key not in before_v or v.excess > before_v[key].excess]
        if worse:
            outcomes.append(ModelLimitsExceeded(worse, (op.key for op in ops)))
        else:
            outcomes.append(None)
            overlay = after
    return outcomes

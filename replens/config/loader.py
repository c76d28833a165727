"""Read a YAML config file into RepLensConfig with errors that say file, line, key path and value."""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from replens.config.agent import StationConfig
from replens.config.root import RepLensConfig
from replens.config.secrets import DEFAULT_SECRETS_DIR, MissingSecretError, UnresolvedSecret, resolve_placeholders
from replens.errors import ConfigError

Loc = tuple[int | str, ...]
SECRET_KEYS = frozenset({"password", "token"})


def load_config(
    path: Path, env: Mapping[str, str] | None = None, secrets_dir: Path = DEFAULT_SECRETS_DIR
) -> RepLensConfig:
    """Load, resolve secrets, validate, and make relative paths relative to the file's folder.

    A placeholder in a secret field (a password, token or key) that is not given stays unresolved
    (:class:`UnresolvedSecret`): the process that reads it gets the error, naming the variable, file,
    line and key. Anywhere else a missing placeholder is an error now.
    """
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file: {err}") from err
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: {_yaml_problem(err)}") from err
    if root is None:
        raise ConfigError(f"{path}: the file is empty; see config/demo.yaml for an example")
    secrets = _Secrets(path, env, secrets_dir)
    secrets.fill(root)
    data = _construct(root)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: the top level must be a mapping of sections")
    for loc, secret in secrets.unresolved.items():
        _put(data, loc, secret)
    try:
        config = RepLensConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(path, root, err)) from err
    return _with_absolute_paths(config, path.parent.resolve())


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {problem}"


@dataclass
class _Secrets:
    """Fills ``{REPLENS_*}`` placeholders in the YAML tree, keeping the secrets this process is not given."""

    path: Path
    env: Mapping[str, str]
    secrets_dir: Path
    unresolved: dict[Loc, UnresolvedSecret] = field(default_factory=dict)

    def fill(self, node: yaml.Node, loc: Loc = ()) -> None:
        if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) and "{REPLENS_" in node.value:
            try:
                node.value = resolve_placeholders(node.value, self.env, self.secrets_dir)
            except MissingSecretError as err:
                problem = f"{self.path}:{node.start_mark.line + 1}: {_path_text(loc)}: {err}"
                if not _is_secret_field(loc):
                    raise ConfigError(problem) from err
                self.unresolved[loc] = UnresolvedSecret(node.value, problem)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.fill(value, (*loc, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.fill(item, (*loc, index))


def _is_secret_field(loc: Loc) -> bool:
    """The field at ``loc`` is a ``SecretStr`` (possibly optional)."""
    current: Any = RepLensConfig
    for part in loc:
        current = _step(current, part, None)
        if current is None:
            return False
    options = typing.get_args(current) if typing.get_origin(current) in (typing.Union, types.UnionType) else (current,)
    return SecretStr in options


def _put(data: Any, loc: Loc, value: Any) -> None:
    for part in loc[:-1]:
        data = data[part]
    data[loc[-1]] = value


def format_validation_error(path: Path, root: yaml.Node, err: ValidationError) -> str:
    """One line per problem: ``file:line: a -> b -> c: message (got: value)``."""
    data = _construct(root)
    lines = []
    for problem in err.errors():
        loc = _data_loc(data, problem["loc"])
        node, _ = _find_node(root, loc)
        line = node.start_mark.line + 1
        message = problem["msg"].removeprefix("Value error, ")  # our validators' own words, without pydantic's tag
        if problem["type"] == "extra_forbidden":
            message = "unknown key" + _did_you_mean(loc, data)
        elif problem["type"] == "enum" and isinstance(problem.get("input"), str):
            choices = re.findall(r"'([^']+)'", str(problem.get("ctx", {}).get("expected", "")))
            close = difflib.get_close_matches(problem["input"], choices, n=1, cutoff=0.6)
            message += f"; did you mean '{close[0]}'?" if close else ""
        lines.append(f"{path}:{line}: {_path_text(loc)}: {message}{_got(loc, problem)}")
    return "\n".join(lines)


def _got(loc: Loc, problem: Any) -> str:
    """The offending value, unless it is a whole section, missing, or a secret."""
    value = problem.get("input")
    if problem["type"] in ("missing", "extra_forbidden") or isinstance(value, dict | list):
        return ""
    if loc and str(loc[-1]) in SECRET_KEYS:
        return " (got: ***)"
    return f" (got: {_show(value)})"


def _data_loc(data: Any, loc: Sequence[int | str]) -> Loc:
    """Keep only the steps that exist in the document: drops pydantic's discriminator tags (``stack``)."""
    kept: list[int | str] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part not in current and current.get("type") == part:
            continue
        kept.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(kept)


def _path_text(loc: Loc) -> str:
    return " -> ".join(str(p) for p in loc) if loc else "(top level)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _find_node(root: yaml.Node, loc: Loc) -> tuple[yaml.Node, bool]:
    """The deepest YAML node along ``loc``; True when the last step is a mapping key (unknown keys)."""
    node = root
    for depth, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    child = key if depth == len(loc) - 1 else value
                    if depth == len(loc) - 1 and not isinstance(value, yaml.ScalarNode):
                        return key, True
                    if depth == len(loc) - 1:
                        return value, False
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            return node, False
        node = child
    return node, False


def _did_you_mean(loc: Loc, data: Any) -> str:
    allowed = _allowed_keys(loc[:-1], data)
    matches = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
    if matches:
        return f"; did you mean '{matches[0]}'?"
    return f"; allowed here: {', '.join(sorted(allowed))}" if allowed else ""


def _allowed_keys(loc: Loc, data: Any) -> list[str]:
    """Field names of the model that ``loc`` points into, walking the annotations and the document together."""
    current: Any = RepLensConfig
    for part in loc:
        current = _step(current, part, data)
        data = data.get(part) if isinstance(data, dict) else None
        if current is None:
            return []
    model = _as_model(current, data)
    return list(model.model_fields) if model else []


def _step(annotation: Any, part: int | str, data: Any) -> Any:
    model = _as_model(annotation, data)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    if origin in (list, tuple, Sequence) and args:
        return args[0]
    return None


def _as_model(annotation: Any, data: Any = None) -> type[BaseModel] | None:
    """Unwrap Optional and Annotated down to one pydantic model; a union picks the branch whose ``type`` matches."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [m for a in typing.get_args(annotation) if (m := _as_model(a)) is not None]
        if len(models) > 1 and isinstance(data, dict):
            models = [m for m in models if _type_tag(m) == data.get("type", _type_tag(models[0]))]
        return models[0] if len(models) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _station_with_absolute_paths(station: StationConfig, base: Path) -> StationConfig:
    detector = getattr(station.tracker, "detector", None)
    if detector is None or detector.model.is_absolute():
        return station
    detector = detector.model_copy(update={"model": base / detector.model})
    tracker = station.tracker.model_copy(update={"detector": detector})
    return station.model_copy(update={"tracker": tracker})


def _type_tag(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("type")
    return None if field is None else field.default


def _with_absolute_paths(config: RepLensConfig, base: Path) -> RepLensConfig:
    """Relative paths in the file mean relative to the file, not to wherever the service was started."""

    def absolute(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else base / p

    updates: dict[str, Any] = {"data_dir": absolute(config.data_dir) or config.data_dir}
    agents = {}
    for agent_id, agent in config.agents.items():
        source = agent.source
        url = source.url
        if isinstance(url, str) and "://" not in url and not url.isdigit() and not Path(url).is_absolute():
            source = source.model_copy(update={"url": str(base / url)})
        stations = {sid: _station_with_absolute_paths(st, base) for sid, st in agent.stations.items()}
        agents[agent_id] = agent.model_copy(
            update={"source": source, "data_dir": absolute(agent.data_dir) or agent.data_dir, "stations": stations}
        )
    updates["agents"] = agents
    updates["hub"] = config.hub.model_copy(update={"data_dir": absolute(config.hub.data_dir) or config.hub.data_dir})
    identity = config.identity
    members_db = absolute(identity.members_db) or identity.members_db
    updates["identity"] = identity.model_copy(update={"members_db": members_db})
    return config.model_copy(update=updates)

from pathlib import Path

import pytest
import yaml

from replens.config import RepLensConfig, load_config
from replens.contract import Exercise
from replens.errors import ConfigError
from replens.mqtt_options import password

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
version: 1
agents:
  rack_1:
    source:
      url: clip.mp4
    stations:
      bench:
        exercise: chest_press
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "replens.yaml"
    path.write_text(text)
    return path


def error_of(path: Path, env=None, secrets_dir=None) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path, env=env or {}, secrets_dir=secrets_dir or Path("/nonexistent"))
    return str(err.value)


def test_minimal_config_and_relative_paths(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), env={})
    agent = config.agents["rack_1"]
    assert agent.source.url == str(tmp_path / "clip.mp4")
    assert config.agent_data_dir("rack_1") == tmp_path / "data" / "agents" / "rack_1"
    assert config.hub_data_dir() == tmp_path / "data" / "hub"
    assert agent.stations["bench"].tracker.type == "stack"
    assert config.mqtt.topics.sets == "replens/sets"


def test_broken_yaml_names_line_and_key_path(tmp_path):
    """The error a gym owner sees: file, line, key path, bad value, and a suggestion."""
    text = MINIMAL.replace("exercise: chest_press", "exercise: chestpress")
    message = error_of(write(tmp_path, text))
    assert message == (
        f"{tmp_path / 'replens.yaml'}:8: agents -> rack_1 -> stations -> bench -> exercise: "
        + message.split("exercise: ", 1)[1]
    )
    assert "did you mean 'chest_press'?" in message
    assert "(got: 'chestpress')" in message


def test_unknown_key_gets_did_you_mean(tmp_path):
    text = MINIMAL + "mqtt:\n  hots: broker\n"
    message = error_of(write(tmp_path, text))
    assert ":10: mqtt -> hots: unknown key; did you mean 'host'?" in message


def test_unknown_key_inside_discriminated_tracker(tmp_path):
    text = MINIMAL + "        tracker:\n          type: stack\n          rio: [0, 0, 1, 1]\n"
    message = error_of(write(tmp_path, text))
    assert ":11: agents -> rack_1 -> stations -> bench -> tracker -> rio: unknown key; did you mean 'roi'?" in message


def test_several_errors_all_reported_with_lines(tmp_path):
    text = MINIMAL + "        counter:\n          min_range: -3\n          set_end_rest_s: soon\n"
    message = error_of(write(tmp_path, text))
    lines = message.splitlines()
    assert len(lines) == 2
    assert ":10: " in lines[0] and "min_range" in lines[0] and "(got: -3)" in lines[0]
    assert ":11: " in lines[1] and "set_end_rest_s" in lines[1]


@pytest.mark.parametrize(
    ("tracker", "counter", "key", "line"),
    [
        ("{type: pose}", "{min_range: 5}", "min_range", 10),
        ("{type: pose}", "{rest_position: low}", "rest_position", 10),
        ("{type: pose}", "{meters_per_unit: 0.002}", "meters_per_unit", 10),
        ("{type: barbell}", "{min_range: 0.2}", "min_range", 10),
        ("{type: barbell}", "{set_end_rest_s: 30, rest_position: high}", "rest_position", 10),
    ],
)
def test_counter_keys_a_tracker_has_no_use_for_are_refused_with_file_and_line(tmp_path, tracker, counter, key, line):
    """Regression: `counter:` was documented for every station, but pose stations read one key of it, barbell none."""
    text = MINIMAL.replace("chest_press", "squat") + f"        tracker: {tracker}\n        counter: {counter}\n"
    message = error_of(write(tmp_path, text))
    assert f":{line}: agents -> rack_1 -> stations -> bench -> counter: " in message
    assert f"{key} does not apply to a {tracker[7:-1]} station" in message


def test_counter_timings_apply_to_every_tracker(tmp_path):
    text = MINIMAL.replace("chest_press", "squat") + (
        "        tracker: {type: pose}\n        counter: {min_rep_s: 0.8, max_rep_s: 9, set_end_rest_s: 40, "
        "settle_s: 0.6, smoothing_s: 0.2, max_gap_s: 2}\n"
    )
    counter = load_config(write(tmp_path, text), env={}).agents["rack_1"].stations["bench"].counter
    assert (counter.min_rep_s, counter.max_rep_s, counter.set_end_rest_s) == (0.8, 9, 40)


def test_yaml_syntax_error_has_line(tmp_path):
    message = error_of(write(tmp_path, "mqtt:\n  host: [unclosed\n"))
    assert "line 3" in message or "line 2" in message
    assert "invalid YAML" in message


def test_empty_and_missing_file(tmp_path):
    assert "empty" in error_of(write(tmp_path, ""))
    assert "cannot read" in error_of(tmp_path / "nope.yaml")


def test_secrets_from_env_and_secret_files(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "REPLENS_INFLUX_TOKEN").write_text("tok-from-file\n")
    text = MINIMAL + (
        "mqtt:\n  password: '{REPLENS_MQTT_PASSWORD}'\n"
        "influxdb:\n  api_version: 2\n  token: '{REPLENS_INFLUX_TOKEN}'\n  organization: o\n  bucket: b\n"
    )
    config = load_config(write(tmp_path, text), env={"REPLENS_MQTT_PASSWORD": "pw"}, secrets_dir=secrets)
    assert config.mqtt.password is not None and config.mqtt.password.get_secret_value() == "pw"
    assert config.influxdb is not None and config.influxdb.token is not None
    assert config.influxdb.token.get_secret_value() == "tok-from-file"
    assert "pw" not in repr(config) and "tok-from-file" not in repr(config)


def test_missing_secret_names_line_and_variable_where_it_is_used(tmp_path):
    """A process resolves only the secrets it uses: loading succeeds, reading the missing one says which and where."""
    text = MINIMAL + "mqtt:\n  password: '{REPLENS_MQTT_PASSWORD}'\n"
    config = load_config(write(tmp_path, text), env={}, secrets_dir=Path("/nonexistent"))
    assert str(config.mqtt.password) == "(not set)"
    with pytest.raises(ConfigError) as err:
        password(config.mqtt)
    assert ":10: mqtt -> password: REPLENS_MQTT_PASSWORD is not set" in str(err.value)


def test_a_missing_placeholder_outside_a_secret_field_is_an_error_at_once(tmp_path):
    message = error_of(write(tmp_path, MINIMAL + "mqtt:\n  host: '{REPLENS_BROKER_HOST}'\n"))
    assert ":10: mqtt -> host: REPLENS_BROKER_HOST is not set" in message


COMPOSE_HUB_ENV = {"REPLENS_MQTT_HUB_PASSWORD": "hub-pw", "REPLENS_INFLUX_TOKEN": "tok",
                   "REPLENS_STAFF_DESK_PASSWORD": "desk-password-1"}
COMPOSE_AGENT_ENV = {"REPLENS_MQTT_AGENT_DEMO_PASSWORD": "agent-pw"}


def compose_config(tmp_path: Path, env: dict[str, str]) -> RepLensConfig:
    text = (ROOT / "config" / "compose.yaml").read_text().replace("data_dir: /data", f"data_dir: {tmp_path}")
    return load_config(write(tmp_path, text), env=env, secrets_dir=Path("/nonexistent"))


def test_the_hub_needs_only_its_own_secrets(tmp_path):
    from replens.hub.app import Hub

    hub = Hub(compose_config(tmp_path, COMPOSE_HUB_ENV))  # no agent password given: none needed
    hub.homeassistant.close()
    hub.journal.close()
    with pytest.raises(ConfigError, match=r"compose\.yaml|replens\.yaml") as err:
        Hub(compose_config(tmp_path, COMPOSE_AGENT_ENV))
    assert "REPLENS_MQTT_HUB_PASSWORD is not set" in str(err.value)


def test_an_agent_needs_only_its_own_secrets(tmp_path):
    from replens.device_agent.app import Agent

    config = compose_config(tmp_path, COMPOSE_AGENT_ENV)  # neither the hub's password nor the InfluxDB token
    agent = Agent("demo", config.agents["demo"], config.agent_mqtt("demo"), tmp_path / "agent")
    assert agent.outbox is not None
    agent.outbox.close()
    config = compose_config(tmp_path, COMPOSE_HUB_ENV)
    with pytest.raises(ConfigError) as err:
        Agent("demo", config.agents["demo"], config.agent_mqtt("demo"), tmp_path / "agent2")
    assert "agents -> demo -> mqtt_password: REPLENS_MQTT_AGENT_DEMO_PASSWORD is not set" in str(err.value)


def test_secret_values_never_printed_in_errors(tmp_path):
    text = MINIMAL + "influxdb:\n  api_version: 2\n  token: '{REPLENS_T}'\n"
    message = error_of(write(tmp_path, text), env={"REPLENS_T": "s3cret-token"})
    assert "needs organization, bucket" in message
    assert "s3cret-token" not in message


EXAMPLE_ENV = {
    "REPLENS_MQTT_HUB_PASSWORD": "x",
    "REPLENS_MQTT_RACKS_PASSWORD": "x",
    "REPLENS_MQTT_MACHINES_PASSWORD": "x",
    "REPLENS_MQTT_CABLES_PASSWORD": "x",
    "REPLENS_MQTT_AGENT_DEMO_PASSWORD": "x",
    "REPLENS_INFLUX_TOKEN": "x",
}


@pytest.mark.parametrize("name", ["demo.yaml", "gym.yaml", "compose.yaml"])
def test_shipped_examples_validate(name):
    config = load_config(ROOT / "config" / name, env=EXAMPLE_ENV)
    assert config.agents


def test_gym_example_has_several_agents_and_stations():
    config = load_config(ROOT / "config" / "gym.yaml", env=EXAMPLE_ENV)
    assert len(config.agents) >= 3
    assert sum(len(a.stations) for a in config.agents.values()) >= 5
    assert config.agent_mqtt("racks").username == "agent-racks"


def test_demo_example_points_at_the_bundled_clip():
    config = load_config(ROOT / "config" / "demo.yaml", env={})
    assert Path(str(config.agents["demo"].source.url)).is_file()


def test_docker_compose_mounts_exist_and_configs_validate():
    """No Docker engine here: check what can be checked without one."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"mosquitto", "influxdb", "grafana", "hub", "agent-demo"} <= set(services)
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: image must be pinned"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source == "./config/mosquitto/passwd":
                continue  # generated by `replens stack init`, never committed
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: mounted {source} does not exist"
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${MQTT_HUB_PASSWORD:?" in text and "${INFLUXDB_TOKEN:?" in text
    mosquitto_conf = (ROOT / "config/mosquitto/mosquitto.conf").read_text()
    assert "allow_anonymous false" in mosquitto_conf
    datasource = yaml.safe_load((ROOT / "integrations/grafana/provisioning/datasources/replens.yaml").read_text())
    assert datasource["datasources"][0]["jsonData"]["dbName"] == "replens"


def test_every_compose_secret_reaches_its_service_and_stack_init_writes_it(tmp_path):
    """compose.yaml's placeholders are given to the hub or an agent by docker-compose.yml, from .env keys that
    `replens stack init` writes: a secret added to one file and not the others fails here, not at `up`."""
    import re

    from replens.cli.stack import init_stack, read_env

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    given = {key: str(value) for service in compose["services"].values()
             for key, value in (service.get("environment") or {}).items()}
    placeholders = set(re.findall(r"\{(REPLENS_[A-Z0-9_]+)\}", (ROOT / "config" / "compose.yaml").read_text()))
    assert placeholders and placeholders <= set(given), placeholders - set(given)
    (tmp_path / "docker-compose.yml").write_text((ROOT / "docker-compose.yml").read_text())
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "compose.yaml").write_text((ROOT / "config" / "compose.yaml").read_text())
    init_stack(tmp_path, force=False)
    written = set(read_env(tmp_path / ".env"))
    needed = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert needed <= written, needed - written


def test_pose_tracker_section_and_its_typos(tmp_path):
    text = MINIMAL.replace("exercise: chest_press", "exercise: squat") + (
        "        tracker:\n          type: pose\n          device: GPU\n"
    )
    config = load_config(write(tmp_path, text), env={})
    tracker = config.agents["rack_1"].stations["bench"].tracker
    assert tracker.type == "pose" and tracker.device == "GPU" and tracker.precision == "f32"
    message = error_of(write(tmp_path, text.replace("device: GPU", "devcie: GPU")))
    assert "tracker -> devcie: unknown key; did you mean 'device'?" in message
    message = error_of(write(tmp_path, text.replace("device: GPU", "precision: int8")))
    assert "tracker -> precision:" in message and "(got: 'int8')" in message


MULTI = MINIMAL.replace("        exercise: chest_press\n",
                        "        exercise: {exercise}\n        tracker: {{type: {tracker}}}\n")


def multi_use(tmp_path: Path, exercise: str, tracker: str = "pose") -> Path:
    return write(tmp_path, MULTI.format(exercise=exercise, tracker=tracker))


def test_a_station_names_one_exercise_lists_several_or_says_auto(tmp_path):
    listed = load_config(multi_use(tmp_path, "[squat, bench_press, overhead_press]"), env={})
    station = listed.agents["rack_1"].stations["bench"]
    assert station.candidates == (Exercise.SQUAT, Exercise.BENCH_PRESS, Exercise.OVERHEAD_PRESS)
    assert station.recognises and station.named is Exercise.AUTO
    one = load_config(multi_use(tmp_path, "[squat]"), env={}).agents["rack_1"].stations["bench"]
    assert (one.exercise, one.candidates, one.recognises) == (Exercise.SQUAT, (Exercise.SQUAT,), False)
    auto = load_config(multi_use(tmp_path, "auto"), env={}).agents["rack_1"].stations["bench"]
    assert (auto.candidates, auto.recognises) == (None, True)
    stack_auto = load_config(multi_use(tmp_path, "auto", "stack"), env={}).agents["rack_1"].stations["bench"]
    assert not stack_auto.recognises  # a weight stack counts without a name: nothing to recognise from
    bar = load_config(multi_use(tmp_path, "[squat, deadlift]", "barbell"), env={}).agents["rack_1"].stations["bench"]
    assert bar.recognises and bar.candidates == (Exercise.SQUAT, Exercise.DEADLIFT)  # told apart by the bar path


@pytest.mark.parametrize(
    ("exercise", "tracker", "message"),
    [
        ("[squat, bench_pres, ovrhead_press]", "pose",
         "unknown exercise 'bench_pres'; did you mean 'bench_press'?; unknown exercise 'ovrhead_press'; did you "
         "mean 'overhead_press'?"),
        ("[]", "pose", "an empty list names no exercise"),
        ("[squat, auto]", "pose", "auto cannot be in a list"),
        ("[squat, squat]", "pose", "squat listed more than once"),
        ("[lat_pulldown, seated_row]", "stack", "a stack tracker cannot tell exercises apart"),
        ("[squat, lunge]", "barbell", "a barbell tracker tells only barbell lifts apart"),
    ],
)
def test_bad_exercise_lists_name_the_line_and_every_bad_name(tmp_path, exercise, tracker, message):
    error = error_of(multi_use(tmp_path, exercise, tracker))
    key = "exercise" if tracker == "pose" else "tracker"  # a list is wrong for the tracker, or has a bad name
    line = 8 if key == "exercise" else 9
    assert error.startswith(f"{tmp_path / 'replens.yaml'}:{line}: agents -> rack_1 -> stations -> bench -> {key}: ")
    assert message in error


def test_velocity_loss_target_is_optional_and_a_percentage(tmp_path):
    plain = load_config(write(tmp_path, MINIMAL), env={}).agents["rack_1"].stations["bench"]
    assert plain.end_set_at_velocity_loss_pct is None
    text = MINIMAL + "        counter: {meters_per_unit: 0.002}\n        end_set_at_velocity_loss_pct: 20\n"
    station = load_config(write(tmp_path, text), env={}).agents["rack_1"].stations["bench"]
    assert station.end_set_at_velocity_loss_pct == 20.0


@pytest.mark.parametrize(("value", "reason"), [
    ("0", "Input should be greater than 0 (got: 0)"), ("100", "Input should be less than 100 (got: 100)"),
    ("-5", "Input should be greater than 0 (got: -5)"),
    ("twenty", "Input should be a valid number, unable to parse string as a number (got: 'twenty')")])
def test_bad_velocity_loss_target_names_file_line_and_key(tmp_path, value, reason):
    text = MINIMAL + f"        counter: {{meters_per_unit: 0.002}}\n        end_set_at_velocity_loss_pct: {value}\n"
    message = error_of(write(tmp_path, text))
    assert message == (f"{tmp_path / 'replens.yaml'}:10: agents -> rack_1 -> stations -> bench -> "
                       f"end_set_at_velocity_loss_pct: {reason}")


@pytest.mark.parametrize(("station", "reason"), [
    ("        tracker: {type: pose}\n",
     "a pose station measures no bar velocity, so it cannot end a set at a velocity loss"),
    ("", "a weight stack's reps have a velocity only with counter.meters_per_unit: set it too")])
def test_a_velocity_loss_target_where_reps_have_no_velocity_is_refused(tmp_path, station, reason):
    text = MINIMAL.replace("chest_press", "squat") + station + "        end_set_at_velocity_loss_pct: 20\n"
    message = error_of(write(tmp_path, text))
    line = 9 + station.count("\n")
    assert message == (f"{tmp_path / 'replens.yaml'}:{line}: agents -> rack_1 -> stations -> bench -> "
                       f"end_set_at_velocity_loss_pct: {reason} (got: 20)")


def test_a_barbell_station_takes_a_velocity_loss_target_as_it_is(tmp_path):
    text = MINIMAL.replace("chest_press", "squat") + "        tracker: {type: barbell}\n" + (
        "        end_set_at_velocity_loss_pct: 20\n")
    station = load_config(write(tmp_path, text), env={}).agents["rack_1"].stations["bench"]
    assert station.end_set_at_velocity_loss_pct == 20.0

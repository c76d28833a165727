"""Argument parsing and dispatch; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from replens import __version__
from replens.errors import ConfigError, RepLensError, SourceError

if TYPE_CHECKING:
    from replens.config import RepLensConfig

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replens",
        description="Local-first gym rep counter: cameras count reps and sets; MQTT, InfluxDB and Grafana show them.",
    )
    parser.add_argument("--version", action="version", version=f"replens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="count the bundled sample clip (uses a broker and InfluxDB if configured)")
    demo.add_argument("--config", type=Path, help="use this config's mqtt and influxdb sections")
    demo.add_argument("--json", action="store_true", help="print the sets as JSON only")
    demo.add_argument("--serve", action="store_true",
                      help="the whole loop: embedded broker, hub and members' page; prints its URL (Ctrl-C stops)")
    demo.add_argument("--port", type=int, default=8180, help="the members' page port with --serve (0: any free one)")

    config = commands.add_parser("config", help="configuration tools").add_subparsers(
        dest="config_command", required=True, metavar="ACTION"
    )
    check = config.add_parser("check", help="validate a config file and exit (status 2 when invalid)")
    check.add_argument("file", type=Path)
    config.add_parser("schema", help="print the config file's JSON Schema")

    agent = commands.add_parser("agent", help="camera agent").add_subparsers(
        dest="agent_command", required=True, metavar="ACTION"
    )
    agent_run = agent.add_parser("run", help="run one agent from a config file")
    agent_run.add_argument("--config", type=Path, required=True)
    agent_run.add_argument("--agent", help="agent id (needed when the file has several agents)")
    agent_run.add_argument("--annotate", type=Path, metavar="OUT.mp4",
                           help="also write what the agent sees and counts to this video")

    hub = commands.add_parser("hub", help="central hub").add_subparsers(
        dest="hub_command", required=True, metavar="ACTION"
    )
    hub.add_parser("run", help="run the hub from a config file").add_argument("--config", type=Path, required=True)

    count = commands.add_parser("count", help="count reps in recorded videos or signal files")
    count.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT",
        help="a video; a BlazePose series .npy (66/99/132 columns per frame, needs --fps); a bar track .csv "
        "(t,x,y[,plate_w] in image units, or t,x_cm,y_cm / t,x_m,y_m with y up); a 1-D signal "
        ".csv (t_s,position) or .npy of shape (n, 2)",
    )
    count.add_argument("--json", action="store_true", help="one JSON object per input, nothing else")
    count.add_argument("--exercise", default="auto",
                       help="exercise profile name; several as a,b,c to recognise each set's among them; or auto "
                       "(the default): recognise it among every profile (pose), unnamed (weight stack)")
    count.add_argument("--fps", type=float, help="frame rate of a pose series (.npy has no timestamps)")
    count.add_argument("--tracker", choices=["pose", "stack", "barbell"],
                       help="for videos: body pose, weight stack or barbell plate (default: stack with --roi or "
                       "for machines with a weight stack, else pose)")
    count.add_argument("--annotate", type=Path, metavar="OUT.mp4",
                       help="write the video with skeleton or region, signal trace and counts (one video input)")
    count.add_argument("--roi", help="region over the weight stack: x,y,w,h as fractions of the frame")
    count.add_argument("--min-range", type=float, help="smallest excursion that counts as a rep (tracker units)")
    count.add_argument("--set-rest", type=float, help="seconds without a rep that end a set")

    _add_member_commands(commands)
    _add_set_commands(commands)
    _add_grafana_commands(commands)

    stack = commands.add_parser("stack", help="docker compose stack").add_subparsers(
        dest="stack_command", required=True, metavar="ACTION"
    )
    init = stack.add_parser("init", help="generate passwords, tokens and the Mosquitto password file")
    init.add_argument("--dir", type=Path, default=Path(), help="folder with docker-compose.yml (default: here)")
    init.add_argument("--force", action="store_true", help="replace existing secrets")
    init.add_argument("--hostname", action="append", default=[], metavar="NAME",
                      help="name or address camera boxes use for this machine, for the broker's certificate (repeat)")
    _add_mqtt_commands(commands)
    _add_station_commands(commands)

    docs = commands.add_parser("docs", help="regenerate docs/ from the code (JSON Schemas, config reference)")
    docs.add_argument("--dir", type=Path, default=Path("docs"))
    docs.add_argument("--check", action="store_true", help="exit 1 when docs/ is stale instead of writing")
    return parser


def _add_station_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stations = commands.add_parser("stations", help="steer a station over MQTT").add_subparsers(
        dest="stations_command", required=True, metavar="ACTION"
    )
    load = stations.add_parser("load", help="the load on a station's bar or stack now, for the set under way and "
                               "later sets (waits until the agent confirms it)")
    load.add_argument("station", metavar="AGENT.STATION", help="e.g. rack_1.bench")
    load.add_argument("load", type=float, help="the load, in --unit")
    load.add_argument("--unit", choices=["kg", "lb"], help="default: the station's units in the config, else kg")
    load.add_argument("--wait", type=float, default=10.0, metavar="S", help="seconds to wait for the agent")
    _config_option(load)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None,
                        help="config file (default: $REPLENS_CONFIG, else ./replens.yaml)")


def _add_mqtt_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mqtt = commands.add_parser("mqtt", help="broker security").add_subparsers(
        dest="mqtt_command", required=True, metavar="ACTION"
    )
    creds = mqtt.add_parser("credentials", help="generate broker accounts, ACL, TLS certificates and passwords")
    creds.add_argument("--dir", type=Path, default=Path("mqtt-credentials"),
                       help="folder to write (owner-only; default: mqtt-credentials)")
    creds.add_argument("--force", action="store_true", help="replace existing files: every password changes")
    creds.add_argument("--hostname", action="append", default=[], metavar="NAME",
                       help="broker host name or address for its certificate (repeat; mqtt.host and localhost "
                       "are always in)")
    creds.add_argument("--no-homeassistant", action="store_true", help="no account for Home Assistant")
    creds.add_argument("--new-ca", action="store_true", help="with --force: a new CA too (every box needs its ca.crt)")
    _config_option(creds)


def _add_member_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    members = commands.add_parser("members", help="enrol, list, rename, delete and identify members").add_subparsers(
        dest="members_command", required=True, metavar="ACTION"
    )
    add = members.add_parser("add", help="enrol a member from photos (one face each) or a live camera")
    add.add_argument("name")
    add.add_argument("photos", nargs="*", type=Path, metavar="PHOTO")
    add.add_argument("--consent", action="store_true", help="the member agreed to face recognition (required)")
    add.add_argument("--camera", metavar="SOURCE", help="enrol from a camera index or URL instead of photos")
    add.add_argument("--frames", type=int, default=5, help="faces to take from the camera (default 5)")
    add.add_argument("--face", type=int, help="in photos with several people, the face to enrol (0 = leftmost)")
    listing = members.add_parser("list", help="members enrolled on this box")
    listing.add_argument("--json", action="store_true")
    setting = members.add_parser("set", help="a member's unit (kg or lb: how the report, the members' page and Home "
                                 "Assistant show their loads) and body weight (the load of their push-ups, pull-ups "
                                 "and dips, plus what the station says was added); give either or both")
    setting.add_argument("name")
    setting.add_argument("--body-weight", type=float, metavar="W",
                         help="body weight, in --unit when given, else in the member's unit")
    setting.add_argument("--unit", choices=["kg", "lb"],
                         help="the member's unit from now on (stored loads stay kg); also the unit of --body-weight")
    rename = members.add_parser("rename", help="change a member's display name (the id stays)")
    rename.add_argument("name")
    rename.add_argument("new_name")
    delete = members.add_parser("delete", help="delete a member's face data and visits; their sets become anonymous")
    delete.add_argument("name")
    identify = members.add_parser("identify", help="who is in these photos")
    identify.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    identify.add_argument("--json", action="store_true", help="one JSON object per photo")
    invite = members.add_parser("invite", help="print a member's personal link (and QR code) to the members' page")
    invite.add_argument("name")
    invite.add_argument("--days", type=float, help="how long the link works (default hub.web.invite_days)")
    invite.add_argument("--no-qr", action="store_true", help="print the link only")
    revoke = members.add_parser("revoke", help="make a member's page link and logins stop working")
    revoke.add_argument("name")
    for sub in (add, listing, setting, rename, delete, identify, invite, revoke):
        _config_option(sub)


def _add_set_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sets = commands.add_parser("sets", help="list sets, claim them for members, correct them").add_subparsers(
        dest="sets_command", required=True, metavar="ACTION"
    )
    listing = sets.add_parser("list", help="sets the hub recorded, newest last")
    listing.add_argument("--member", help="only this member's sets")
    listing.add_argument("--unattributed", action="store_true", help="only sets nobody has yet")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    claim = sets.add_parser("claim", help="say whose set it was (overrides automatic attribution)")
    claim.add_argument("set_id")
    claim.add_argument("member", nargs="?", help="member name or id; leave out with --nobody")
    claim.add_argument("--nobody", action="store_true",
                       help="nobody enrolled did it: the set stays without a member and automatic attribution "
                       "leaves it alone")
    edit = sets.add_parser("edit", help="correct a set: its exercise, load, reps or member (InfluxDB and Home "
                           "Assistant follow)")
    edit.add_argument("set_id")
    edit.add_argument("--exercise", metavar="NAME", help="the exercise the set really was")
    edit.add_argument("--load", type=float, metavar="LOAD", help="the load really lifted, in --unit")
    edit.add_argument("--unit", choices=["kg", "lb"], default="kg", help="the unit of --load (default kg)")
    edit.add_argument("--reps", type=int, metavar="N", help="the reps really done")
    edit.add_argument("--member", metavar="NAME", help="whose set it was (a claim)")
    edit.add_argument("--by", help="who corrects it, for the audit trail (default: your login name)")
    history = sets.add_parser("edits", help="a set's corrections: who, what, when and through which path")
    history.add_argument("set_id")
    history.add_argument("--json", action="store_true")
    for sub in (listing, claim, edit, history):
        _config_option(sub)


def _add_grafana_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    grafana = commands.add_parser("grafana", help="install the dashboards into an existing Grafana").add_subparsers(
        dest="grafana_command", required=True, metavar="ACTION"
    )
    push = grafana.add_parser("push", help="create or update the InfluxDB datasource and the dashboards (idempotent)")
    push.add_argument("--url", required=True, help="Grafana's address, e.g. http://localhost:3000")
    push.add_argument("--token", help="service account token with the Admin role (default: $GRAFANA_TOKEN; or put "
                      "user:password in the URL)")
    push.add_argument("--influx-url", help="InfluxDB's address as Grafana reaches it (default: the config's host)")
    push.add_argument("--dashboards", type=Path, help="folder of dashboard JSON files (default: dashboards/)")
    _config_option(push)
    report = commands.add_parser("report", help="draw a member's recent sets and reps as a PNG (from the hub journal)")
    report.add_argument("--member", required=True, help="member name or id")
    report.add_argument("--since", default="7d", help="how far back: 7d, 36h, 2w or a date (default 7d)")
    report.add_argument("--out", type=Path, default=Path("report.png"), help="PNG to write (default report.png)")
    _config_option(report)


def _config_path(path: Path | None) -> Path:
    if path is None:
        path = Path(os.environ.get("REPLENS_CONFIG", "replens.yaml"))
    if not path.exists():
        raise ConfigError(f"{path}: no such config file (pass --config FILE or set REPLENS_CONFIG)")
    return path


def _load(path: Path | None) -> RepLensConfig:
    from replens.config import load_config

    return load_config(_config_path(path))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _dispatch(args)
    except ConfigError as err:
        print(f"config error:\n{err}", file=sys.stderr)
        return EXIT_CONFIG
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except RepLensError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one branch per command
    if args.command == "demo":
        return _demo(args)
    if args.command == "config":
        from replens.cli.config_cmd import check_config, print_config_schema

        return check_config(args.file) if args.config_command == "check" else print_config_schema()
    if args.command == "agent":
        from replens.cli.services import run_agent

        return run_agent(args.config, args.agent, annotate=args.annotate)
    if args.command == "hub":
        from replens.cli.services import run_hub

        return run_hub(args.config)
    if args.command == "count":
        from replens.cli.count import run_count

        return run_count(args)
    if args.command == "members":
        return _members(args)
    if args.command in ("sets", "stations"):
        return _sets(args)
    if args.command == "grafana":
        from replens.cli.grafana import push_to_grafana

        return push_to_grafana(_load(args.config), args.url, args.token, influx_url=args.influx_url,
                               dashboards_dir=args.dashboards)
    if args.command == "report":
        from replens.cli.report import run_report

        return run_report(_load(args.config), args.member, args.since, args.out)
    if args.command in ("stack", "mqtt"):
        return _broker_secrets(args)
    if args.command == "docs":
        from replens.cli.docs import generate_docs

        return generate_docs(args.dir, check=args.check)
    raise AssertionError(args.command)


def _broker_secrets(args: argparse.Namespace) -> int:
    if args.command == "stack":
        from replens.cli.stack import init_stack

        return init_stack(args.dir, force=args.force, hostnames=args.hostname)
    from replens.cli.mqtt_credentials import generate_credentials

    return generate_credentials(_config_path(args.config), args.dir, force=args.force, hostnames=args.hostname,
                                homeassistant=not args.no_homeassistant, new_ca=args.new_ca)


def _demo(args: argparse.Namespace) -> int:
    if args.serve:
        if args.json or args.config:
            raise RepLensError("--serve runs on embedded defaults: leave out --json and --config")
        from replens.cli.demo_loop import run_demo_loop

        return run_demo_loop(args.port)
    from replens.cli.demo import run_demo

    return run_demo(args.config, as_json=args.json)


def _members(args: argparse.Namespace) -> int:
    from replens.cli import members

    config = _load(args.config)
    actions = {
        "add": lambda: members.add_member(config, args),
        "list": lambda: members.list_members(config, as_json=args.json),
        "set": lambda: members.set_member(config, args.name, args.body_weight, args.unit),
        "rename": lambda: members.rename_member(config, args.name, args.new_name),
        "delete": lambda: members.delete_member(config, args.name),
        "invite": lambda: members.invite_member(config, args.name, days=args.days, qr=not args.no_qr),
        "revoke": lambda: members.revoke_member(config, args.name),
        "identify": lambda: members.identify_photos(config, args.photos, as_json=args.json),
    }
    return actions[args.members_command]()


def _sets(args: argparse.Namespace) -> int:
    """``replens sets …`` and ``replens stations …``: what a set was, and what a station lifts now."""
    from replens.cli import sets

    config = _load(args.config)
    if args.command == "stations":
        from replens.cli.stations import set_load

        return set_load(config, args.station, args.load, args.unit, wait_s=args.wait)
    if args.sets_command == "list":
        return sets.list_sets(config, member=args.member, unattributed=args.unattributed, limit=args.limit,
                              as_json=args.json)
    if args.sets_command == "edit":
        return sets.edit_set(config, args.set_id, sets.SetEditArgs(
            exercise=args.exercise, load=args.load, unit=args.unit, reps=args.reps, member=args.member, by=args.by))
    if args.sets_command == "edits":
        return sets.set_history(config, args.set_id, as_json=args.json)
    if (args.member is None) == (not args.nobody):
        raise RepLensError("give a MEMBER, or --nobody for a set no enrolled member did")
    return sets.claim_set(config, args.set_id, None if args.nobody else args.member)


if __name__ == "__main__":
    sys.exit(main())

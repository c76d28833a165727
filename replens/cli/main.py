"""Argument parsing and dispatch; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from replens import __version__
from replens.errors import ConfigError, RepLensError, SourceError

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
    count.add_argument("--exercise", default="auto", help="exercise profile name, or auto (the default)")
    count.add_argument("--fps", type=float, help="frame rate of a pose series (.npy has no timestamps)")
    count.add_argument("--tracker", choices=["pose", "stack", "barbell"],
                       help="for videos: body pose, weight stack or barbell plate (default: stack with --roi or "
                       "for machines with a weight stack, else pose)")
    count.add_argument("--annotate", type=Path, metavar="OUT.mp4",
                       help="write the video with skeleton or region, signal trace and counts (one video input)")
    count.add_argument("--roi", help="region over the weight stack: x,y,w,h as fractions of the frame")
    count.add_argument("--min-range", type=float, help="smallest excursion that counts as a rep (tracker units)")
    count.add_argument("--set-rest", type=float, help="seconds without a rep that end a set")

    stack = commands.add_parser("stack", help="docker compose stack").add_subparsers(
        dest="stack_command", required=True, metavar="ACTION"
    )
    init = stack.add_parser("init", help="generate passwords, tokens and the Mosquitto password file")
    init.add_argument("--dir", type=Path, default=Path(), help="folder with docker-compose.yml (default: here)")
    init.add_argument("--force", action="store_true", help="replace existing secrets")

    docs = commands.add_parser("docs", help="regenerate docs/ from the code (JSON Schemas, config reference)")
    docs.add_argument("--dir", type=Path, default=Path("docs"))
    docs.add_argument("--check", action="store_true", help="exit 1 when docs/ is stale instead of writing")
    return parser


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
        from replens.cli.demo import run_demo

        return run_demo(args.config, as_json=args.json)
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
    if args.command == "stack":
        from replens.cli.stack import init_stack

        return init_stack(args.dir, force=args.force)
    if args.command == "docs":
        from replens.cli.docs import generate_docs

        return generate_docs(args.dir, check=args.check)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m cluster up|down|status``: the commands behind ``make cluster`` and ``make cluster-down``.

``up`` starts Redis, PostgreSQL, SeaweedFS, two API nodes and two CPU workers (and a GPU worker
when a GPU and a qwen model folder are present) in ``--dir``, migrates the database, creates an
API key, prints the URLs and the key, writes the pids to ``DIR/cluster.json`` and returns, leaving
them running. ``down`` stops them by pid; ``status`` says which still run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from cluster.topology import STATE_FILE, Cluster, ClusterState, Topology, gpu_present, stop_recorded


def default_dir() -> Path:
    """``$CLUSTER_DIR``, or a folder under the system's temporary folder: PostgreSQL,
    which may run as another user, must be able to reach it."""
    return Path(
        os.environ.get("CLUSTER_DIR") or Path(tempfile.gettempdir()) / f"imgedit-cluster-{os.getuid()}"
    )


def qwen_model_present() -> bool:
    from imgedit.config import get_settings

    model = get_settings().qwen_model
    return bool(model) and Path(str(model)).is_dir()


def up(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if (root / STATE_FILE).exists():
        state = ClusterState.read(root)
        if any(p.alive() for p in state.processes):
            print(f"A cluster already runs from {root}:", file=sys.stderr)
            print_state(state)
            return 1
        shutil.rmtree(root)  # the last cluster's data: a cluster started here is a fresh one
    elif root.exists() and any(root.iterdir()):
        print(f"{root} exists and holds no cluster: choose another --dir.", file=sys.stderr)
        return 2
    gpu = args.gpu_workers if args.gpu_workers >= 0 else int(gpu_present() and qwen_model_present())
    # API nodes send generative edits to the gpu pool when a qwen model is set: with no GPU
    # worker to take them, they must refuse them instead (as a classic-only service does).
    settings = {} if gpu else {"IMGEDIT_QWEN_MODEL": ""}
    topology = Topology(
        api_nodes=args.api_nodes,
        cpu_workers=args.cpu_workers,
        gpu_workers=gpu,
        settings=settings,
        ports=tuple(range(args.port, args.port + args.api_nodes)) if args.port else (),
    )
    print(f"Starting the cluster in {root} ...", file=sys.stderr)
    try:
        cluster = Cluster(root, topology, durable=True, tenants=("local",)).start()
    except RuntimeError as exc:  # a server or process that did not start: its log says why
        print(f"The cluster did not start (everything started was stopped): {exc}", file=sys.stderr)
        return 1
    state = cluster.state()
    state.write(root)
    print_state(state)
    if not gpu:
        print("(no GPU worker: it starts when nvidia-smi finds a GPU and IMGEDIT_QWEN_MODEL is a folder)")
    print("Stop it with: make cluster-down")
    return 0


def print_state(state: ClusterState) -> None:
    for number, url in enumerate(state.api_urls, 1):
        print(f"API node {number}: web page {url}/   health {url}/healthz   metrics {url}/metrics")
    for tenant, key in state.keys.items():
        print(f"API key (tenant '{tenant}'): {key}")
    print(f"database {state.database_url}")
    print(f"blobs    {state.blob_url} on {state.s3_endpoint_url}")
    print(f"broker   {state.broker_url}")
    print(f"logs     {state.root}/logs/")
    for process in state.processes:
        print(f"  {process.name:<14} pid {process.pid:<8} {'running' if process.alive() else 'stopped'}")


def down(args: argparse.Namespace) -> int:
    if not (args.dir / STATE_FILE).exists():
        print(f"No cluster in {args.dir}.", file=sys.stderr)
        return 0
    stopped = stop_recorded(ClusterState.read(args.dir))
    print(
        f"Stopped: {', '.join(stopped) or 'nothing was running'}. Data kept in {args.dir} until the next up."
    )
    return 0


def status(args: argparse.Namespace) -> int:
    if not (args.dir / STATE_FILE).exists():
        print(f"No cluster in {args.dir}.", file=sys.stderr)
        return 1
    state = ClusterState.read(args.dir)
    print_state(state)
    return 0 if all(p.alive() for p in state.processes) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cluster",
        description="imgedit's distributed topology on one machine: make cluster, make cluster-down.",
    )
    where = "the cluster's folder: state, data, logs (default: $CLUSTER_DIR or %(default)s)"
    parser.add_argument("--dir", type=Path, default=default_dir(), help=where)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the cluster and print its URLs and API key")
    start.add_argument("--api-nodes", type=int, default=2)
    start.add_argument("--cpu-workers", type=int, default=2)
    start.add_argument("--gpu-workers", type=int, default=-1, help="-1: one when a GPU and qwen model exist")
    start.add_argument(
        "--port", type=int, default=0, help="the first API node's port (the next ones follow); 0: free ports"
    )
    commands.add_parser("down", help="stop every process of the cluster, by pid")
    commands.add_parser("status", help="the cluster's URLs and which processes run")
    args = parser.parse_args(argv)
    return {"up": up, "down": down, "status": status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

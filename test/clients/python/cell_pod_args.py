"""What the pod-streaming scripts (cell_exec.py, cell_port_forward.py) share: their connection flags
and the official client's CoreV1Api made from them, with a bearer token and the cluster's CA."""

import argparse

from kubernetes import client


def parser():
    """An argument parser with --server, --token, --ca, --namespace and --pod, all required."""
    p = argparse.ArgumentParser()
    for flag in ("--server", "--token", "--ca", "--namespace", "--pod"):
        p.add_argument(flag, required=True)
    return p


def core_api(args):
    """The official client's CoreV1Api for the parsed connection flags."""
    cfg = client.Configuration()
    cfg.host = args.server
    cfg.api_key = {"authorization": "Bearer " + args.token}
    cfg.ssl_ca_cert = args.ca
    return client.CoreV1Api(client.ApiClient(cfg))

#!/usr/bin/python3
"""A real oslo.messaging peer for neutrino's interop test (test/rpc/oslo-interop.test.ts).

Debian's python3-oslo.messaging (rabbit driver, kombu) on a transport URL, driven by JSON lines
on stdin; answers and events are JSON lines on stdout:

  {"id": 1, "op": "serve", "topic": T, "server": S}    an RPC server whose endpoint accepts any
                                                        method: records it (an "event" line) and
                                                        returns its kwargs; `fail` raises ValueError
  {"id": 2, "op": "stop", "topic": T, "server": S}     stops and waits for that server
  {"id": 3, "op": "call", "topic": T, "server": S|null, "method": M, "args": {...},
   "context": {...}, "timeout": 10, "monitor": null}   RPCClient.call (monitor: call_monitor_timeout)
  {"id": 4, "op": "cast", ...}                          RPCClient.cast
  {"id": 5, "op": "fanout", ...}                        RPCClient.prepare(fanout=True).cast
  {"id": 6, "op": "quit"}

Every answer is {"id": N, "ok": true, "result": ...} or {"id": N, "ok": false, "error": {"type",
"message", "exc_type"}}. Options: --url URL --exchange NAME, and any [oslo_messaging_rabbit]
option as --rabbit name=value (e.g. amqp_durable_queues=true).
"""

import argparse
import json
import logging
import sys
import threading

from oslo_config import cfg
import oslo_messaging

_out_lock = threading.Lock()


def emit(obj):
    with _out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class RecordingEndpoint(object):
    """Answers any method; oslo's dispatcher finds methods with getattr."""

    # Messages without a version are 1.0 to oslo's dispatcher; neutrino sends none.
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, topic, server):
        self._topic = topic
        self._server = server

    def __getattr__(self, name):
        if name.startswith("_") or name.startswith("oslo_"):
            raise AttributeError(name)

        def method(ctxt, **kwargs):
            emit({"event": "received", "topic": self._topic, "server": self._server,
                  "method": name, "args": kwargs, "context": ctxt})
            if name == "fail":
                raise ValueError("oslo peer refuses: %s" % kwargs.get("why", ""))
            return {"echo": kwargs, "from": "oslo:%s" % self._server}

        return method


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--exchange", default="neutron")
    ap.add_argument("--rabbit", action="append", default=[])
    a = ap.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    oslo_messaging.set_transport_defaults(control_exchange=a.exchange)
    # The global ConfigOpts, as a service has it: oslo registers its metrics options there only.
    conf = cfg.CONF
    conf(args=[], project="neutrino-oslo-peer", default_config_files=[])
    transport = oslo_messaging.get_rpc_transport(conf, url=a.url)
    for kv in a.rabbit:
        name, value = kv.split("=", 1)
        conf.set_override(name, value, group="oslo_messaging_rabbit")

    servers = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "quit":
                for s in servers.values():
                    s.stop()
                    s.wait()
                transport.cleanup()
                emit({"id": cmd.get("id"), "ok": True, "result": None})
                return
            if op == "serve":
                key = (cmd["topic"], cmd["server"])
                target = oslo_messaging.Target(topic=cmd["topic"], server=cmd["server"])
                s = oslo_messaging.get_rpc_server(
                    transport, target, [RecordingEndpoint(*key)], executor="threading",
                    access_policy=oslo_messaging.DefaultRPCAccessPolicy)
                s.start()
                servers[key] = s
                emit({"id": cmd["id"], "ok": True, "result": None})
            elif op == "stop":
                s = servers.pop((cmd["topic"], cmd["server"]))
                s.stop()
                s.wait()
                emit({"id": cmd["id"], "ok": True, "result": None})
            elif op in ("call", "cast", "fanout"):
                # One thread per request: a slow call does not hold the others up.
                threading.Thread(target=send, args=(transport, cmd), daemon=True).start()
            else:
                raise ValueError("unknown op %r" % op)
        except Exception as e:  # noqa: BLE001 - reported to the driver, which fails the test
            emit({"id": cmd.get("id"), "ok": False, "error": describe(e)})


def send(transport, cmd):
    try:
        target = oslo_messaging.Target(topic=cmd["topic"], server=cmd.get("server"))
        client = oslo_messaging.get_rpc_client(transport, target)
        ctxt = cmd.get("context") or {}
        args = cmd.get("args") or {}
        if cmd["op"] == "call":
            cctxt = client.prepare(timeout=cmd.get("timeout", 10),
                                   call_monitor_timeout=cmd.get("monitor"))
            result = cctxt.call(ctxt, cmd["method"], **args)
        elif cmd["op"] == "cast":
            result = client.cast(ctxt, cmd["method"], **args)
        else:
            result = client.prepare(fanout=True).cast(ctxt, cmd["method"], **args)
        emit({"id": cmd["id"], "ok": True, "result": result})
    except Exception as e:  # noqa: BLE001
        emit({"id": cmd["id"], "ok": False, "error": describe(e)})


def describe(e):
    return {"type": type(e).__name__, "message": str(e),
            "exc_type": getattr(e, "exc_type", None)}


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reads one DLMS meter over the TCP wrapper with a third-party CLIENT (gurux-dlms or dlms-cosem).

  read_meter.py gurux|dlms-cosem --port P [--client-sap 16] [--auth none|lls|hls-gmac] [--password PW]
      [--system-title HEX --ek HEX --ak HEX] [--max-pdu N] [--from ISO --to ISO]
      [--entry-from N --entry-count N] [--timeout S]

It associates, reads the clock (0.0.1.0.0.255/2), A+ (1.0.1.8.0.255) value and scaler_unit, the load
profile's capture objects (1.0.99.1.0.255/3), then its buffer by range and by entry, releases, and
prints one JSON object on stdout. Values are reported as the peer decoded them (date-times as Unix
seconds by the peer's own reading of the deviation); the Rust test judges them. Diagnostics go to
stderr; the exit status is 1 when anything failed (the JSON then carries "error").

Every socket operation has a timeout, so the script never hangs on a silent meter.
"""

import argparse
import datetime
import importlib.metadata
import json
import logging
import socket
import sys
import traceback

# Peers print to stdout (gurux prints caught exceptions, dlms-cosem logs through structlog): keep
# the real stdout for the JSON answer only.
REAL_STDOUT = sys.stdout
sys.stdout = sys.stderr

import structlog  # noqa: E402

structlog.configure(
    wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
    logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
)

from dlms_cosem import cosem as dc_cosem  # noqa: E402
from dlms_cosem import enumerations as dc_enums  # noqa: E402
from dlms_cosem import security as dc_security  # noqa: E402
from dlms_cosem import time as dc_time  # noqa: E402
from dlms_cosem import utils as dc_utils  # noqa: E402
from dlms_cosem.client import DlmsClient  # noqa: E402
from dlms_cosem.cosem.capture_object import CaptureObject  # noqa: E402
from dlms_cosem.cosem.selective_access import EntryDescriptor, RangeDescriptor  # noqa: E402
from dlms_cosem.io import BlockingTcpIO, TcpTransport  # noqa: E402
from dlms_cosem.parsers import ProfileGenericBufferParser  # noqa: E402
from gurux_dlms import GXByteBuffer, GXDateTime, GXDLMSClient, GXDLMSException, GXReplyData  # noqa: E402
from gurux_dlms.enums import Authentication, InterfaceType, Security  # noqa: E402
from gurux_dlms.objects import GXDLMSClock, GXDLMSProfileGeneric, GXDLMSRegister  # noqa: E402
from gurux_dlms.secure import GXDLMSSecureClient  # noqa: E402

CLOCK = "0.0.1.0.0.255"
A_PLUS = "1.0.1.8.0.255"
PROFILE = "1.0.99.1.0.255"
SERVER_WPORT = 1
WRAPPER_HEADER = 8


def hx(data) -> str:
    return bytes(data).hex().upper()


def unix(dt: datetime.datetime):
    """Unix seconds of an aware datetime; None when the peer left the offset out."""
    if dt is None or dt.tzinfo is None or dt.utcoffset() is None:
        return None
    return int(dt.timestamp())


class Link:
    """One TCP connection carrying whole wrapper frames, with counters per read."""

    def __init__(self, host: str, port: int, timeout: float):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.mark()

    def mark(self):
        """Starts counting round trips and response APDU tags for the next read."""
        self.round_trips = 0
        self.response_tags = []

    def counters(self) -> dict:
        return {"round_trips": self.round_trips, "response_tags": sorted(set(self.response_tags))}

    def recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"the meter closed the connection after {len(data)} of {n} bytes")
            data += chunk
        return data

    def exchange_frame(self, frame: bytes) -> bytes:
        """Sends a wrapper frame, returns the answering frame (header included)."""
        self.sock.sendall(frame)
        self.round_trips += 1
        header = self.recv_exact(WRAPPER_HEADER)
        body = self.recv_exact(int.from_bytes(header[6:8], "big"))
        if body:
            self.response_tags.append(f"{body[0]:02X}")
        return header + body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# gurux-dlms


def frames_of(messages) -> list:
    """gurux returns a frame, a list of frames, or a list of lists (readList): flatten to frames."""
    if isinstance(messages, (bytes, bytearray)):
        return [bytes(messages)]
    out = []
    for m in messages or []:
        out.extend(frames_of(m))
    return out


class GuruxReader:
    def __init__(self, args, link: Link):
        self.link = link
        auth = {"none": Authentication.NONE, "lls": Authentication.LOW, "hls-gmac": Authentication.HIGH_GMAC}[args.auth]
        if args.ek:
            c = GXDLMSSecureClient(True, args.client_sap, SERVER_WPORT, auth, args.password, InterfaceType.WRAPPER)
            c.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
            c.ciphering.systemTitle = bytes.fromhex(args.system_title)
            c.ciphering.blockCipherKey = bytes.fromhex(args.ek)
            c.ciphering.authenticationKey = bytes.fromhex(args.ak)
            c.ciphering.invocationCounter = args.invocation_counter
        else:
            c = GXDLMSClient(True, args.client_sap, SERVER_WPORT, auth, args.password, InterfaceType.WRAPPER)
        if args.max_pdu:
            c.maxReceivePDUSize = args.max_pdu
        self.client = c

    def request(self, messages) -> GXReplyData:
        """Sends gurux's frames and follows GET-Request-Next until the whole answer is in."""
        reply = GXReplyData()
        for frame in frames_of(messages):
            reply.clear()
            self.receive(frame, reply)
            while reply.isMoreData():
                for nxt in frames_of(self.client.receiverReady(reply)):
                    self.receive(nxt, reply)
        return reply

    def receive(self, frame: bytes, reply: GXReplyData):
        data = GXByteBuffer(self.link.exchange_frame(frame))
        notify = GXReplyData()
        if not self.client.getData(data, reply, notify):
            raise RuntimeError("gurux did not find a complete frame in the answer")
        if reply.error:
            raise GXDLMSException(reply.error)

    def associate(self):
        reply = self.request(self.client.aarqRequest())
        self.client.parseAareResponse(reply.data)
        if self.client.authentication > Authentication.LOW:
            reply = self.request(self.client.getApplicationAssociationRequest())
            self.client.parseApplicationAssociationResponse(reply.data)

    def read(self, obj, attribute):
        """The raw value gurux decoded, after letting the object update itself from it."""
        reply = self.request(self.client.read(obj, attribute))
        self.client.updateValue(obj, attribute, reply.value)
        return reply.value

    def release(self):
        self.request(self.client.releaseRequest())


def gurux_rows(pg: GXDLMSProfileGeneric) -> list:
    rows = []
    for row in pg.buffer:
        cells = []
        for cell in row:
            if isinstance(cell, GXDateTime):
                cells.append(unix(cell.value))
            elif isinstance(cell, (bytes, bytearray)):
                cells.append(hx(cell))
            else:
                cells.append(cell)
        rows.append(cells)
    return rows


def read_with_gurux(args, link: Link, out: dict):
    r = GuruxReader(args, link)
    step(out, "associate", link, r.associate)

    def clock():
        c = GXDLMSClock(CLOCK)
        r.read(c, 2)
        return {"unix": unix(c.time.value), "text": c.time.value.isoformat()}

    step(out, "clock", link, clock)

    def a_plus():
        reg = GXDLMSRegister(A_PLUS)
        scaler_unit = r.read(reg, 3)
        value = r.read(reg, 2)
        return {"value": value, "scaler": scaler_unit[0], "unit": scaler_unit[1], "scaled": reg.value}

    step(out, "a_plus", link, a_plus)
    pg = GXDLMSProfileGeneric(PROFILE)
    # Attribute 3 first: gurux needs the capture objects to encode the range and decode the rows.
    step(out, "columns", link, lambda: gurux_columns(r, pg))
    if args.range_from:
        start = datetime.datetime.fromisoformat(args.range_from)
        end = datetime.datetime.fromisoformat(args.range_to)

        def by_range():
            r.client.updateValue(pg, 2, r.request(r.client.readRowsByRange(pg, start, end)).value)
            return {"rows": gurux_rows(pg)}

        step(out, "range", link, by_range)
    if args.entry_from:

        def by_entry():
            reply = r.request(r.client.readRowsByEntry(pg, args.entry_from, args.entry_count))
            r.client.updateValue(pg, 2, reply.value)
            return {"rows": gurux_rows(pg)}

        step(out, "entry", link, by_entry)
    step(out, "release", link, r.release)


def gurux_columns(r: GuruxReader, pg: GXDLMSProfileGeneric) -> list:
    r.read(pg, 3)
    return [
        {"class_id": int(obj.objectType), "obis": obj.logicalName, "attribute": co.attributeIndex,
         "data_index": co.dataIndex}
        for obj, co in pg.captureObjects
    ]


# ---------------------------------------------------------------------------------------------
# dlms-cosem


class CountingTransport(TcpTransport):
    """dlms-cosem's TCP transport, counting round trips and answer tags on the shared Link."""

    link: Link = None

    def send_request(self, bytes_to_send: bytes) -> bytes:
        frame = self.link.exchange_frame(self.wrap(bytes_to_send))
        return frame[WRAPPER_HEADER:]


class ScriptEntryDescriptor(EntryDescriptor):
    """dlms-cosem 25.1.0 cannot encode an entry descriptor; this encodes it as the Blue Book says."""

    def to_bytes(self) -> bytes:
        return (
            bytes([self.ACCESS_DESCRIPTOR, 0x02, 0x04, 0x06]) + self.from_entry.to_bytes(4, "big")
            + b"\x06" + self.to_entry.to_bytes(4, "big")
            + b"\x12" + self.from_selected_value.to_bytes(2, "big")
            + b"\x12" + self.to_selected_value.to_bytes(2, "big")
        )


def dc_attribute(interface, obis: str, attribute: int) -> dc_cosem.CosemAttribute:
    return dc_cosem.CosemAttribute(interface=interface, instance=dc_cosem.Obis.from_string(obis), attribute=attribute)


def dc_rows(client: DlmsClient, columns: list, raw: bytes) -> list:
    parser = ProfileGenericBufferParser(
        capture_objects=[dc_attribute(dc_enums.CosemInterface(c["class_id"]), c["obis"], c["attribute"]) for c in columns],
        capture_period=15,
    )
    rows = []
    for row in parser.parse_bytes(raw):
        cells = []
        for cell in row:
            value = None if cell is None else cell.value
            if isinstance(value, datetime.datetime):
                value = unix(value)
            elif isinstance(value, (bytes, bytearray)):
                value = hx(value)
            cells.append(value)
        rows.append(cells)
    return rows


def read_with_dlms_cosem(args, link: Link, out: dict):
    if args.auth == "none":
        auth = dc_security.NoSecurityAuthentication()
    elif args.auth == "lls":
        auth = dc_security.LowLevelSecurityAuthentication(secret=args.password.encode())
    else:
        auth = dc_security.HighLevelSecurityGmacAuthentication(challenge_length=32)
    transport = CountingTransport(client_logical_address=args.client_sap, server_logical_address=SERVER_WPORT,
                                  io=None, timeout=int(args.timeout))
    transport.link = link
    keys = {}
    if args.ek:
        keys = {
            "encryption_key": bytes.fromhex(args.ek), "authentication_key": bytes.fromhex(args.ak),
            "client_system_title": bytes.fromhex(args.system_title),
            "client_initial_invocation_counter": args.invocation_counter,
        }
    client = DlmsClient(transport=transport, authentication=auth, max_pdu_size=args.max_pdu or 0xFFFF,
                        timeout=int(args.timeout), **keys)
    step(out, "associate", link, client.associate)
    parse = dc_utils.parse_as_dlms_data

    def clock():
        raw = parse(client.get(dc_attribute(dc_enums.CosemInterface.CLOCK, CLOCK, 2)))
        dt, _status = dc_time.datetime_from_bytes(raw)
        return {"unix": unix(dt), "text": dt.isoformat()}

    step(out, "clock", link, clock)

    def a_plus():
        reg = dc_enums.CosemInterface.REGISTER
        scaler, unit = parse(client.get(dc_attribute(reg, A_PLUS, 3)))
        value = parse(client.get(dc_attribute(reg, A_PLUS, 2)))
        return {"value": value, "scaler": scaler, "unit": unit, "scaled": value * 10 ** scaler}

    step(out, "a_plus", link, a_plus)
    pg = dc_enums.CosemInterface.PROFILE_GENERIC

    def columns():
        return [
            {"class_id": c[0], "obis": dc_cosem.Obis.from_bytes(c[1]).to_string("."), "attribute": c[2], "data_index": c[3]}
            for c in parse(client.get(dc_attribute(pg, PROFILE, 3)))
        ]

    cols = step(out, "columns", link, columns)
    if args.range_from:

        def by_range():
            restricting = CaptureObject(cosem_attribute=dc_attribute(dc_enums.CosemInterface.CLOCK, CLOCK, 2), data_index=0)
            rd = RangeDescriptor(restricting_object=restricting,
                                 from_value=datetime.datetime.fromisoformat(args.range_from),
                                 to_value=datetime.datetime.fromisoformat(args.range_to))
            return {"rows": dc_rows(client, cols, client.get(dc_attribute(pg, PROFILE, 2), access_descriptor=rd))}

        step(out, "range", link, by_range)
    if args.entry_from:
        last = args.entry_from + args.entry_count - 1
        try:
            EntryDescriptor(from_entry=args.entry_from, to_entry=last).to_bytes()
            out["entry_native"] = {"supported": True}
        except NotImplementedError:
            out["entry_native"] = {"supported": False,
                                   "why": "dlms-cosem EntryDescriptor.to_bytes raises NotImplementedError"}

        def by_entry():
            ed = ScriptEntryDescriptor(from_entry=args.entry_from, to_entry=last)
            return {"rows": dc_rows(client, cols, client.get(dc_attribute(pg, PROFILE, 2), access_descriptor=ed))}

        step(out, "entry", link, by_entry)
    step(out, "release", link, client.release_association)


# ---------------------------------------------------------------------------------------------


class Failed(Exception):
    pass


def step(out: dict, name: str, link: Link, action):
    """Runs one read; records its result with the round trips it took, or the error, and stops."""
    link.mark()
    try:
        result = action()
    except Exception as exc:
        out["error"] = {"step": name, "error": f"{type(exc).__name__}: {exc}",
                        "trace": traceback.format_exc(limit=6), **link.counters()}
        raise Failed() from exc
    if isinstance(result, dict):
        out[name] = {**result, **link.counters()}
    elif isinstance(result, list):
        out[name] = {"items": result, **link.counters()}
    else:
        out[name] = link.counters()
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("peer", choices=["gurux", "dlms-cosem"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--client-sap", type=int, default=16)
    p.add_argument("--auth", choices=["none", "lls", "hls-gmac"], default="none")
    p.add_argument("--password")
    p.add_argument("--system-title", default="4D4D4D0000000001")
    p.add_argument("--ek")
    p.add_argument("--ak")
    p.add_argument("--invocation-counter", type=int, default=1)
    p.add_argument("--max-pdu", type=int, default=0, help="the client's max receive PDU (0: the peer's default)")
    p.add_argument("--from", dest="range_from")
    p.add_argument("--to", dest="range_to")
    p.add_argument("--entry-from", type=int, default=0)
    p.add_argument("--entry-count", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    if bool(args.range_from) != bool(args.range_to):
        p.error("--from and --to go together")
    package = {"gurux": "gurux-dlms", "dlms-cosem": "dlms-cosem"}[args.peer]
    out = {"peer": args.peer, "version": importlib.metadata.version(package), "client_sap": args.client_sap,
           "auth": args.auth}
    link = None
    status = 0
    try:
        link = Link(args.host, args.port, args.timeout)
        if args.peer == "gurux":
            read_with_gurux(args, link, out)
        else:
            read_with_dlms_cosem(args, link, out)
    except Failed:
        status = 1
    except Exception as exc:
        out["error"] = {"step": "connect", "error": f"{type(exc).__name__}: {exc}"}
        status = 1
    finally:
        if link:
            link.close()
    REAL_STDOUT.write(json.dumps(out) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())

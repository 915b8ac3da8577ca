#!/usr/bin/env python3
"""A small meter built on the gurux-dlms Python SERVER classes, for `reanimator read` to read.

  gurux_meter.py PORT [--lifetime SECONDS]

Serves 127.0.0.1:PORT with the TCP wrapper (InterfaceType.WRAPPER, logical device 1, public client
16 without authentication): Association LN 0.0.40.0.0.255, clock 0.0.1.0.0.255, register A+
1.0.1.8.0.255 with scaler_unit (-1, Wh), and load profile 1.0.99.1.0.255 (clock, status, A+, A-;
900 s; 96 rows on 2026-11-26 local time, UTC+1) with range access.

stdout, one JSON object per line: first {"listening": PORT, "served": {...}} with every value this
meter serves, then one {"event": ...} per GET it answered (with what a range selected), so the Rust
test can compare what `reanimator read` printed with what was served. Diagnostics go to stderr.

gurux-dlms 1.0.203's server classes do not run unpatched; the workarounds, each marked WORKAROUND:
- initialize() appends the whole object collection as ONE element of an empty association object
  list, so the list is filled here before initialize();
- the maxReceivePDUSize property recurses forever: the settings field is set directly;
- GXDLMSServer lacks notifyRead(), the no-argument onPostRead() call, getTransaction(),
  setTransaction() and notifyConnected(), which its command handler calls;
- GXServerReply lacks setReply(), getConnectionInfo(), getCount() and setCount();
- profile-generic selective access is broken (GXDLMSProfileGeneric reads the buffer by range through
  ValueEventArgs.getRowEndIndex(), which does not exist: AttributeError, answered as hardware-fault)
  and so is a GET answer longer than one PDU (hardware-fault too; gurux's error answers also carry
  invoke id 1 whatever the request used): the buffer is selected and encoded here, and the reads
  the test makes fit one 1024-byte PDU.
The process exits by itself after --lifetime seconds, so it cannot outlive a crashed test.
"""

import argparse
import datetime
import json
import socket
import sys
import time

REAL_STDOUT = sys.stdout
sys.stdout = sys.stderr  # gurux prints; keep the real stdout for the JSON lines

from gurux_dlms import GXDateTime, GXDLMSServer, GXServerReply  # noqa: E402
from gurux_dlms.enums import (  # noqa: E402
    AccessMode,
    Authentication,
    Conformance,
    DataType,
    InterfaceType,
    MethodAccessMode,
    ObjectType,
    SourceDiagnostic,
    Unit,
)
from gurux_dlms.objects import (  # noqa: E402
    GXDLMSAssociationLogicalName,
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

UTC_OFFSET = datetime.timedelta(hours=1)
ZONE = datetime.timezone(UTC_OFFSET)
DAY_START = datetime.datetime(2026, 11, 26, 0, 0, tzinfo=ZONE)
INTERVAL = 900
ROWS = 96
CLOCK_TIME = DAY_START + datetime.timedelta(hours=13, minutes=7, seconds=30)
REGISTER_RAW = 123456  # scaler -1: 12345.6 Wh
REGISTER_SCALER = -1
PUBLIC_CLIENT = 16
MAX_PDU = 1024
RECV_TIMEOUT = 10.0


def emit(record: dict):
    REAL_STDOUT.write(json.dumps(record) + "\n")
    REAL_STDOUT.flush()


def unix(dt: datetime.datetime) -> int:
    return int(dt.timestamp())


def row_time(i: int) -> datetime.datetime:
    return DAY_START + datetime.timedelta(seconds=i * INTERVAL)


def row_values(i: int) -> list:
    """One profile row: capture time (Unix), status, A+ and A- in Wh."""
    return [unix(row_time(i)), 0, 10_000 + 37 * i, 3 * i]


def axdr_date_time(dt: datetime.datetime) -> bytes:
    """A COSEM date-time with the Blue Book deviation sign (minutes from local time to UTC)."""
    deviation = -int(dt.utcoffset().total_seconds() // 60)
    return (
        dt.year.to_bytes(2, "big")
        + bytes([dt.month, dt.day, dt.isoweekday(), dt.hour, dt.minute, dt.second, 0])
        + deviation.to_bytes(2, "big", signed=True)
        + b"\x00"
    )


def parse_date_time(raw) -> int:
    """Unix time of a range bound; a bound without deviation is in the meter's local time."""
    raw = bytes(raw)
    if len(raw) != 12:
        raise ValueError(f"a range bound of {len(raw)} bytes is not a date-time")
    year = int.from_bytes(raw[0:2], "big")
    local = datetime.datetime(year, raw[2], raw[3], raw[5], raw[6], raw[7] if raw[7] != 0xFF else 0)
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    offset = UTC_OFFSET if deviation == -0x8000 else datetime.timedelta(minutes=-deviation)
    return unix(local.replace(tzinfo=datetime.timezone(offset)))


def encode_rows(indices) -> bytes:
    """The buffer as A-XDR: array of structure {octet-string date-time, unsigned, u32, u32}."""
    indices = list(indices)
    out = bytearray([DataType.ARRAY, len(indices)]) if len(indices) < 0x80 else bytearray([DataType.ARRAY, 0x81, len(indices)])
    for i in indices:
        _, status, a_plus, a_minus = row_values(i)
        out += bytes([DataType.STRUCTURE, 4, DataType.OCTET_STRING, 12]) + axdr_date_time(row_time(i))
        out += bytes([DataType.UINT8, status])
        out += bytes([DataType.UINT32]) + a_plus.to_bytes(4, "big")
        out += bytes([DataType.UINT32]) + a_minus.to_bytes(4, "big")
    return bytes(out)


class LoadProfile(GXDLMSProfileGeneric):
    """WORKAROUND: gurux's own buffer encoding and range selection are broken; serve rows here."""

    def getValue(self, settings, e):
        if e.index != 2:
            return super().getValue(settings, e)
        if e.selector == 1:
            _restricting, start, end, _columns = e.parameters
            lo, hi = parse_date_time(start), parse_date_time(end)
            chosen = [i for i in range(ROWS) if lo <= row_values(i)[0] <= hi]
            emit({"event": "profile-range", "from": lo, "to": hi, "rows": len(chosen)})
        elif e.selector == 2:
            first, last = e.parameters[0], e.parameters[1] or ROWS
            chosen = list(range(max(first, 1) - 1, min(last, ROWS)))
            emit({"event": "profile-entry", "from": first, "to": last, "rows": len(chosen)})
        else:
            chosen = list(range(ROWS))
            emit({"event": "profile-all", "rows": ROWS})
        e.byteArray = True
        return encode_rows(chosen)


class Reply(GXServerReply):
    """WORKAROUND: the reply object's accessors that gurux's server calls but does not define."""

    def setReply(self, value):
        self.reply = value

    def getConnectionInfo(self):
        return self.connectionInfo

    def getCount(self):
        return self.count

    def setCount(self, value):
        self.count = value


class Meter(GXDLMSServer):
    """The server callbacks gurux requires, plus the ones it calls but does not declare."""

    def __init__(self):
        super().__init__(True, InterfaceType.WRAPPER)
        # WORKAROUND: the maxReceivePDUSize property's setter calls itself forever.
        self.settings.maxServerPDUSize = MAX_PDU
        self.conformance = (
            Conformance.GET | Conformance.SELECTIVE_ACCESS | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        )
        association = GXDLMSAssociationLogicalName()
        association.authenticationMechanismName.mechanismId = Authentication.NONE
        self.clock = GXDLMSClock("0.0.1.0.0.255")
        self.clock.time = GXDateTime(CLOCK_TIME)
        self.register = GXDLMSRegister("1.0.1.8.0.255")
        self.register.value = REGISTER_RAW
        self.register.setDataType(2, DataType.UINT32)
        self.register.scaler = 10.0**REGISTER_SCALER
        self.register.unit = Unit.ACTIVE_ENERGY
        status = GXDLMSData("0.0.96.10.1.255")
        a_minus = GXDLMSRegister("1.0.2.8.0.255")
        self.profile = LoadProfile("1.0.99.1.0.255")
        self.profile.capturePeriod = INTERVAL
        for obj in (self.clock, status, self.register, a_minus):
            self.profile.addCaptureObject(obj, 2, 0)
        self.profile.profileEntries = ROWS
        self.profile.entriesInUse = ROWS
        objects = [association, self.clock, self.register, a_minus, status, self.profile]
        for obj in objects:
            self.items.append(obj)
            # WORKAROUND: initialize() would add the whole collection as one object-list element.
            association.objectList.append(obj)
        self.initialize()

    def served(self) -> dict:
        return {
            "clock": {"unix": unix(CLOCK_TIME), "iso": CLOCK_TIME.isoformat()},
            "register": {"obis": self.register.logicalName, "raw": REGISTER_RAW, "scaler": REGISTER_SCALER,
                         "unit": int(Unit.ACTIVE_ENERGY)},
            "profile": {"obis": self.profile.logicalName, "capture_period": INTERVAL,
                        "rows": [row_values(i) for i in range(ROWS)]},
        }

    # --- callbacks gurux declares abstract
    def isTarget(self, serverAddress, clientAddress):
        return serverAddress == 1 and clientAddress == PUBLIC_CLIENT

    def onValidateAuthentication(self, authentication, password):
        if authentication == Authentication.NONE:
            return SourceDiagnostic.NONE
        return SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED

    def onFindObject(self, objectType, sn, ln):
        return None

    def onGetAttributeAccess(self, arg):
        return AccessMode.READ

    def onGetMethodAccess(self, arg):
        return MethodAccessMode.NO_ACCESS

    def onPreGet(self, args):
        pass

    def onPostGet(self, args):
        pass

    def onPreRead(self, args):
        for e in args:
            emit({"event": "read", "class_id": int(e.target.objectType), "obis": e.target.logicalName,
                  "attribute": e.index})

    def onPostRead(self, args=None):  # WORKAROUND: called with and without arguments
        pass

    def onPreWrite(self, args):
        for e in args:
            e.error = 3  # read-write-denied: this meter is read-only

    def onPostWrite(self, args):
        pass

    def onPreAction(self, args):
        for e in args:
            e.error = 3

    def onPostAction(self, args):
        pass

    def onConnected(self, connectionInfo):
        emit({"event": "associated"})

    def onInvalidConnection(self, connectionInfo):
        emit({"event": "refused"})

    def onDisconnected(self, connectionInfo):
        emit({"event": "released"})

    # --- WORKAROUND: called by gurux's command handlers, missing from GXDLMSServer
    def notifyRead(self):
        """Called before a GET-Request-Normal is answered (without its arguments)."""

    def notifyConnected(self, connectionInfo):
        self.onConnected(connectionInfo)

    def getTransaction(self):
        return self.transaction

    def setTransaction(self, value):
        self.transaction = value


def serve_connection(meter: Meter, conn: socket.socket):
    conn.settimeout(RECV_TIMEOUT)
    meter.reset()
    while True:
        try:
            data = conn.recv(4096)
        except socket.timeout:
            return
        if not data:
            return
        reply = Reply(bytearray(data))
        meter.handleRequest(reply)
        if reply.reply:
            conn.sendall(bytes(reply.reply))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("port", type=int)
    p.add_argument("--lifetime", type=float, default=120.0, help="exit after this many seconds")
    args = p.parse_args()
    meter = Meter()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(8)
    deadline = time.monotonic() + args.lifetime
    emit({"listening": listener.getsockname()[1], "served": meter.served()})
    while time.monotonic() < deadline:
        listener.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            break
        with conn:
            try:
                serve_connection(meter, conn)
            except OSError as exc:
                emit({"event": "connection-error", "error": str(exc)})
    return 0


if __name__ == "__main__":
    sys.exit(main())

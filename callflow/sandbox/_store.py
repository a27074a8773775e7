"""The sandbox's state in SQLite: accounts, tokens, SIP Control Apps, TN leases, executions
and the call log.

One connection guarded by a lock serves every thread, so a ``:memory:`` database is shared by
the whole process and a file database never sees interleaved writes from this process (other
processes are serialised by SQLite itself, with a busy timeout). `Store.transaction` makes a
request's reads and writes one transaction; a write transaction takes SQLite's write lock at
its start (``BEGIN IMMEDIATE``), so a check and the write it guards (a free subdomain, the
seeded account) cannot interleave with another process's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The documented sandbox account (HTTP Basic credentials for ``GET /rest/auth``).
SANDBOX_EMAIL = "sandbox@callflow.test"
SANDBOX_PASSWORD = "sandbox"

SANDBOX_ACCOUNT_UUID = "5a4db0c5-0000-4000-8000-000000000001"

#: TN leases every new sandbox database starts with (fictional 555-01xx numbers).
SEEDED_LEASES: tuple[tuple[str, str], ...] = tuple(
    (f"5a4db0c5-0000-4000-8000-0000000001{n:02d}", f"1555010{n:04d}") for n in range(1, 6)
)

Row = dict[str, Any]
Clock = Callable[[], datetime]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    uuid TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, salt TEXT NOT NULL,
    password_hash TEXT NOT NULL, name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, account_uuid TEXT NOT NULL, created_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS apps (
    uuid TEXT PRIMARY KEY, account_uuid TEXT NOT NULL, fields TEXT NOT NULL,
    created_on TEXT NOT NULL, modified_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tn_leases (
    uuid TEXT PRIMARY KEY, account_uuid TEXT NOT NULL, tn TEXT NOT NULL,
    expired_on TEXT NOT NULL, autorenew INTEGER NOT NULL, app_uuid TEXT,
    created_on TEXT NOT NULL, modified_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    uuid TEXT PRIMARY KEY, app_uuid TEXT NOT NULL, account_uuid TEXT NOT NULL,
    size INTEGER NOT NULL, elements INTEGER NOT NULL, xml TEXT NOT NULL,
    created_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    uuid TEXT PRIMARY KEY, app_uuid TEXT NOT NULL, account_uuid TEXT NOT NULL,
    name TEXT NOT NULL, record TEXT NOT NULL, created_on TEXT NOT NULL
);
"""

# Subdomains are unique across the platform (they name a DNS host); an older database that
# already holds duplicates keeps them, and the check in `subdomain_taken` still holds.
_SUBDOMAIN_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS apps_subdomain "
    "ON apps (lower(json_extract(fields, '$.subdomain')))"
)

_TABLES = ("accounts", "tokens", "apps", "tn_leases", "executions", "calls")

#: How long a process waits for another's lock while opening the database, in seconds.
_OPEN_PATIENCE = 30.0


def default_database_path() -> Path:
    """Where the sandbox keeps its state unless told otherwise.

    ``$CALLFLOW_SANDBOX_DB`` if set, else ``$XDG_DATA_HOME/callflow/sandbox.sqlite3``
    (``~/.local/share/callflow/sandbox.sqlite3`` when XDG_DATA_HOME is unset).
    """
    explicit = os.environ.get("CALLFLOW_SANDBOX_DB")
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "callflow" / "sandbox.sqlite3"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hash_password(salt: str, password: str) -> str:
    return hashlib.sha256((salt + ":" + password).encode("utf-8")).hexdigest()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Store:
    """The sandbox's tables. ``path`` is a file (created with its folder) or ``":memory:"``."""

    def __init__(self, path: str | Path | None = None, *, clock: Clock = _utc_now) -> None:
        location = str(path) if path is not None else str(default_database_path())
        if location != ":memory:":
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        self.path = location
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            location, timeout=10.0, check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._open(location)

    @classmethod
    def in_memory(cls, *, clock: Clock = _utc_now) -> Store:
        return cls(":memory:", clock=clock)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing -------------------------------------------------------------------

    def _open(self, location: str) -> None:
        # Several processes may open a fresh file at once (parallel `callflow execute`):
        # switching to WAL can report "locked" without waiting, so it is retried, bounded.
        deadline = time.monotonic() + _OPEN_PATIENCE
        while True:
            try:
                if location != ":memory:":
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("PRAGMA synchronous=NORMAL")  # WAL keeps this crash-safe
                with self.transaction(write=True):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._seed()
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            with self.transaction(write=True):
                self._db.execute(_SUBDOMAIN_INDEX)
        except sqlite3.IntegrityError:
            pass

    def _now(self) -> str:
        return _iso(self._clock())

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """One transaction for everything inside (nested calls join the outer one).

        A write transaction takes the database's write lock when it begins; an exception
        rolls everything back, so a refused request leaves no trace.
        """
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write(self, statements: Iterable[tuple[str, Sequence[object]]]) -> None:
        with self.transaction(write=True):
            for sql, parameters in statements:
                self._db.execute(sql, parameters)

    def _rows(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, parameters))

    def _seed(self) -> None:
        # Inside the opening write transaction: exactly one process seeds a new file.
        if self._rows("SELECT 1 FROM accounts WHERE uuid = ?", (SANDBOX_ACCOUNT_UUID,)):
            return
        now = self._now()
        salt = secrets.token_hex(8)
        statements: list[tuple[str, Sequence[object]]] = [
            (
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?)",
                (
                    SANDBOX_ACCOUNT_UUID,
                    SANDBOX_EMAIL,
                    salt,
                    _hash_password(salt, SANDBOX_PASSWORD),
                    "Sandbox",
                ),
            )
        ]
        for lease_uuid, tn in SEEDED_LEASES:
            statements.append(
                (
                    "INSERT INTO tn_leases VALUES (?, ?, ?, ?, 1, NULL, ?, ?)",
                    (lease_uuid, SANDBOX_ACCOUNT_UUID, tn, "2099-12-31T00:00:00.000Z", now, now),
                )
            )
        self._write(statements)

    # -- accounts and tokens ----------------------------------------------------------

    def authenticate(self, email: str, password: str) -> str | None:
        """The account uuid for these credentials, or None."""
        rows = self._rows(
            "SELECT uuid, salt, password_hash FROM accounts WHERE email = ?", (email,)
        )
        if not rows:
            return None
        row = rows[0]
        if not hmac.compare_digest(_hash_password(row["salt"], password), row["password_hash"]):
            return None
        return str(row["uuid"])

    def issue_token(self, account_uuid: str) -> str:
        token = "sbx." + secrets.token_urlsafe(32)
        self._write(
            [
                (
                    "INSERT INTO tokens VALUES (?, ?, ?)",
                    (_hash_token(token), account_uuid, self._now()),
                )
            ]
        )
        return token

    def account_for_token(self, token: str) -> Row | None:
        rows = self._rows(
            "SELECT accounts.uuid, accounts.email, accounts.name FROM tokens "
            "JOIN accounts ON accounts.uuid = tokens.account_uuid WHERE token_hash = ?",
            (_hash_token(token),),
        )
        return dict(rows[0]) if rows else None

    # -- apps -------------------------------------------------------------------------

    def create_app(self, account: Row, fields: dict[str, object]) -> Row:
        app_uuid = str(uuid_module.uuid4())
        now = self._now()
        with self.transaction(write=True):
            self._write(
                [
                    (
                        "INSERT INTO apps VALUES (?, ?, ?, ?, ?)",
                        (app_uuid, account["uuid"], json.dumps(fields), now, now),
                    )
                ]
            )
            found = self.get_app(account, app_uuid)
        assert found is not None
        return found

    def subdomain_taken(self, subdomain: str, except_app: str | None = None) -> bool:
        """True when another app (of any account) has ``subdomain``, compared case-blind."""
        rows = self._rows(
            "SELECT uuid FROM apps WHERE lower(json_extract(fields, '$.subdomain')) = lower(?) "
            "AND uuid IS NOT ?",
            (subdomain, except_app),
        )
        return bool(rows)

    def list_apps(self, account: Row) -> list[Row]:
        rows = self._rows(
            "SELECT * FROM apps WHERE account_uuid = ? ORDER BY created_on, uuid",
            (account["uuid"],),
        )
        return [self._app(account, row) for row in rows]

    def get_app(self, account: Row, app_uuid: str) -> Row | None:
        rows = self._rows(
            "SELECT * FROM apps WHERE uuid = ? AND account_uuid = ?", (app_uuid, account["uuid"])
        )
        return self._app(account, rows[0]) if rows else None

    def update_app(self, account: Row, app_uuid: str, changes: dict[str, object]) -> Row | None:
        with self.transaction(write=True):
            rows = self._rows(
                "SELECT fields FROM apps WHERE uuid = ? AND account_uuid = ?",
                (app_uuid, account["uuid"]),
            )
            if not rows:
                return None
            fields = json.loads(rows[0]["fields"])
            fields.update(changes)
            self._write(
                [
                    (
                        "UPDATE apps SET fields = ?, modified_on = ? WHERE uuid = ?",
                        (json.dumps(fields), self._now(), app_uuid),
                    )
                ]
            )
            return self.get_app(account, app_uuid)

    def delete_app(self, account: Row, app_uuid: str) -> bool:
        with self.transaction(write=True):
            if self.get_app(account, app_uuid) is None:
                return False
            self._write(
                [
                    ("DELETE FROM apps WHERE uuid = ?", (app_uuid,)),
                    (
                        "UPDATE tn_leases SET app_uuid = NULL, modified_on = ? WHERE app_uuid = ?",
                        (self._now(), app_uuid),
                    ),
                ]
            )
        return True

    def _app(self, account: Row, row: sqlite3.Row) -> Row:
        fields = json.loads(row["fields"])
        person = {"uuid": account["uuid"], "email": account["email"]}
        return {
            "uuid": row["uuid"],
            **fields,
            "created_on": row["created_on"],
            "modified_on": row["modified_on"],
            "account": {"uuid": account["uuid"], "name": account["name"]},
            "created_by": person,
            "modified_by": person,
        }

    # -- TN leases --------------------------------------------------------------------

    def list_leases(self, account: Row, app_uuid: str) -> list[Row]:
        rows = self._rows(
            "SELECT * FROM tn_leases WHERE account_uuid = ? AND app_uuid = ? ORDER BY tn",
            (account["uuid"], app_uuid),
        )
        return [self._lease(row) for row in rows]

    def all_leases(self, account: Row) -> list[Row]:
        rows = self._rows(
            "SELECT * FROM tn_leases WHERE account_uuid = ? ORDER BY tn", (account["uuid"],)
        )
        return [self._lease(row) for row in rows]

    def change_leases(
        self, account: Row, app_uuid: str, add: Sequence[str], remove: Sequence[str]
    ) -> str | None:
        """Assign ``add`` to the app and release ``remove``; a reason if that is refused."""
        with self.transaction(write=True):
            owned = {
                row["uuid"]: row["app_uuid"]
                for row in self._rows(
                    "SELECT uuid, app_uuid FROM tn_leases WHERE account_uuid = ?",
                    (account["uuid"],),
                )
            }
            for lease in [*add, *remove]:
                if lease not in owned:
                    return f"TN lease {lease} not found"
            for lease in add:
                if owned[lease] not in (None, app_uuid):
                    return f"TN lease {lease} is assigned to another app ({owned[lease]})"
            for lease in remove:
                if owned[lease] != app_uuid and lease not in add:
                    return f"TN lease {lease} is not assigned to this app"
            now = self._now()
            statements: list[tuple[str, Sequence[object]]] = [
                ("UPDATE tn_leases SET app_uuid = NULL, modified_on = ? WHERE uuid = ?", (now, x))
                for x in remove
            ]
            statements += [
                (
                    "UPDATE tn_leases SET app_uuid = ?, modified_on = ? WHERE uuid = ?",
                    (app_uuid, now, x),
                )
                for x in add
            ]
            self._write(statements)
        return None

    def _lease(self, row: sqlite3.Row) -> Row:
        return {
            "uuid": row["uuid"],
            "tn": {"number": row["tn"], "voice": True, "sms": False},
            "expired_on": row["expired_on"],
            "autorenew": bool(row["autorenew"]),
            "sip_app": {"uuid": row["app_uuid"]} if row["app_uuid"] else None,
            "created_on": row["created_on"],
            "modified_on": row["modified_on"],
        }

    # -- executions and the call log ------------------------------------------------------

    def record_execution(
        self,
        account: Row,
        app_uuid: str,
        xml: str,
        elements: int,
        *,
        name: str = "flow.xml",
        call: Row | None = None,
    ) -> Row:
        """Store an accepted execution and, when given, its simulated ``call`` (the call log)."""
        execution: Row = {
            "uuid": str(uuid_module.uuid4()),
            "app_uuid": app_uuid,
            "status": "accepted",
            "size": len(xml.encode("utf-8")),
            "elements": elements,
            "created_on": self._now(),
        }
        statements: list[tuple[str, Sequence[object]]] = [
            (
                "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    execution["uuid"],
                    app_uuid,
                    account["uuid"],
                    execution["size"],
                    elements,
                    xml,
                    execution["created_on"],
                ),
            )
        ]
        if call is not None:
            statements.append(
                (
                    "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        execution["uuid"],
                        app_uuid,
                        account["uuid"],
                        name,
                        json.dumps(call),
                        execution["created_on"],
                    ),
                )
            )
            execution["call_log"] = f"/rest/sandbox/calls/{execution['uuid']}"
        self._write(statements)
        return execution

    def list_calls(self, account: Row) -> list[Row]:
        """The account's logged calls, newest first, as summaries (no flow, no events)."""
        rows = self._rows(
            "SELECT * FROM calls WHERE account_uuid = ? ORDER BY created_on DESC, rowid DESC",
            (account["uuid"],),
        )
        return [self._call(row, full=False) for row in rows]

    def get_call(self, account: Row, call_uuid: str) -> Row | None:
        rows = self._rows(
            "SELECT calls.*, executions.xml FROM calls JOIN executions "
            "ON executions.uuid = calls.uuid WHERE calls.uuid = ? AND calls.account_uuid = ?",
            (call_uuid, account["uuid"]),
        )
        return self._call(rows[0], full=True) if rows else None

    def _call(self, row: sqlite3.Row, *, full: bool) -> Row:
        record = json.loads(row["record"])
        summary = {
            "uuid": row["uuid"],
            "app_uuid": row["app_uuid"],
            "name": row["name"],
            "created_on": row["created_on"],
            **{key: record.get(key) for key in ("ended_by", "duration_ms", "steps", "heard")},
        }
        if not full:
            return summary
        return {**summary, **record, "flow": row["xml"]}

    # -- inspection (tests, `callflow sandbox`) ----------------------------------------------

    def count(self, table: str) -> int:
        if table not in _TABLES:
            raise ValueError(f"no table {table!r}; tables: {', '.join(_TABLES)}")
        return int(self._rows(f"SELECT COUNT(*) FROM {table}")[0][0])

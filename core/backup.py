"""Export a database as JSON Lines and import it into an empty one, on SQLite or
PostgreSQL alike, for any schema: every table of the metadata it is given is written,
unless the policy excludes it with a reason.

The format (``FORMAT``, version ``VERSION``), one JSON object per line, UTF-8:

* first, a header: ``{"format": "citydeal-export", "version": 1, "revision": "0011",
  "exported_at": "…", "source": "sqlite", "excluded": {table: reason},
  "withheld": {"table.column": reason}}``;
* then one line per row, tables in dependency order (a row comes after the rows it
  refers to), rows in primary-key order: ``{"table": "listing", "row": {column: value}}``;
* last, a trailer with the number of rows of every table written:
  ``{"end": {"listing": 46, …}}``. A file without it was cut short, and is refused.

Values are JSON where JSON has them (strings, numbers, booleans, null, and the JSON
columns' own values); datetimes are ISO 8601 with their offset, dates ISO 8601, decimals
strings, bytes base64. The importer decodes each value by its column's type and refuses
what does not fit, naming the line, table and column.

A table the policy calls optional (derived data that is slow to compute again) is
written only when asked, and restored whenever the file has it.

An import runs in one transaction: it either restores the whole file or changes nothing.
Memory stays flat either way: rows are read with server-side cursors, and written in
batches as the file is read.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Uuid,
    func,
    inspect,
    null,
    select,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import sort_tables_and_constraints
from sqlalchemy.types import TypeDecorator, TypeEngine

FORMAT = "citydeal-export"
VERSION = 1
BATCH = 1000
ALEMBIC_TABLE = "alembic_version"


class BackupError(Exception):
    """An export or import that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupPolicy:
    """What of the schema a backup leaves out, each with its reason (written in the
    header, so a reader of the file knows what is not there and why).

    ``excluded``: tables not written (secrets, derived data, reference data, queues).
    ``withheld``: ``(table, column)`` pairs written as null (a nullable column).
    ``foreign_prefixes``: tables in the database that belong to another library (a job
    queue's), neither ours to write nor to refuse.
    ``optional``: excluded tables an export writes when asked (``including``), and an
    import restores when the file has them (derived data that is slow to compute again).
    """

    excluded: dict[str, str] = field(default_factory=dict)
    withheld: dict[tuple[str, str], str] = field(default_factory=dict)
    foreign_prefixes: tuple[str, ...] = ()
    optional: frozenset[str] = frozenset()

    def including(self, names: Iterable[str]) -> BackupPolicy:
        """This policy with the optional tables ``names`` written after all."""
        names = set(names)
        if names - self.optional:
            raise BackupError(f"table {', '.join(sorted(names - self.optional))} is not optional")
        excluded = {name: why for name, why in self.excluded.items() if name not in names}
        return replace(self, excluded=excluded, optional=self.optional - names)

    def check(self, metadata: MetaData) -> None:
        """Refuse a policy that names a table or column the schema does not have, or
        withholds a column that cannot be empty."""
        for name in self.excluded:
            if name not in metadata.tables:
                raise BackupError(f"the backup excludes table {name}, which the schema lacks")
        for name in self.optional - set(self.excluded):
            raise BackupError(f"table {name} is optional in backups but not excluded")
        for table_name, column_name in self.withheld:
            table = metadata.tables.get(table_name)
            if table is None or column_name not in table.columns:
                raise BackupError(
                    f"the backup withholds {table_name}.{column_name}, which the schema lacks"
                )
            if not table.columns[column_name].nullable:
                raise BackupError(
                    f"the backup withholds {table_name}.{column_name}, which cannot be null"
                )


def exported_tables(metadata: MetaData, policy: BackupPolicy) -> list[Table]:
    """The tables a backup writes, each after every table it refers to. Refuses a schema
    whose foreign keys form a cycle: rows could not be restored one table at a time."""
    policy.check(metadata)
    every = list(metadata.tables.values())
    ordered = sort_tables_and_constraints(every)  # type: ignore[no-untyped-call]
    cycles = [
        constraint for table, constraints in ordered if table is None for constraint in constraints
    ]
    if cycles:
        names = ", ".join(f"{c.table.name}.{c.name or 'fk'}" for c in cycles)
        raise BackupError(f"foreign keys form a cycle ({names}); a backup cannot order the rows")
    return [table for table in metadata.sorted_tables if table.name not in policy.excluded]


def unaccounted_tables(
    connection: Connection, metadata: MetaData, policy: BackupPolicy
) -> list[str]:
    """Tables in the database that the backup would silently lose: neither in the
    metadata, nor excluded, nor another library's, nor alembic's."""
    present = inspect(connection).get_table_names()
    return sorted(
        name
        for name in present
        if name not in metadata.tables
        and name != ALEMBIC_TABLE
        and not name.startswith(policy.foreign_prefixes or ("\0",))
    )


def database_revision(connection: Connection) -> str:
    """The alembic revision the database is at; refuses one that was never migrated."""
    if not inspect(connection).has_table(ALEMBIC_TABLE):
        raise BackupError("the database has no schema yet: run `citydeal db upgrade` first")
    revisions = connection.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars().all()
    if len(revisions) != 1:
        raise BackupError(f"the database is at {len(revisions)} alembic revisions, expected one")
    return str(revisions[0])


# --- values ---------------------------------------------------------------------------


class _Unfit(ValueError):
    """A value that does not fit its column (the message says what was expected)."""


@dataclass(frozen=True)
class Codec:
    """How one column's values are written to JSON and read back."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _python_type(type_: TypeEngine[Any]) -> Any:
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def _base_type(type_: TypeEngine[Any]) -> TypeEngine[Any] | None:
    """The type a decorated type stores, when it hands Python the same kind of value
    (``UTCDateTime``, sqlmodel's ``AutoString``); None for one that does not (an
    ``Interval`` kept as a datetime): its values would be mistaken."""
    while isinstance(type_, TypeDecorator):
        impl = type_.impl_instance
        declared = _python_type(type_)
        if declared not in (None, object) and declared is not _python_type(impl):
            return None
        type_ = impl
    return type_


def _same(value: Any) -> Any:
    return value


def _decode_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Unfit("expected an integer")
    return value


def _decode_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unfit("expected a number")
    return float(value)


def _decode_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Unfit("expected true or false")
    return value


def _encode_decimal(value: Decimal) -> str:
    return str(value)


def _decode_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Unfit("expected a decimal number as a string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _Unfit("expected a decimal number as a string") from None


def _encode_datetime(value: datetime) -> str:
    return value.isoformat()


def _datetime_decoder(aware: bool) -> Callable[[Any], datetime]:
    def decode(value: Any) -> datetime:
        if not isinstance(value, str):
            raise _Unfit("expected an ISO 8601 date and time")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Unfit("expected an ISO 8601 date and time") from None
        if aware and parsed.tzinfo is None:
            raise _Unfit("expected a date and time with its offset (+00:00)")
        if not aware and parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed

    return decode


def _encode_date(value: date) -> str:
    return value.isoformat()


def _decode_date(value: Any) -> date:
    if not isinstance(value, str):
        raise _Unfit("expected an ISO 8601 date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Unfit("expected an ISO 8601 date") from None


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _Unfit("expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Unfit("expected base64 text") from None


def _string_decoder(length: int | None) -> Callable[[Any], str]:
    def decode(value: Any) -> str:
        if not isinstance(value, str):
            raise _Unfit("expected a string")
        if length is not None and len(value) > length:
            raise _Unfit(f"longer than {length} characters")
        return value

    return decode


def _enum_codec(type_: SAEnum) -> Codec:
    members = list(type_.enum_class) if type_.enum_class is not None else []
    stored = dict(zip(members, type_.enums, strict=False))  # member -> what the database keeps
    back = {name: member for member, name in stored.items()}

    def encode(value: Any) -> Any:
        return stored[value] if isinstance(value, enum.Enum) else value

    def decode(value: Any) -> Any:
        if not isinstance(value, str) or value not in type_.enums:
            raise _Unfit(f"expected one of {', '.join(type_.enums)}")
        return back.get(value, value)

    return Codec(encode, decode)


def _encode_uuid(value: Any) -> str:
    return str(value)


def _decode_uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise _Unfit("expected a UUID")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _Unfit("expected a UUID") from None


def _codec_of(type_: TypeEngine[Any]) -> Codec | None:
    if isinstance(type_, Boolean):
        return Codec(_same, _decode_bool)
    if isinstance(type_, Integer):
        return Codec(_same, _decode_int)
    if isinstance(type_, Float):
        return Codec(_same, _decode_float)
    if isinstance(type_, Numeric):
        if type_.asdecimal:
            return Codec(_encode_decimal, _decode_decimal)
        return Codec(_same, _decode_float)
    if isinstance(type_, DateTime):
        return Codec(_encode_datetime, _datetime_decoder(aware=bool(type_.timezone)))
    if isinstance(type_, Date):
        return Codec(_encode_date, _decode_date)
    if isinstance(type_, LargeBinary):
        return Codec(_encode_bytes, _decode_bytes)
    if isinstance(type_, JSON):
        return Codec(_same, _same)
    if isinstance(type_, SAEnum):  # before String, which it extends
        return _enum_codec(type_)
    if isinstance(type_, String):
        return Codec(_same, _string_decoder(type_.length))
    if isinstance(type_, Uuid) and type_.as_uuid:
        return Codec(_encode_uuid, _decode_uuid)
    return None


def codec_for(column: Column[Any]) -> Codec:
    """The codec of ``column``'s type; refuses a type the format does not know, so a
    new kind of column fails loudly (in the suite) rather than round-tripping wrongly."""
    type_ = _base_type(column.type)
    codec = _codec_of(type_) if type_ is not None else None
    if codec is None:
        raise BackupError(
            f"column {column.table.name}.{column.name} is of type {column.type!r}, "
            "which the export format does not know yet (core/backup.py: codec_for)"
        )
    return codec


# --- export ---------------------------------------------------------------------------


@dataclass
class Report:
    """What an export wrote or an import restored."""

    rows: dict[str, int] = field(default_factory=dict)
    revision: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# Characters some readers take for the end of a line (Python's str.splitlines, for one)
# that JSON leaves as they are: escaped, so that a line is a line to every reader.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json(value: Any) -> str:
    written = _ENCODER.encode(value)
    if "\x85" in written or "\u2028" in written or "\u2029" in written:
        written = written.translate(_LINE_BREAKS)
    return written


def _line(document: dict[str, Any]) -> str:
    return _json(document) + "\n"


def _snapshot(engine: Engine) -> Connection:
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        # One snapshot for every table, as pg_dump takes: rows committed meanwhile by the
        # running app are all in or all out.
        connection = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    return connection


def _export_table(connection: Connection, table: Table, policy: BackupPolicy, out: IO[str]) -> int:
    """Write the rows of ``table``, in primary-key order, a batch at a time (a
    server-side cursor on PostgreSQL); returns how many."""
    withheld = {column for (name, column) in policy.withheld if name == table.name}
    names = [column.name for column in table.columns]
    # Only the values JSON does not hold as they are need a call per row.
    encoders = [
        (index, codec.encode)
        for index, codec in enumerate(codec_for(column) for column in table.columns)
        if codec.encode is not _same
    ]
    query = select(
        *(null().label(c.name) if c.name in withheld else c for c in table.columns)
    ).order_by(*table.primary_key.columns)
    prefix = f'{{"table":{_json(table.name)},"row":'
    count = 0
    result = connection.execution_options(yield_per=BATCH).execute(query)
    for rows in result.partitions():
        for row in rows:
            document = dict(zip(names, row, strict=True))
            for index, encode in encoders:
                if row[index] is not None:
                    document[names[index]] = encode(row[index])
            out.write(prefix + _json(document) + "}\n")
        count += len(rows)
    return count


def export(engine: Engine, metadata: MetaData, policy: BackupPolicy, out: IO[str]) -> Report:
    """Write the database at ``engine`` to ``out`` (see the module's docstring)."""
    started = time.perf_counter()
    tables = exported_tables(metadata, policy)
    for table in tables:  # an unknown column type stops the export before it starts
        for column in table.columns:
            codec_for(column)
    report = Report()
    with _snapshot(engine) as connection, connection.begin():
        report.revision = database_revision(connection)
        unknown = unaccounted_tables(connection, metadata, policy)
        if unknown:
            raise BackupError(
                f"table {', '.join(unknown)} is in the database but neither a model nor "
                "excluded from backups: it would be lost; declare its model, or exclude it "
                "with a reason (BACKUP in api/tables.py)"
            )
        out.write(
            _line(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "revision": report.revision,
                    "exported_at": datetime.now(UTC).isoformat(),
                    "source": engine.dialect.name,
                    "excluded": dict(sorted(policy.excluded.items())),
                    "withheld": {
                        f"{t}.{c}": why for (t, c), why in sorted(policy.withheld.items())
                    },
                }
            )
        )
        for table in tables:
            report.rows[table.name] = _export_table(connection, table, policy, out)
        out.write(_line({"end": report.rows}))
    report.seconds = time.perf_counter() - started
    return report


# --- import ---------------------------------------------------------------------------


@dataclass
class _Batch:
    table: Table | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    first_line: int = 0


def _documents(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BackupError(f"line {number} is not JSON ({exc.msg})") from None
        if not isinstance(document, dict):
            raise BackupError(f"line {number} is not a JSON object")
        yield number, document


def _check_header(number: int, header: dict[str, Any], revision: str) -> None:
    if header.get("format") != FORMAT:
        raise BackupError(f"line {number} is not the header of a {FORMAT} file")
    if header.get("version") != VERSION:
        raise BackupError(
            f"the file is in version {header.get('version')!r} of the format; "
            f"this citydeal reads version {VERSION}"
        )
    if header.get("revision") != revision:
        raise BackupError(
            f"the file was exported from a database at migration {header.get('revision')!r}, "
            f"and this database is at {revision!r}: import it into a database at "
            f"{header.get('revision')!r} (the citydeal release that wrote the file: "
            "`citydeal db upgrade`, then `citydeal import`), then bring that database "
            "forward with this release's `citydeal db upgrade`"
        )


def _refuse_unless_empty(connection: Connection, tables: list[Table]) -> None:
    for table in tables:
        if connection.execute(select(1).select_from(table).limit(1)).first() is not None:
            raise BackupError(
                f"the database is not empty (table {table.name} has rows): import only into "
                "a new database brought to the schema with `citydeal db upgrade`"
            )
    importing = {table.name for table in tables}
    for table in tables:
        for key in table.foreign_keys:
            referred = key.column.table
            if referred.name in importing:
                continue
            if connection.execute(select(1).select_from(referred).limit(1)).first() is None:
                raise BackupError(
                    f"table {referred.name}, which {table.name} refers to, is empty: bring the "
                    "database to the schema with `citydeal db upgrade`, which loads it"
                )


def _reset_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """PostgreSQL: move every serial or identity sequence past the highest id restored,
    so the next row inserted does not collide with one of them."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                select(func.pg_get_serial_sequence(table.name, column.name))
            ).scalar()
            if sequence is None:
                continue
            highest = connection.execute(select(func.max(column))).scalar()
            connection.execute(select(func.setval(sequence, highest or 1, highest is not None)))


def _flush(connection: Connection, batch: _Batch, report: Report) -> None:
    if batch.table is None or not batch.rows:
        return
    try:
        connection.execute(batch.table.insert(), batch.rows)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BackupError(
            f"the rows of table {batch.table.name} from line {batch.first_line} on could not "
            f"be restored: {reason}"
        ) from None
    report.rows[batch.table.name] = report.rows.get(batch.table.name, 0) + len(batch.rows)
    batch.rows = []


def _decode_row(
    number: int, name: str, row: dict[str, Any], columns: dict[str, tuple[Column[Any], Codec]]
) -> dict[str, Any]:
    """The values of one row of the file, decoded by their columns' types."""
    unknown = sorted(set(row) - set(columns))
    if unknown:
        raise BackupError(f"line {number}: table {name} has no column {unknown[0]}")
    values: dict[str, Any] = {}
    for column_name, (column, codec) in columns.items():
        if column_name not in row:
            raise BackupError(f"line {number}: the row of {name} lacks column {column_name}")
        value = row[column_name]
        if value is None:
            if not column.nullable:
                raise BackupError(f"line {number}: {name}.{column_name} cannot be null")
            values[column_name] = None
            continue
        try:
            values[column_name] = codec.decode(value)
        except _Unfit as exc:
            shown = json.dumps(value, ensure_ascii=False)[:60]
            raise BackupError(f"line {number}: {name}.{column_name}: {exc} (got {shown})") from None
    return values


def restore(
    engine: Engine, metadata: MetaData, policy: BackupPolicy, lines: Iterable[str]
) -> Report:
    """Restore an export into the empty database at ``engine``, in one transaction:
    the whole file, or nothing (and a ``BackupError`` saying why)."""
    started = time.perf_counter()
    tables = exported_tables(metadata, policy.including(policy.optional))
    by_name = {table.name: table for table in tables}
    codecs = {table.name: {c.name: (c, codec_for(c)) for c in table.columns} for table in tables}
    report = Report()
    batch = _Batch()
    with engine.begin() as connection:
        report.revision = database_revision(connection)
        documents = _documents(lines)
        first = next(documents, None)
        if first is None:
            raise BackupError("the file is empty")
        _check_header(*first, report.revision)
        _refuse_unless_empty(connection, tables)
        trailer: dict[str, Any] | None = None
        for number, document in documents:
            if trailer is not None:
                raise BackupError(f"line {number} comes after the file's last line")
            if "end" in document:
                trailer = document["end"]
                if not isinstance(trailer, dict):
                    raise BackupError(f"line {number}: the last line's counts are not an object")
                continue
            name, row = document.get("table"), document.get("row")
            if not isinstance(name, str) or not isinstance(row, dict):
                raise BackupError(f'line {number} is not {{"table": …, "row": {{…}}}}')
            table = by_name.get(name)
            if table is None:
                why = policy.excluded.get(name)
                raise BackupError(
                    f"line {number}: table {name} is not restored ({why})"
                    if why
                    else f"line {number}: no table {name} in this schema"
                )
            values = _decode_row(number, name, row, codecs[name])
            if batch.table is not table or len(batch.rows) >= BATCH:
                _flush(connection, batch, report)
                batch.table, batch.first_line = table, number
            batch.rows.append(values)
        if trailer is None:
            raise BackupError(
                "the file ends before its last line: it was cut short; nothing was restored"
            )
        _flush(connection, batch, report)
        expected = {table: count for table, count in trailer.items() if count}
        if expected != report.rows:
            raise BackupError(
                f"the file's last line counts {expected}, but its rows are {report.rows}: "
                "the file was altered; nothing was restored"
            )
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, tables)
    report.seconds = time.perf_counter() - started
    return report

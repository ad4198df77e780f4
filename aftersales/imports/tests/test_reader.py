"""`reader.read_ahead`: the export read and parsed by a forked child, one batch ahead of the
writes. What the caller gets is what reading in-line gives; an error in the child reaches the
caller; the child never outlives the caller's reading."""

from __future__ import annotations

import multiprocessing
import os
import signal
from io import BytesIO

import pytest

from aftersales.imports import columns as C
from aftersales.imports.fixtures import realistic_rows, write_export
from aftersales.imports.reader import open_rows, read_ahead


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not across a pipe")


@pytest.fixture
def export() -> BytesIO:
    handle = BytesIO()
    write_export(handle, realistic_rows(23, seed=5))
    handle.seek(0)
    return handle


def first_cell(header):
    return lambda number, values: (number, values[0])


def test_r13_3_the_rows_read_ahead_are_the_rows_read_in_line(export):
    with open_rows(export) as (header, rows):
        in_line = [(n, values[0]) for n, values in rows]
        in_line_header = header
    export.seek(0)
    with read_ahead(export, 10, first_cell) as (header, batches):
        ahead = list(batches)
    assert header == in_line_header and header[0] == C.HEADERS[0]
    assert [len(batch) for batch in ahead] == [10, 10, 3]
    assert [row for batch in ahead for row in batch] == in_line
    assert not multiprocessing.active_children()


def test_r13_3_the_rows_are_parsed_in_another_process(export):
    with read_ahead(export, 50, lambda header: lambda number, values: os.getpid()) as (_h, batches):
        pids = {pid for batch in batches for pid in batch}
    assert len(pids) == 1 and os.getpid() not in pids


def test_r13_3_an_error_while_reading_ahead_reaches_the_import(export):
    def parser(header):
        def parse(number, values):
            if number == 15:
                raise ValueError(f"row {number} cannot be read")
            return number

        return parse

    with read_ahead(export, 5, parser) as (_header, batches):
        got = []
        with pytest.raises(ValueError, match="row 15 cannot be read"):
            for batch in batches:
                got += batch
    assert got == list(range(2, 12))  # the batches before the bad one arrived whole
    assert not multiprocessing.active_children()


def test_r13_3_an_error_that_cannot_cross_the_pipe_arrives_as_its_text(export):
    def parser(header):
        def parse(number, values):
            raise Unpicklable("a cell openpyxl cannot read")

        return parse

    with (
        read_ahead(export, 5, parser) as (_header, batches),
        pytest.raises(RuntimeError, match="Unpicklable: a cell openpyxl cannot read"),
    ):
        list(batches)


def test_r13_3_leaving_early_stops_the_reading_process():
    # Far more than the pipe holds (~400 KB of rows against 64 KB): the child cannot have
    # sent everything and ended by itself when the caller leaves after the first batch.
    export = BytesIO()
    write_export(export, realistic_rows(400, seed=6))
    export.seek(0)
    with read_ahead(export, 2, lambda header: lambda number, values: values) as (_h, batches):
        assert len(next(batches)) == 2
        assert multiprocessing.active_children()
    assert not multiprocessing.active_children()


def test_r13_3_a_file_that_is_not_an_export_fails_in_the_caller():
    with (
        pytest.raises(Exception, match="File is not a zip file"),
        read_ahead(BytesIO(b"not a workbook"), 5, first_cell),
    ):
        pass
    assert not multiprocessing.active_children()


def test_r13_3_the_reading_process_stops_in_a_worker_that_handles_sigterm(export):
    """A task worker keeps SIGTERM for its graceful shutdown; its forked reader must still
    stop when the import leaves early (the suite hung on this once)."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        big = BytesIO()
        write_export(big, realistic_rows(400, seed=7))
        big.seek(0)
        with read_ahead(big, 2, lambda header: lambda number, values: values) as (_h, batches):
            next(batches)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not multiprocessing.active_children()

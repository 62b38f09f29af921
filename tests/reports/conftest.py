"""Fixtures of the report tests; the hand-built results live in report_fakes.py."""

import pytest

from tests.reports.report_fakes import small_result as build_small_result


@pytest.fixture
def small_result():
    """A small hand-built check result (see report_fakes.small_result)."""
    return build_small_result()
